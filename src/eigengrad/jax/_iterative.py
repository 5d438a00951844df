"""JAX registration of the truncated eigensolvers: ``eigsh`` (Hermitian, optionally generalized)
and ``eigs`` (non-Hermitian), k eigenpairs of a dense, sparse or matrix-free operator.

The forward solve is any solver (native LOBPCG — jit-able, any device —, host ARPACK, or a user
callable); derivatives need only the converged pairs (design/adjoints.md §5). A ``custom_jvp`` rule
writes the tangent map ``dθ -> (dλ, dV)`` as a ``linear_call``: forward mode evaluates it (one JVP of
the operator's product at the block ``V``, then the projected solves), reverse mode evaluates its
hand-written transpose (the adjoint solves, then ONE vector-Jacobian product of the product with the
block of adjoint vectors). Reverse mode therefore needs only a VJP of the product, and nothing is
differentiated through the iterations. Second derivatives raise ``NotImplementedError``.
"""

from __future__ import annotations

from functools import partial
from typing import Any, Callable

import jax
import jax.numpy as jnp
import numpy as np

from .. import _report
from .._rules import partial as rules
from .._rules.clusters import cluster_spread, resolve_rtol, skew_defect, sorted_clusters
from .._solvers import arpack, report, window
from .._solvers.batch import over_batch
from .._solvers.krylov_schur import default_ncv, krylov_schur
from .._solvers.lobpcg import extremal
from ._linear import first_order, linear_call
from ._operators import Operator, _zeros, as_operator, host_operator
from .._solvers.report import EigInfo


def _sel(op: Operator | None, args: dict | None, widths: tuple) -> tuple[tuple | None, tuple]:
    """The (hashable, static) functions of ``op`` for blocks of each width in ``widths`` (one for
    every width when ``op`` is width-agnostic) and their arrays."""
    if op is None:
        return None, ()
    keys = (None,) if None in args else widths
    return tuple((w, op.fn(w)) for w in keys), tuple(args[w][0] + args[w][1] for w in keys)


def _mv(fns, consts, real):
    if fns is None:
        return None
    table = {w: (fn, c) for (w, fn), c in zip(fns, consts)}

    def mv(X):
        fn, c = table[None] if None in table else table[X.shape[1]]
        if real and jnp.iscomplexobj(X):
            return fn(X.real, *c) + 1j * fn(X.imag, *c)
        return fn(X, *c)
    return mv


@partial(jax.jit, static_argnames=("fA", "rA", "fB", "rB", "fT", "k", "largest", "tol", "maxiter"))
def _lobpcg(X0, cA, cB, cT, *, fA, rA, fB, rB, fT, k, largest, tol, maxiter):
    w, V, res, guard, iters = extremal(_mv(fA, cA, rA), X0, k, largest=largest, B=_mv(fB, cB, rB),
                                       T=_mv(fT, cT, False), tol=tol, maxiter=maxiter)
    return w, V, res, rules.cut_gap(w, guard), iters


@partial(jax.jit, static_argnames=("fA", "rA", "k", "which", "hermitian", "ncv", "tol", "maxiter"))
def _krylov_schur(x0, cA, *, fA, rA, k, which, hermitian, ncv, tol, maxiter):
    r = krylov_schur(_mv(fA, cA, rA), x0, k, which=which, hermitian=hermitian, ncv=ncv, tol=tol, maxiter=maxiter)
    return r.w, r.X, r.iters


def _krylov_widths(n: int, k: int, ncv: int | None) -> tuple:
    """Block widths the Krylov–Schur solver applies the operator to (columns, real/imaginary pairs,
    the final residual block)."""
    m = default_ncv(n, k) if ncv is None else ncv
    return (1, 2, m, 2 * m)


@partial(jax.jit, static_argnames=("fA", "rA", "fB", "rB", "fT", "sign", "method", "tol", "maxiter", "rtol"))
def _hermitian_adjoint(w, V, wbar, Vbar, cA, cB, cT, *, fA, rA, fB, rB, fT, sign, method, tol, maxiter, rtol):
    Bop = _mv(fB, cB, rB)
    a, b, info = rules.hermitian_adjoint(
        _mv(fA, cA, rA), w, V, wbar, Vbar, B=Bop, BV=None if Bop is None else Bop(V), T=_mv(fT, cT, False),
        sign=sign, method=method, tol=tol, maxiter=maxiter, rtol=rtol)
    return a, b, info.res, info.iters


@partial(jax.jit, static_argnames=("fA", "rA", "fB", "rB", "fT", "sign", "method", "tol", "maxiter", "rtol"))
def _hermitian_tangent(w, V, dAV, dBV, bad, cA, cB, cT, *, fA, rA, fB, rB, fT, sign, method, tol, maxiter, rtol):
    Bop = _mv(fB, cB, rB)
    dw, dV, info = rules.hermitian_jvp(
        _mv(fA, cA, rA), w, V, dAV, B=Bop, BV=None if Bop is None else Bop(V), dBV=dBV, T=_mv(fT, cT, False),
        sign=sign, method=method, tol=tol, maxiter=maxiter, rtol=rtol, undefined=bad)
    return dw, dV, info.res, info.iters


@partial(jax.jit, static_argnames=("fA", "rA", "method", "tol", "maxiter", "restart"))
def _general_tangent(w, V, dAV, bad, cA, *, fA, rA, method, tol, maxiter, restart):
    dw, dV, info = rules.general_jvp(_mv(fA, cA, rA), w, V, dAV, method=method, tol=tol, maxiter=maxiter,
                                     restart=restart, undefined=bad)
    return dw, dV, info.res, info.iters


@partial(jax.jit, static_argnames=("fA", "rA", "method", "tol", "maxiter", "restart"))
def _general_adjoint(w, V, wbar, Vbar, cA, *, fA, rA, method, tol, maxiter, restart):
    A = _mv(fA, cA, rA)

    def AH(Y):
        (t,) = jax.linear_transpose(A, jnp.zeros(Y.shape, Y.dtype))(jnp.conj(Y))
        return jnp.conj(t)

    a, info = rules.general_adjoint(AH, w, V, wbar, Vbar, method=method, tol=tol, maxiter=maxiter,
                                    restart=restart)
    return a, info.res, info.iters


def _default_tol(dtype) -> float:
    return 1e-10 if jnp.finfo(dtype).bits == 64 else 1e-4


def _concrete(*xs) -> bool:
    return not any(isinstance(x, jax.core.Tracer) for x in jax.tree_util.tree_leaves(xs))


def _emit(fn: Callable, *args, mode: str, strict: bool = False, **kw) -> None:
    """Run a ``report`` check now on concrete values, or traced as a ``jax.debug.callback`` at run
    time: a warning, or with ``strict`` in ``mode`` itself. A strict raise is the error itself
    where JAX evaluates the traced map eagerly (the derivative maps of an eager ``grad``/``jvp``)
    and a ``JaxRuntimeError`` carrying its message under ``jit``."""
    if _concrete(*args):
        fn(*(np.asarray(a) for a in args), mode=mode, **kw)
    else:
        traced = mode if strict else ("warn" if mode == "raise" else mode)
        jax.debug.callback(partial(fn, mode=traced, **kw), *args)


def _array(x) -> jax.Array:
    """A solver's output as a JAX array (host NumPy results are put on the device, not kept as
    NumPy-backed constants, which the array-API dispatch would take for NumPy)."""
    return x if isinstance(x, jax.Array) else jax.device_put(np.asarray(x))


def _diff(d: dict) -> dict:
    """The differentiable part ``{width: diff}`` of operator arrays ``{width: (diff, nondiff)}``."""
    return {w: pair[0] for w, pair in d.items()}




def _start(n: int, m: int, dtype, v0) -> jax.Array:
    """Starting block: ``v0`` (a vector or a block) completed by seeded random columns."""
    rdt = jnp.finfo(dtype).dtype
    X = jax.random.normal(jax.random.key(0), (n, m), rdt)
    if jnp.issubdtype(dtype, jnp.complexfloating):
        X = X + 1j * jax.random.normal(jax.random.key(1), (n, m), rdt)
    X = X.astype(dtype)
    if v0 is not None:
        v0 = jnp.asarray(v0, dtype).reshape(n, -1)[:, :m]
        X = X.at[:, : v0.shape[1]].set(v0)
    return X


def _residuals(Aop, Bop, w, V):
    R = Aop(V) - (V if Bop is None else Bop(V)) * w[None, :]
    scale = jnp.max(jnp.abs(w))
    return jnp.linalg.norm(R, axis=0) / jnp.where(scale > 0, scale, 1.0)


def _operators(A, B, T, n, dtype, hermitian, widths, routine):
    kw = dict(dtype=dtype, widths=widths, routine=routine)
    opA = as_operator(A, n=n, hermitian=hermitian, name="A", **kw)
    opB = None if B is None else as_operator(B, n=opA.n, hermitian=True, name="B", **kw)
    dt = jnp.result_type(opA.dtype, *(() if opB is None else (opB.dtype,)), *(() if dtype is None else (dtype,)))
    if not jnp.issubdtype(dt, jnp.inexact):
        raise TypeError(f"{routine}: the operator has dtype {dt}; use a floating or complex dtype")
    if opB is not None and opB.n != opA.n:
        raise ValueError(f"{routine}: A is {opA.n}x{opA.n} but B is {opB.n}x{opB.n}")
    opT = None if T is None else as_operator(T, n=opA.n, hermitian=True, name="preconditioner",
                                             **{**kw, "dtype": dt})
    return opA, opB, opT, dt


def _check_k(k: int, n: int, routine: str) -> None:
    if not (isinstance(k, (int, np.integer)) and 1 <= k < n):
        raise ValueError(f"{routine}: k must be an integer with 1 <= k < n = {n}, got {k!r}")


def _size(A, n):
    if n is not None:
        return n
    shape = getattr(A, "shape", None)
    return None if shape is None else int(shape[0])


def _block(k, n, block_size, routine):
    m = min(n, block_size or k + max(4, k))
    if m <= k:
        raise ValueError(f"{routine}: block_size must exceed k (the extra vectors estimate the next eigenvalue)")
    return m


def _dense(M) -> bool:
    return isinstance(M, (jax.Array, np.ndarray))


@over_batch(_dense)
def eigsh(
    A: Any, k: int, which: str = "smallest", sigma: float | None = None, B: Any = None, *,
    n: int | None = None, dtype: Any = None, tol: float | None = None, maxiter: int | None = None,
    v0: jax.Array | None = None, solver: str | Callable = "lobpcg", preconditioner: Callable | None = None,
    block_size: int | None = None, ncv: int | None = None, adjoint_solver: str | None = None,
    adjoint_tol: float | None = None, adjoint_maxiter: int | None = None, cluster_rtol: float | None = None,
    gauge: str = "raise", on_failure: str = "raise", return_info: bool = False,
):
    """``k`` eigenpairs of a Hermitian operator, ``A v = λ v`` (or ``A v = λ B v``, ``B`` Hermitian
    positive definite, ``V^H B V = I``): the smallest, the largest, or (``sigma``) the nearest to
    ``sigma``. Returns ``w`` (ascending, shape ``(k,)``) and ``V`` (``(n, k)``), and an
    :class:`EigInfo` with ``return_info=True``. Dense ``A``/``B`` with leading axes ``(..., n, n)``
    are solved one matrix at a time (outputs ``(..., k)``, ``(..., n, k)``); ``jax.vmap`` over
    ``eigsh`` works too, with the native solver.

    ``A``/``B``: a dense array (read as ``(A + A^H)/2``), a BCOO matrix, a SciPy sparse matrix or
    LinearOperator (no gradient), or a function ``X -> A X`` on ``(n, m)`` blocks (pass ``n``) that
    may close over traced arrays: those get gradients. ``solver``: ``"lobpcg"`` (native, jit-able;
    no ``sigma``), ``"lanczos"`` (native thick-restart Lanczos / Krylov–Schur with basis size
    ``ncv``, jit-able; no ``B``, no ``sigma``), ``"arpack"`` (SciPy on the host, concrete values
    only; ``sigma`` = shift-invert, needs a matrix), or a callable ``solver(matvec, k, *, B, X0,
    which, sigma, tol, maxiter, preconditioner) -> (w, V)`` returning at least ``k`` pairs (extra pairs serve as estimates of
    the next eigenvalues). ``preconditioner``: ``X -> T X``, ``T`` Hermitian positive definite
    ``≈ (A - σB)^{-1}`` (``(σB - A)^{-1}`` for "largest"), used by LOBPCG and the adjoint solves.

    Reverse mode: ``Ā = Σ_i a_i v_i^H`` with ``a_i = V K e_i - z_i`` (``K`` the in-span matrix with
    clusters masked, ``z_i`` from the projected solve ``P^H (A - λ_i B) P z_i = P^H v̄_i`` by CG,
    or MINRES for ``sigma``), then one VJP of the product. Forward mode (``jvp``, ``jacfwd``): one
    JVP of the product, ``dλ_i = Re v_i^H (dA - λ_i dB) v_i``, and the same projected systems for
    ``dV``; the tangents of a cluster cut by the k-th eigenvalue are NaN (with a warning).
    Faults raise (``on_failure="warn"`` warns): forward or adjoint non-convergence
    (:class:`~eigengrad.errors.ConvergenceError`), a degenerate cluster cut by the k-th eigenvalue
    (``ClusterCutError``), a gauge-dependent loss (:class:`~eigengrad.errors.GaugeError`, per
    ``gauge``). Under ``jit`` a forward fault warns at run time, and a fault of a derivative raises a
    ``JaxRuntimeError`` carrying the same message.
    """
    routine = "eigsh"
    _report.check_mode(gauge)
    report.check_mode(on_failure)
    window.check_hermitian_options(which, sigma, solver, routine, B)
    size = _size(A, n)
    if size is None:
        raise TypeError(f"{routine}: A is a function X -> A X; pass its size as n=...")
    _check_k(k, size, routine)
    m = _block(k, size, block_size, routine)
    widths = (k, m, 2 * m) + (_krylov_widths(size, k, ncv) if solver == "lanczos" else ())
    opA, opB, opT, dt = _operators(A, B, preconditioner, size, dtype, True, widths, routine)
    n = opA.n
    rdt = jnp.finfo(dt).dtype
    tol = _default_tol(rdt) if tol is None else float(tol)
    atol = tol if adjoint_tol is None else float(adjoint_tol)
    maxiter = maxiter or (1000 if solver in window.NATIVE_HERMITIAN else 20 * n)
    amax = adjoint_maxiter or min(2 * n, 20000)
    method = adjoint_solver or ("minres" if sigma is not None else "cg")
    sign = -1.0 if (which == "largest" and sigma is None) else 1.0
    rtol = resolve_rtol(cluster_rtol, jnp.zeros((), rdt))
    X0 = _start(n, m, dt, v0)

    def static(cA, cB, cT, widths):
        fA, a = _sel(opA, cA, widths)
        fB, b = _sel(opB, cB, widths)
        fT, t = _sel(opT, cT, widths)
        rB = None if opB is None else opB.real
        return (a, b, t), dict(fA=fA, rA=opA.real, fB=fB, rB=rB, fT=fT)

    def forward(cA, cB, cT, X0):
        out = solve(cA, cB, cT, X0)
        _emit(report.forward, out[2], out[4], mode=on_failure, tol=tol, routine=routine)
        return out

    def solve(cA, cB, cT, X0):
        if solver == "lobpcg":
            arrays, fns = static(cA, cB, cT, (m, 2 * m))  # X0 and the search block [W, P]
            return _lobpcg(X0, *arrays, k=k, largest=which == "largest", tol=tol, maxiter=maxiter, **fns)
        Aop = opA.bind(cA)
        Bop = None if opB is None else opB.bind(cB)
        iters = jnp.asarray(-1)
        if solver == "lanczos":
            fA, a = _sel(opA, cA, _krylov_widths(n, k, ncv))
            w_all, V_all, iters = _krylov_schur(X0[:, :1], a, fA=fA, rA=opA.real, k=k, which=which, hermitian=True,
                                                ncv=ncv, tol=tol, maxiter=maxiter)
        elif solver == "arpack":
            if not _concrete(cA, cB):
                raise ValueError(f"{routine}: solver='arpack' runs on the host and needs concrete values; "
                                 "under jit use solver='lobpcg'")
            hB = None if opB is None else host_operator(opB, cB, dt)
            w_all, V_all = arpack.eigsh(host_operator(opA, cA, dt), k, which=which, sigma=sigma, B=hB,
                                        v0=np.asarray(X0[:, 0]), tol=tol, maxiter=maxiter)
        else:
            T = None if opT is None else opT.bind(cT)
            w_all, V_all = solver(Aop, k, B=Bop, X0=X0, which=which, sigma=sigma, tol=tol,
                                  maxiter=maxiter, preconditioner=T)
        w_all, V_all = jnp.real(_array(w_all)).astype(rdt), _array(V_all).astype(dt)
        w, V, guard = window.split(w_all, V_all, k, which, sigma)
        gap = rules.cut_gap(w, guard) if guard.shape[0] else jnp.full((k,), jnp.inf, rdt)
        return w, V, _residuals(Aop, Bop, w, V), gap, iters

    @jax.custom_jvp
    def core(cA, cB, cT, X0):
        return forward(cA, cB, cT, X0)

    @core.defjvp
    def core_jvp(primals, tangents):
        cA, cB, cT, X0 = primals
        out = forward(cA, cB, cT, X0)
        w, V, res, gap, iters = out
        lin = (_diff(tangents[0]), None if cB is None else _diff(tangents[1]))
        dw, dV = linear_call(tangent, transpose, first_order((w, V, gap, cA, cB, cT), routine), lin)
        return out, (dw, dV, jnp.zeros_like(res), jnp.zeros_like(gap), _zeros(iters))

    def tangent(saved, lin):
        w, V, gap, cA, cB, cT = saved
        dAV = opA.tangent(cA, lin[0], k, V)
        dBV = None if opB is None else opB.tangent(cB, lin[1], k, V)
        arrays, fns = static(cA, cB, cT, (k,))
        cut = rules.singular_pairs(w, gap, rtol)
        _emit(report.cut, w, gap, cut, mode="warn", strict=True, rtol=rtol, routine=routine + report.NAN_TANGENTS)
        dw, dV, ares, aiters = _hermitian_tangent(w, V, dAV, dBV, cut, *arrays, sign=sign, method=method, tol=atol,
                                                  maxiter=amax, rtol=rtol, **fns)
        _emit(report.adjoint, ares, aiters, mode=on_failure, strict=True, tol=atol, routine=routine)
        return dw, dV

    def transpose(saved, cts):
        w, V, gap, cA, cB, cT = saved
        wbar, Vbar = jnp.real(cts[0]), jnp.conj(cts[1])
        same = sorted_clusters(w, rtol)
        if gauge != "ignore":
            X = jnp.conj(V).T @ Vbar
            _emit(_report.report_vectors, w, skew_defect(X, same), jnp.max(jnp.abs(X)), mode=gauge, strict=True,
                  routine=routine)
            _emit(_report.report_values, w, cluster_spread(wbar, same), jnp.max(jnp.abs(wbar)), mode=gauge,
                  strict=True, routine=routine)
        touched = (jnp.linalg.norm(Vbar, axis=0) > 0) | (wbar != 0)
        _emit(report.cut, w, gap, touched, mode="raise", strict=True, rtol=rtol, routine=routine)
        arrays, fns = static(cA, cB, cT, (k,))
        a, b, ares, aiters = _hermitian_adjoint(w, V, wbar, Vbar, *arrays, sign=sign, method=method, tol=atol,
                                                maxiter=amax, rtol=rtol, **fns)
        _emit(report.adjoint, ares, aiters, mode=on_failure, strict=True, tol=atol, routine=routine)
        ctA = _diff(opA.cotangent(cA, k, V, a))
        return ctA, None if opB is None else _diff(opB.cotangent(cB, k, V, b))

    w, V, res, gap, iters = core(opA.args, None if opB is None else opB.args,
                                 None if opT is None else opT.args, X0)
    if not return_info:
        return w, V
    res, gap = jax.lax.stop_gradient(res), jax.lax.stop_gradient(gap)
    scale = jnp.max(jnp.abs(jax.lax.stop_gradient(w)))
    return w, V, EigInfo(res, iters, gap, rules.gradient_error(res * scale, gap))


@over_batch(_dense)
def eigs(
    A: Any, k: int, which: str = "largest_real", sigma: complex | None = None, *, n: int | None = None,
    dtype: Any = None, tol: float | None = None, maxiter: int | None = None, v0: jax.Array | None = None,
    solver: str | Callable = "arpack", ncv: int | None = None, adjoint_solver: str = "bicgstab",
    adjoint_tol: float | None = None, adjoint_maxiter: int | None = None, restart: int = 30,
    cluster_rtol: float | None = None,
    gauge: str = "raise", on_failure: str = "raise", return_info: bool = False,
):
    """``k`` eigenpairs ``A v = λ v`` of a general (non-Hermitian) operator, unit-norm right
    eigenvectors, ordered by ``which`` (largest_real, smallest_real, largest_magnitude,
    smallest_magnitude, largest_imag, smallest_imag) or by distance to ``sigma``. Complex outputs
    ``w (k,)``, ``V (n, k)``; forms of ``A`` as in :func:`eigsh` (dense arrays are not symmetrised;
    leading axes are looped over).

    ``solver``: ``"arpack"`` (host, concrete values; ``sigma`` = shift-invert, needs a matrix),
    ``"arnoldi"`` (native Krylov–Schur, basis size ``ncv``, jit-able; no ``sigma``) or a
    callable ``solver(matvec, k, *, X0, which, sigma, tol, maxiter) -> (w, V)``. Reverse mode: per
    pair the bordered system ``[conj(λ_i) - A^H, v_i; v_i^H, 0][a_i; 0] = [v̄_i - v_i(v_i^H v̄_i); λ̄_i]``
    by block BiCGStab (``adjoint_solver="gmres"``: GMRES(``restart``)) with ``A^H`` from transposing
    the product, then ONE VJP of the product: ``Ā = Σ a_i v_i^H``. Forward mode: one JVP of the
    product and the transposed bordered systems ``[λ_i - A, v_i; v_i^H, 0][dv_i; dλ_i] = [dA v_i; 0]``
    (gauge ``v_i^H dv_i = 0``). Eigenvalues must be simple (forward mode: NaN tangents and a
    warning otherwise); a loss depending on eigenvector phases raises
    :class:`~eigengrad.errors.GaugeError` (per ``gauge``).
    """
    routine = "eigs"
    _report.check_mode(gauge)
    report.check_mode(on_failure)
    window.check_general_options(which, sigma, solver, routine)
    if adjoint_solver not in ("bicgstab", "gmres"):
        raise ValueError(f"{routine}: adjoint_solver must be 'bicgstab' or 'gmres', got {adjoint_solver!r}")
    size = _size(A, n)
    if size is None:
        raise TypeError(f"{routine}: A is a function X -> A X; pass its size as n=...")
    _check_k(k, size - 1, routine)
    widths = (k,) + (_krylov_widths(size, k, ncv) if solver == "arnoldi" else ())
    opA, _, _, dt = _operators(A, None, None, size, dtype, False, widths, routine)
    n = opA.n
    cdt = jnp.result_type(dt, jnp.complex64)
    rdt = jnp.finfo(dt).dtype
    tol = _default_tol(rdt) if tol is None else float(tol)
    atol = tol if adjoint_tol is None else float(adjoint_tol)
    maxiter = maxiter or (1000 if solver == "arnoldi" else 20 * n)
    amax = adjoint_maxiter or max(1000, min(20 * n, 20000))
    rtol = resolve_rtol(cluster_rtol, jnp.zeros((), rdt))
    X0 = _start(n, 1, dt, v0)

    def forward(cA, X0):
        out = solve(cA, X0)
        _emit(report.forward, out[2], out[4], mode=on_failure, tol=tol, routine=routine)
        return out

    def solve(cA, X0):
        Aop = opA.bind(cA)
        iters = jnp.asarray(-1)
        if solver == "arnoldi":
            fA, a = _sel(opA, cA, _krylov_widths(n, k, ncv))
            w_all, V_all, iters = _krylov_schur(X0, a, fA=fA, rA=opA.real, k=k, which=which, hermitian=False,
                                                ncv=ncv, tol=tol, maxiter=maxiter)
        elif solver == "arpack":
            if not _concrete(cA):
                raise ValueError(f"{routine}: solver='arpack' runs on the host and needs concrete values")
            w_all, V_all = arpack.eigs(host_operator(opA, cA, dt), k, which=which, sigma=sigma,
                                       v0=np.asarray(X0[:, 0]), tol=tol, maxiter=maxiter)
        else:
            w_all, V_all = solver(Aop, k, X0=X0, which=which, sigma=sigma, tol=tol, maxiter=maxiter)
        w_all, V_all = _array(w_all).astype(cdt), _array(V_all).astype(cdt)
        V_all = V_all / jnp.linalg.norm(V_all, axis=0)[None, :]
        w, V, guard = window.split(w_all, V_all, k, which, sigma, hermitian=False)
        others = jnp.concatenate([w, guard])
        d = jnp.abs(w[:, None] - others[None, :]) + jnp.where(jnp.eye(k, others.shape[0], dtype=bool), jnp.inf, 0)
        return w, V, _residuals(Aop, None, w, V), jnp.min(d, axis=1), iters

    @jax.custom_jvp
    def core(cA, X0):
        return forward(cA, X0)

    @core.defjvp
    def core_jvp(primals, tangents):
        cA, X0 = primals
        out = forward(cA, X0)
        w, V, res, gap, iters = out
        dw, dV = linear_call(tangent, transpose, first_order((w, V, gap, cA), routine), _diff(tangents[0]))
        return out, (dw, dV, jnp.zeros_like(res), jnp.zeros_like(gap), _zeros(iters))

    def tangent(saved, dA):
        w, V, gap, cA = saved
        fA, a_args = _sel(opA, cA, (k,))
        bad = rules.singular_pairs(w, gap, rtol)
        _emit(report.simple, w, gap, bad, mode="warn", strict=True, rtol=rtol, routine=routine + report.NAN_TANGENTS)
        dw, dV, ares, aiters = _general_tangent(w, V, opA.tangent(cA, dA, k, V), bad, a_args, fA=fA, rA=opA.real,
                                                method=adjoint_solver, tol=atol, maxiter=amax, restart=restart)
        _emit(report.adjoint, ares, aiters, mode=on_failure, strict=True, tol=atol, routine=routine)
        return dw, dV

    def transpose(saved, cts):
        w, V, gap, cA = saved
        wbar, Vbar = jnp.conj(cts[0]), jnp.conj(cts[1])
        if gauge != "ignore":
            defect, scale = rules.phase_defect(V, Vbar)
            _emit(_report.report_vectors, w, defect, scale, mode=gauge, strict=True, routine=routine)
        touched = (jnp.linalg.norm(Vbar, axis=0) > 0) | (wbar != 0)
        _emit(report.simple, w, gap, touched, mode="raise", strict=True, rtol=rtol, routine=routine)
        fA, a_args = _sel(opA, cA, (k,))
        a, ares, aiters = _general_adjoint(w, V, wbar, Vbar, a_args, fA=fA, rA=opA.real, method=adjoint_solver,
                                           tol=atol, maxiter=amax, restart=restart)
        _emit(report.adjoint, ares, aiters, mode=on_failure, strict=True, tol=atol, routine=routine)
        return _diff(opA.cotangent(cA, k, V, a))

    w, V, res, gap, iters = core(opA.args, X0)
    if not return_info:
        return w, V
    res, gap = jax.lax.stop_gradient(res), jax.lax.stop_gradient(gap)
    scale = jnp.max(jnp.abs(jax.lax.stop_gradient(w)))
    return w, V, EigInfo(res, iters, gap, rules.gradient_error(res * scale, gap))
