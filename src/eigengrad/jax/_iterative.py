"""JAX registration of the truncated eigensolvers ``eigsh`` (Hermitian, optionally generalized) and
``eigs`` (non-Hermitian): k eigenpairs of a dense, sparse or matrix-free operator.

The solve, its checks and the derivative maps live once in ``eigengrad._iterative`` (options in a
frozen config, the solver chosen from what the operator allows); here they are registered. A
``custom_jvp`` rule writes the tangent map ``dθ -> (dλ, dV)`` as a ``linear_call``: forward mode
evaluates it (one JVP of the operator's product at the block ``V``, then the projected solves),
reverse mode its hand-written transpose (the adjoint solves, then ONE vector-Jacobian product of the
product with the block of adjoint vectors). Nothing is differentiated through the iterations; second
derivatives raise ``NotImplementedError``.
"""

from __future__ import annotations

from functools import partial
from typing import Any, Callable

import jax
import jax.numpy as jnp
import numpy as np
import scipy.sparse as sp

from .._iterative import config, driver
from .._solvers.batch import over_batch
from .._solvers.krylov_schur import default_ncv
from .._solvers.report import NAN_TANGENTS, EigInfo, adjoint, cut, simple
from ._linear import first_order, linear_call
from ._operators import Operator, _zeros, apply, as_operator, host_operator
from ._values import concrete

from jax.custom_derivatives import SymbolicZero

__all__ = ["EigInfo", "eigs", "eigsh"]


def _static(op: Operator | None):
    """The hashable part of ``op`` (its functions per block width), a static argument of ``jit``."""
    return None if op is None else (tuple(op.fns.items()), op.real)


def _bound(static, args):
    return None if static is None else apply(dict(static[0]), args, static[1])


@partial(jax.jit, static_argnames=("cfg", "sA", "sB", "sT"))
def _solve_hermitian(X0, cA, cB, cT, *, cfg, sA, sB, sT):
    return driver.solve_hermitian(cfg, _bound(sA, cA), _bound(sB, cB), _bound(sT, cT), X0)


@partial(jax.jit, static_argnames=("cfg", "sA"))
def _solve_general(X0, cA, *, cfg, sA):
    return driver.solve_general(cfg, _bound(sA, cA), X0)


@partial(jax.jit, static_argnames=("cfg", "sA", "sB", "sT"))
def _hermitian_tangent(w, V, dAV, dBV, bad, cA, cB, cT, *, cfg, sA, sB, sT):
    dw, dV, inf = driver.hermitian_tangent(cfg, _bound(sA, cA), _bound(sB, cB), _bound(sT, cT), w, V, dAV, dBV, bad)
    return dw, dV, inf.res, inf.iters


@partial(jax.jit, static_argnames=("cfg", "sA", "sB", "sT"))
def _hermitian_adjoint(w, V, wbar, Vbar, cA, cB, cT, *, cfg, sA, sB, sT):
    a, b, inf = driver.hermitian_adjoint(cfg, _bound(sA, cA), _bound(sB, cB), _bound(sT, cT), w, V, wbar, Vbar)
    return a, b, inf.res, inf.iters


@partial(jax.jit, static_argnames=("cfg", "sA"))
def _general_tangent(w, V, dAV, bad, cA, *, cfg, sA):
    dw, dV, inf = driver.general_tangent(cfg, _bound(sA, cA), w, V, dAV, bad)
    return dw, dV, inf.res, inf.iters


@partial(jax.jit, static_argnames=("cfg", "sA"))
def _general_adjoint(w, V, wbar, Vbar, cA, *, cfg, sA):
    A = _bound(sA, cA)

    def AH(Y):
        (t,) = jax.linear_transpose(A, jnp.zeros(Y.shape, Y.dtype))(jnp.conj(Y))
        return jnp.conj(t)

    a, inf = driver.general_adjoint(cfg, AH, w, V, wbar, Vbar)
    return a, inf.res, inf.iters


def _readable(x) -> bool:
    """``x`` has a value readable here: not traced (an eager ``grad``/``jvp`` tracer carries its
    primal), and not spread over devices of other processes. Decided without copying to the host."""
    if isinstance(x, jax.core.Tracer):
        x = x.to_concrete_value()
    return x is not None and getattr(x, "is_fully_addressable", True)


def _concrete(*xs) -> bool:
    """Every leaf has a value readable here (see ``_readable``)."""
    return all(_readable(x) for x in jax.tree_util.tree_leaves(xs))


def _emit(fn: Callable, *args, mode: str, strict: bool = False, **kw) -> None:
    """Run a check now on concrete values, or traced as a ``jax.debug.callback`` at run time: a
    warning, or with ``strict`` in ``mode`` itself. A strict raise is the error itself where JAX
    evaluates the traced map eagerly (the derivative maps of an eager ``grad``/``jvp``) and a
    ``JaxRuntimeError`` carrying its message under ``jit``."""
    if _concrete(*args):
        fn(*(concrete(a) for a in args), mode=mode, **kw)
    else:
        traced = mode if strict else ("warn" if mode == "raise" else mode)
        report_ = partial(fn, mode=traced, **kw)
        if jax.process_count() > 1:  # an eager debug callback refuses arrays that span processes
            jax.jit(lambda *a: jax.debug.callback(report_, *a))(*args)
        else:
            jax.debug.callback(report_, *args)


def _diff(d: dict | None) -> dict | None:
    """The differentiable part ``{width: diff}`` of operator arrays ``{width: (diff, nondiff)}``."""
    return None if d is None else {w: pair[0] for w, pair in d.items()}


def _is_none(x) -> bool:
    return x is None


def _linear(tangents):
    """The tangents that are not symbolic zeros, ``None`` in place of the others: only inputs that
    are differentiated may enter ``linear_call`` (its transpose needs every linear input undefined),
    so differentiating with respect to ``A`` alone, ``B`` alone or one of a closure's arrays works."""
    return jax.tree_util.tree_map(lambda t: None if isinstance(t, SymbolicZero) else t, tangents)


def _fill(lin, primals):
    """``lin`` with zeros where it holds ``None`` (the tangents of inputs not differentiated)."""
    return jax.tree_util.tree_map(lambda t, p: None if p is None else jnp.zeros_like(p) if t is None else t, lin,
                                  primals, is_leaf=_is_none)


def _pattern(lin):
    """Which inputs ``lin`` differentiates, without its arrays (``True`` or ``None`` per leaf)."""
    return jax.tree_util.tree_map(lambda t: None if t is None else True, lin, is_leaf=_is_none)


def _keep(cts, lin):
    """Cotangents of the inputs ``lin`` differentiates (``None`` elsewhere, as ``lin``)."""
    return jax.tree_util.tree_map(lambda t, c: None if t is None else c, lin, cts, is_leaf=_is_none)


def _sharded(x) -> bool:
    try:
        sharding = x.sharding
    except Exception:  # a tracer under jit has no sharding to read: not a committed sharded array
        return False
    return len(sharding.device_set) > 1


def _on_cpu(x) -> bool:
    try:
        return all(d.platform == "cpu" for d in x.devices())
    except Exception:
        return True


def _problem(ops, dt, n: int, has_B: bool, has_T: bool) -> config.Problem:
    """Sizes and whereabouts of the operator arrays: concrete, on the CPU, on one device -> host."""
    leaves = [x for op in ops if op is not None for x in jax.tree_util.tree_leaves(op.args)]
    sharded = any(_sharded(x) for x in leaves)
    host = not sharded and _concrete(leaves) and all(_on_cpu(x) for x in leaves)
    return config.Problem(n=n, real_bits=jnp.finfo(dt).bits, complex=jnp.issubdtype(dt, jnp.complexfloating),
                          has_B=has_B, has_T=has_T, host=host, sharded=sharded)


def _probe(ops, X0, hermitian: bool, routine: str) -> None:
    """``driver.check_inputs`` on concrete values (skipped under ``jit``/``vmap``, where the checks of
    the returned pairs still run)."""
    leaves = [x for op in ops if op is not None for x in jax.tree_util.tree_leaves(op.args)]
    if not _concrete(X0, leaves):
        return
    bound = [None if op is None else op.bind(jax.tree_util.tree_map(lambda x: jnp.asarray(concrete(x)), op.args))
             for op in ops]
    driver.check_inputs(*bound, jnp.asarray(concrete(X0)), hermitian=hermitian, check_A=ops[0].kind != "dense",
                        routine=routine)


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


def _widths(cfg, n: int) -> tuple:
    """Block widths the solvers apply the operator to (a function is traced once per width)."""
    m = default_ncv(n, cfg.k) if cfg.ncv is None else cfg.ncv
    lob = (cfg.block, 2 * cfg.block) if getattr(cfg, "block", None) else ()
    return (cfg.k, 1, 2, m, 2 * m) + lob


def _start(n: int, m: int, dtype, v0) -> jax.Array:
    if v0 is not None:
        v0 = jnp.asarray(v0)
        if v0.shape[0] != n or v0.ndim > 2:
            raise ValueError(f"v0 must have shape (n,) or (n, j) with n = {n}, got {v0.shape}")
    return driver.start_block(jnp.zeros((0,), dtype), n, m, v0)


def _dense(M) -> bool:
    return isinstance(M, (jax.Array, np.ndarray))


def _host_forms(opA, opB, cA, cB, dt):
    """SciPy forms from the concrete values of the operators' arrays (under an outer derivative
    transform, their primal values: the host solve is not differentiated)."""
    val = partial(jax.tree_util.tree_map, concrete)
    return lambda: (host_operator(opA, val(cA), dt), None if opB is None else host_operator(opB, val(cB), dt))


@over_batch(_dense)
def eigsh(
    A: Any, k: int, which: str = "smallest", sigma: float | None = None, B: Any = None, *,
    n: int | None = None, dtype: Any = None, tol: float | None = None, maxiter: int | None = None,
    v0: jax.Array | None = None, solver: str | Callable = "auto", preconditioner: Callable | None = None,
    block_size: int | None = None, ncv: int | None = None, adjoint_solver: str | None = None,
    adjoint_tol: float | None = None, adjoint_maxiter: int | None = None, cluster_rtol: float | None = None,
    gauge: str = "raise", on_failure: str = "raise", return_info: bool = False,
):
    """``k`` eigenpairs of a Hermitian operator, ``A v = λ v`` (or ``A v = λ B v``, ``B`` Hermitian
    positive definite, ``V^H B V = I``): the smallest, the largest, or (``sigma``) the nearest to
    ``sigma``. Returns ``w`` (ascending, shape ``(k,)``) and ``V`` (``(n, k)``), and an
    :class:`EigInfo` with ``return_info=True``. Dense ``A``/``B`` with leading axes ``(..., n, n)``
    are solved one matrix at a time (outputs ``(..., k)``, ``(..., n, k)``); ``jax.vmap`` over
    ``eigsh`` works too, with a native solver.

    ``A``/``B``: a dense array (read as ``(A + A^H)/2``), a BCOO matrix, a SciPy sparse matrix or
    LinearOperator (no gradient), or a function ``X -> A X`` on ``(n, m)`` blocks (pass ``n``) that
    may close over traced arrays: those get gradients. ``solver``: ``"auto"`` (default: ARPACK when
    the values are concrete on the CPU and no preconditioner is given; under ``jit``/``vmap``, on an
    accelerator or sharded: native Lanczos, or LOBPCG when ``B`` or a preconditioner is given),
    ``"lobpcg"`` (native, jit-able; no ``sigma``), ``"lanczos"`` (native thick-restart Lanczos /
    Krylov–Schur with basis size ``ncv``, jit-able; no ``B``, no ``sigma``), ``"arpack"`` (SciPy on
    the host, concrete values only; ``sigma`` = shift-invert, needs a matrix), ``"primme"``
    (optional package PRIMME on the host, confirmed like ARPACK; takes the preconditioner), or a
    callable ``solver(matvec, k, *, B, X0, which, sigma, tol, maxiter, preconditioner) -> (w, V)``
    returning at least ``k`` B-orthonormal pairs (extra pairs serve as estimates of the next eigenvalues).
    ``preconditioner``: ``X -> T X``, ``T`` Hermitian positive definite ``≈ (A - σB)^{-1}``
    (``(σB - A)^{-1}`` for "largest"), used by LOBPCG and the adjoint solves.

    Reverse mode: ``Ā = Σ_i a_i v_i^H`` with ``a_i = V K e_i - z_i`` (``K`` the in-span matrix with
    clusters masked, ``z_i`` from the projected solve ``P^H (A - λ_i B) P z_i = P^H v̄_i`` by CG,
    or MINRES for ``sigma``), then one VJP of the product. Forward mode (``jvp``, ``jacfwd``): one
    JVP of the product, ``dλ_i = Re v_i^H (dA - λ_i dB) v_i``, and the same projected systems for
    ``dV``; the tangents of a cluster cut by the k-th eigenvalue are NaN (with a warning).
    Faults raise (``on_failure="warn"`` warns): forward or adjoint non-convergence or invalid
    returned pairs (:class:`~eigengrad.errors.ConvergenceError`), a degenerate cluster cut by the
    k-th eigenvalue (``ClusterCutError``), a gauge-dependent loss
    (:class:`~eigengrad.errors.GaugeError`, per ``gauge``). Under ``jit`` a forward fault warns at
    run time, and a fault of a derivative raises a ``JaxRuntimeError`` carrying the same message.
    """
    routine = "eigsh"
    size = config.size(A, n, routine)
    # options that need no operator are checked first (before any tracing of a function)
    probe = config.Problem(n=size, real_bits=64, complex=False, has_B=B is not None,
                           has_T=preconditioner is not None, host=True)
    pre = config.hermitian(probe, k, which, sigma, "lobpcg" if solver == "auto" and sigma is None else solver,
                           block_size=block_size, ncv=ncv, tol=tol, maxiter=maxiter, adjoint_solver=adjoint_solver,
                           adjoint_tol=adjoint_tol, adjoint_maxiter=adjoint_maxiter, cluster_rtol=cluster_rtol,
                           gauge=gauge, on_failure=on_failure)
    opA, opB, opT, dt = _operators(A, B, preconditioner, size, dtype, True, _widths(pre, size), routine)
    prob = _problem((opA, opB, opT), dt, opA.n, B is not None, preconditioner is not None)
    cfg = config.hermitian(prob, k, which, sigma, solver, block_size=block_size, ncv=ncv, tol=tol, maxiter=maxiter,
                           adjoint_solver=adjoint_solver, adjoint_tol=adjoint_tol, adjoint_maxiter=adjoint_maxiter,
                           cluster_rtol=cluster_rtol, gauge=gauge, on_failure=on_failure)
    X0 = _start(opA.n, cfg.block, dt, v0)
    _probe((opA, opB, opT), X0, True, routine)
    statics = dict(sA=_static(opA), sB=_static(opB), sT=_static(opT))
    on_host = prob.host and _factorable(cfg, (opA, opB, opT))

    def forward(cA, cB, cT, X0):
        if cfg.solver in config.HOST_SOLVERS or callable(cfg.solver):
            s = driver.solve_hermitian(cfg, opA.bind(cA), None if opB is None else opB.bind(cB),
                                       None if opT is None else opT.bind(cT), X0,
                                       host=_host_forms(opA, opB, cA, cB, dt))
        else:
            s = _solve_hermitian(X0, cA, cB, cT, cfg=cfg, **statics)
        _emit(partial(driver.check_forward, cfg), s.w, s.V, s.res, s.gram, s.iters, mode=cfg.on_failure,
              routine=routine)
        return tuple(s)

    @jax.custom_jvp
    def core(cA, cB, cT, X0):
        return forward(cA, cB, cT, X0)

    @partial(core.defjvp, symbolic_zeros=True)
    def core_jvp(primals, tangents):
        cA, cB, cT, X0 = primals
        out = forward(cA, cB, cT, X0)
        w, V, res, gap, iters, gram = out
        lin = _linear((_diff(tangents[0]), _diff(tangents[1])))
        dw, dV = linear_call(tangent, partial(transpose, lin=_pattern(lin)), first_order((w, V, gap, cA, cB, cT), routine), lin)
        return out, (dw, dV, jnp.zeros_like(res), jnp.zeros_like(gap), _zeros(iters), jnp.zeros_like(gram))

    def tangent(saved, lin):
        w, V, gap, cA, cB, cT = saved
        dA, dB = _fill(lin, (_diff(cA), _diff(cB)))
        dAV = opA.tangent(cA, dA, cfg.k, V)
        dBV = None if opB is None else opB.tangent(cB, dB, cfg.k, V)
        bad = driver.undefined_pairs(cfg, w, gap)
        _emit(cut, w, gap, bad, mode="warn", strict=True, rtol=cfg.rtol, routine=routine + NAN_TANGENTS)
        if on_host:
            dw, dV, ares, aiters = _host_call(driver.hermitian_tangent, cfg, opA, opB, dt, cA, cB,
                                              (w, V, dAV, dBV, bad), (w, V))
        else:
            dw, dV, ares, aiters = _hermitian_tangent(w, V, dAV, dBV, bad, cA, cB, cT, cfg=cfg, **statics)
        _emit(adjoint, ares, aiters, mode=cfg.on_failure, strict=True, tol=cfg.adjoint_tol, routine=routine)
        return dw, dV

    def transpose(saved, cts, lin):
        w, V, gap, cA, cB, cT = saved
        wbar, Vbar = jnp.real(cts[0]), jnp.conj(cts[1])
        if cfg.gauge != "ignore":
            _emit(driver.report_hermitian, *driver.hermitian_measures(cfg, w, V, wbar, Vbar), mode=cfg.gauge,
                  strict=True, routine=routine)
        _emit(cut, w, gap, driver.touched(wbar, Vbar), mode="raise", strict=True, rtol=cfg.rtol, routine=routine)
        if on_host:
            a, b, ares, aiters = _host_call(driver.hermitian_adjoint, cfg, opA, opB, dt, cA, cB, (w, V, wbar, Vbar),
                                            (V, None if opB is None else V))
        else:
            a, b, ares, aiters = _hermitian_adjoint(w, V, wbar, Vbar, cA, cB, cT, cfg=cfg, **statics)
        _emit(adjoint, ares, aiters, mode=cfg.on_failure, strict=True, tol=cfg.adjoint_tol, routine=routine)
        ctA = _diff(opA.cotangent(cA, cfg.k, V, a))
        return _keep((ctA, None if opB is None else _diff(opB.cotangent(cB, cfg.k, V, b))), lin)

    s = driver.Solved(*core(opA.args, None if opB is None else opB.args, None if opT is None else opT.args, X0))
    return _outputs(s, return_info)


def _factorable(cfg, ops) -> bool:
    """The projected solves can move to the host (``driver.host_system``): CG, no preconditioner,
    ``A`` and ``B`` sparse matrices (BCOO or SciPy)."""
    opA, opB, opT = ops
    return driver.host_solvable(cfg, opT) and all(
        op is None or op.kind == "bcoo" or (op.kind == "scipy" and sp.issparse(op.source)) for op in (opA, opB))


def _host_call(fn, cfg, opA, opB, dt, cA, cB, arrays, like):
    """``fn(cfg, ..., *arrays, host=driver.host_system(...))`` (a derivative map of the driver) run on
    the host by ``jax.pure_callback``, with the values of the operator's arrays at run time: the
    derivative maps are traced even under an eager ``grad``. Returns ``(x, y, res, iters)`` with
    ``x``, ``y`` shaped like the arrays in ``like`` (``None`` for none)."""
    w = arrays[0]
    rdt = jnp.zeros((), dt).real.dtype
    shapes = [None if x is None else jax.ShapeDtypeStruct(x.shape, x.dtype) for x in like]
    shapes += [jax.ShapeDtypeStruct(w.shape, rdt), jax.ShapeDtypeStruct((), jnp.int32)]

    def run(cA, cB, *arrays):
        host = driver.host_system(cfg, None, arrays[0], _host_forms(opA, opB, cA, cB, dt), fallback=True)
        x, y, (res, iters) = fn(cfg, None, None, None, *arrays, host=host)
        return tuple(None if s is None else np.asarray(o, dtype=s.dtype) for o, s in zip((x, y, res, iters), shapes))

    return jax.pure_callback(run, tuple(shapes), cA, cB, *arrays, vmap_method="sequential")


def _outputs(s: driver.Solved, return_info: bool):
    if not return_info:
        return s.w, s.V
    return s.w, s.V, driver.info(driver.Solved(jax.lax.stop_gradient(s.w), s.V, *map(jax.lax.stop_gradient, s[2:])))


@over_batch(_dense)
def eigs(
    A: Any, k: int, which: str = "largest_real", sigma: complex | None = None, *, n: int | None = None,
    dtype: Any = None, tol: float | None = None, maxiter: int | None = None, v0: jax.Array | None = None,
    solver: str | Callable = "auto", ncv: int | None = None, adjoint_solver: str = "bicgstab",
    adjoint_tol: float | None = None, adjoint_maxiter: int | None = None, restart: int = 30,
    cluster_rtol: float | None = None,
    gauge: str = "raise", on_failure: str = "raise", return_info: bool = False,
):
    """``k`` eigenpairs ``A v = λ v`` of a general (non-Hermitian) operator, unit-norm right
    eigenvectors, ordered by ``which`` (largest_real, smallest_real, largest_magnitude,
    smallest_magnitude, largest_imag, smallest_imag) or by distance to ``sigma``. Complex outputs
    ``w (k,)``, ``V (n, k)``; forms of ``A`` as in :func:`eigsh` (dense arrays are not symmetrised;
    leading axes are looped over).

    ``solver``: ``"auto"`` (default: ARPACK for concrete values on the CPU, the native Arnoldi under
    ``jit``/``vmap``, on an accelerator or sharded), ``"arpack"`` (host, concrete values; ``sigma`` =
    shift-invert, needs a matrix), ``"arnoldi"`` (native Krylov–Schur, basis size ``ncv``, jit-able;
    no ``sigma``) or a callable ``solver(matvec, k, *, X0, which, sigma, tol, maxiter) -> (w, V)``.
    Reverse mode: per pair the bordered system ``[conj(λ_i) - A^H, v_i; v_i^H, 0][a_i; 0] =
    [v̄_i - v_i(v_i^H v̄_i); λ̄_i]`` by block BiCGStab (``adjoint_solver="gmres"``: GMRES(``restart``))
    with ``A^H`` from transposing the product, then ONE VJP of the product: ``Ā = Σ a_i v_i^H``.
    Forward mode: one JVP of the product and the transposed bordered systems
    ``[λ_i - A, v_i; v_i^H, 0][dv_i; dλ_i] = [dA v_i; 0]`` (gauge ``v_i^H dv_i = 0``). Eigenvalues
    must be simple (forward mode: NaN tangents and a warning otherwise); a loss depending on
    eigenvector phases raises :class:`~eigengrad.errors.GaugeError` (per ``gauge``).
    """
    routine = "eigs"
    size = config.size(A, n, routine)
    probe = config.Problem(n=size, real_bits=64, complex=True, has_B=False, has_T=False, host=True)
    pre = config.general(probe, k, which, sigma, "arnoldi" if solver == "auto" and sigma is None else solver,
                         ncv=ncv, tol=tol, maxiter=maxiter, adjoint_solver=adjoint_solver, adjoint_tol=adjoint_tol,
                         adjoint_maxiter=adjoint_maxiter, restart=restart, cluster_rtol=cluster_rtol, gauge=gauge,
                         on_failure=on_failure)
    opA, _, _, dt = _operators(A, None, None, size, dtype, False, _widths(pre, size), routine)
    prob = _problem((opA,), dt, opA.n, False, False)
    cfg = config.general(prob, k, which, sigma, solver, ncv=ncv, tol=tol, maxiter=maxiter,
                         adjoint_solver=adjoint_solver, adjoint_tol=adjoint_tol, adjoint_maxiter=adjoint_maxiter,
                         restart=restart, cluster_rtol=cluster_rtol, gauge=gauge, on_failure=on_failure)
    X0 = _start(opA.n, 1, dt, v0)
    _probe((opA, None, None), X0, False, routine)
    sA = _static(opA)

    def forward(cA, X0):
        if cfg.solver in config.HOST_SOLVERS or callable(cfg.solver):
            s = driver.solve_general(cfg, opA.bind(cA), X0, host=lambda: host_operator(opA, cA, dt))
        else:
            s = _solve_general(X0, cA, cfg=cfg, sA=sA)
        _emit(partial(driver.check_forward, cfg), s.w, s.V, s.res, s.gram, s.iters, mode=cfg.on_failure,
              routine=routine)
        return tuple(s)

    @jax.custom_jvp
    def core(cA, X0):
        return forward(cA, X0)

    @partial(core.defjvp, symbolic_zeros=True)
    def core_jvp(primals, tangents):
        cA, X0 = primals
        out = forward(cA, X0)
        w, V, res, gap, iters, gram = out
        lin = _linear(_diff(tangents[0]))
        dw, dV = linear_call(tangent, partial(transpose, lin=_pattern(lin)), first_order((w, V, gap, cA), routine), lin)
        return out, (dw, dV, jnp.zeros_like(res), jnp.zeros_like(gap), _zeros(iters), jnp.zeros_like(gram))

    def tangent(saved, lin):
        w, V, gap, cA = saved
        dA = _fill(lin, _diff(cA))
        bad = driver.undefined_pairs(cfg, w, gap)
        _emit(simple, w, gap, bad, mode="warn", strict=True, rtol=cfg.rtol, routine=routine + NAN_TANGENTS)
        dw, dV, ares, aiters = _general_tangent(w, V, opA.tangent(cA, dA, cfg.k, V), bad, cA, cfg=cfg, sA=sA)
        _emit(adjoint, ares, aiters, mode=cfg.on_failure, strict=True, tol=cfg.adjoint_tol, routine=routine)
        return dw, dV

    def transpose(saved, cts, lin):
        w, V, gap, cA = saved
        wbar, Vbar = jnp.conj(cts[0]), jnp.conj(cts[1])
        if cfg.gauge != "ignore":
            _emit(driver.report_general, *driver.general_measures(cfg, w, V, wbar, Vbar), mode=cfg.gauge,
                  strict=True, routine=routine)
        _emit(simple, w, gap, driver.touched(wbar, Vbar), mode="raise", strict=True, rtol=cfg.rtol, routine=routine)
        a, ares, aiters = _general_adjoint(w, V, wbar, Vbar, cA, cfg=cfg, sA=sA)
        _emit(adjoint, ares, aiters, mode=cfg.on_failure, strict=True, tol=cfg.adjoint_tol, routine=routine)
        return _keep(_diff(opA.cotangent(cA, cfg.k, V, a)), lin)

    return _outputs(driver.Solved(*core(opA.args, X0)), return_info)
