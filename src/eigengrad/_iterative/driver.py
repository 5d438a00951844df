"""The truncated eigensolve and its derivative maps, written once for both front ends.

A front end hands in the operator as products on blocks (``A(X) = A X``, ``B``, the preconditioner
``T``), the host forms for ARPACK when the values are concrete, and a frozen config
(:mod:`.config`); it keeps only the registration with its AD system. Here: the forward solve by the
configured solver (nothing differentiated), the window and gap, the checks of what is returned
(finite, unit B-norm, residual within ``tol``), the tangent and adjoint maps of
``_rules.partial`` (docs/derivations.md §5) with their cotangent checks, and the ``EigInfo``.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Callable, NamedTuple

import numpy as np

from .. import _report
from .._backend import Array, mH, namespace, real, real_dtype
from .._rules import partial as rules
from .._rules.clusters import cluster_spread, skew_defect, sorted_clusters
from .._solvers import arpack, confirm, factor, primme, report, window
from .._solvers.krylov_schur import krylov_schur
from .._solvers.lobpcg import extremal
from .._solvers.comm import cdot, cnorm
from .._solvers.report import EigInfo
from ..errors import ConvergenceError
from .config import GeneralConfig, HermitianConfig

Op = Callable[[Array], Array]


class Solved(NamedTuple):
    """A forward solve: ``w (k,)``, ``V (n, k)``, relative residuals ``(k,)``, the distance of each
    λ to the nearest uncomputed eigenvalue estimate ``(k,)``, solver steps (-1 unknown)."""

    w: Array
    V: Array
    res: Array
    gap: Array
    iters: Array
    gram: Array  # eigsh: V^H B V (k, k), to be I; eigs: |v_i|^2 (k,), to be 1


def start_block(like: Array, n: int, m: int, v0=None, device=None) -> Array:
    """Starting block ``(n, m)`` of ``like``'s dtype (on ``device``; None: the framework's default,
    uncommitted, so that it follows sharded operands): ``v0`` (a vector or a block) completed by
    seeded Gaussian columns, the same for every framework and device."""
    xp = namespace(like)
    g = np.random.default_rng(0)
    X = g.standard_normal((n, m))
    if xp.isdtype(like.dtype, "complex floating"):
        X = X + 1j * g.standard_normal((n, m))
    X = xp.asarray(X, dtype=like.dtype) if device is None else xp.asarray(X, dtype=like.dtype, device=device)
    if v0 is None:
        return X
    v0 = xp.reshape(xp.astype(v0, like.dtype), (n, -1))[:, :m]
    return xp.concat([v0, X[:, v0.shape[1]:]], axis=1)


def residuals(A: Op, B: Op | None, w: Array, V: Array) -> Array:
    """``||A v_i - λ_i B v_i|| / max|λ|`` (``(k,)``), scaled before the norm so that no square
    underflows or overflows (operators of size 1e-300 or 1e300)."""
    xp = namespace(V)
    R = A(V) - (V if B is None else B(V)) * xp.astype(w, V.dtype)[None, :]
    scale = xp.max(xp.abs(w))
    return cnorm(xp, R / xp.astype(xp.where(scale > 0, scale, xp.ones_like(scale)), R.dtype))


def check_inputs(A: Op, B: Op | None, T: Op | None, X0: Array, *, hermitian: bool, check_A: bool,
                 routine: str) -> None:
    """Before any work, on concrete values: one product of each operator with two start columns
    must keep the block's shape and dtype and be finite; for ``eigsh`` ``A`` must be Hermitian
    (``|X^H A X - (X^H A X)^H| <= sqrt(eps) ||X|| ||A X||``, checked unless ``A`` is symmetrised by
    construction, ``check_A=False``) and ``B`` positive on the probe (``x^H B x > 0``). A product
    that is not finite names the operator (NaN/Inf in a matrix, a closure's parameters, ``v0``)."""
    X = X0[:, : min(2, X0.shape[1])]
    Xn = np.asarray(X)
    if not np.all(np.isfinite(Xn)):
        raise ValueError(f"{routine}: v0 has non-finite entries")
    if not np.any(Xn[:, 0]):
        raise ValueError(f"{routine}: v0 is the zero vector; pass a nonzero start vector or none")
    eps = float(np.finfo(Xn.real.dtype).eps)
    for name, op, herm in (("A", A, hermitian and check_A), ("B", B, True), ("preconditioner", T, True)):
        if op is None:
            continue
        Y = op(X)
        if tuple(Y.shape) != tuple(X.shape):
            raise ValueError(f"{routine}: {name}(X) must map an (n, m) block to (n, m); it gave shape "
                             f"{tuple(Y.shape)} for {tuple(X.shape)}")
        Yn = np.asarray(Y)
        if np.finfo(Yn.real.dtype).bits < np.finfo(Xn.real.dtype).bits:
            raise TypeError(f"{routine}: {name}(X) returned {Yn.dtype} for a {Xn.dtype} block; the product must "
                            "keep the working precision (cast inside the function or pass dtype=)")
        if not np.all(np.isfinite(Yn)):
            raise ValueError(f"{routine}: {name} has non-finite entries (its product with a finite block has "
                             "NaN/Inf): check the matrix, sparse values or the parameters the function closes over")
        if not herm:
            continue
        P = np.conj(Xn.T) @ Yn
        asym = np.max(np.abs(P - np.conj(P.T)))
        if asym > np.sqrt(eps) * np.linalg.norm(Xn) * np.linalg.norm(Yn):
            raise ValueError(f"{routine}: {name} is not Hermitian (x^H {name} y differs from (y^H {name} x)^* by "
                             f"{asym:.2e} relative to the scale): eigsh needs a Hermitian operator; use eigs for "
                             "general ones")
        if name in ("B", "preconditioner") and not np.all(np.real(np.diag(P)) > 0):
            raise ValueError(f"{routine}: {name} must be Hermitian positive definite (x^H {name} x <= 0 for a "
                             "start vector)")


def _pairs_from(xp, w_all, V_all, like: Array) -> tuple[Array, Array]:
    """A foreign solver's output as arrays of ``like``'s namespace and device."""
    dev = getattr(like, "device", None)
    if not _same_namespace(xp, w_all):
        w_all = xp.asarray(np.asarray(w_all), device=dev)
    if not _same_namespace(xp, V_all):
        V_all = xp.asarray(np.asarray(V_all), device=dev)
    return w_all, V_all


def _same_namespace(xp, x) -> bool:
    try:
        return namespace(x) is xp
    except TypeError:
        return False


def _enough(w_all, k: int, routine: str) -> None:
    got = int(w_all.shape[0])
    if got < k:
        raise ValueError(f"{routine}: the solver returned {got} eigenpairs, fewer than k = {k}")


def solve_hermitian(cfg: HermitianConfig, A: Op, B: Op | None, T: Op | None, X0: Array,
                    host: Callable[[], tuple] | None = None) -> Solved:
    """``eigsh``'s forward solve by ``cfg.solver`` (``host()``: the SciPy forms of ``A``, ``B``)."""
    w, V, res, gap, iters = _solve_hermitian(cfg, A, B, T, X0, host)
    return Solved(w, V, res, gap, iters, mH(V) @ (V if B is None else B(V)))


def _scaled(A: Op, X0: Array) -> tuple[Op, Array]:
    """``(A / s, s)`` with ``s`` a power of 2 near ``||A||`` (from one product): the native solvers
    then see an operator of size ~1 whatever the scale of ``A`` (1e-300 or 1e300), exactly, since
    eigenpairs of ``A / s`` are ``(λ / s, v)``."""
    xp = namespace(X0)
    x = X0[:, :1]
    r = xp.max(xp.abs(A(x))) / xp.max(xp.abs(x))
    r = xp.where(xp.isfinite(r) & (r > 0), r, xp.ones_like(r))
    s = 2.0 ** xp.round(xp.log2(r))
    return (lambda X: A(X) / xp.astype(s, X.dtype)), s


def _solve_hermitian(cfg, A, B, T, X0, host):
    xp = namespace(X0)
    rdt = real_dtype(X0)
    k = cfg.k
    if cfg.solver == "lobpcg":
        As, s = _scaled(A, X0)
        w, V, res, guard, iters = extremal(As, X0, k, largest=cfg.which == "largest", B=B, T=T, tol=cfg.tol,
                                           maxiter=cfg.maxiter)
        w, guard = w * s, guard * s  # res: relative to the block's max|θ|, the scale LOBPCG converged to
        return w, V, res, rules.cut_gap(w, guard), iters
    iters = xp.asarray(-1)
    if cfg.solver == "lanczos":
        As, s = _scaled(A, X0)
        r = krylov_schur(As, X0[:, :1], k, which=cfg.which, hermitian=True, ncv=cfg.ncv, tol=cfg.tol,
                         maxiter=cfg.maxiter)
        w_all, V_all, iters = r.w * s, r.X, r.iters
    elif cfg.solver == "arpack":
        hA, hB = host()
        try:
            w_all, V_all = confirm.eigsh(hA, k, which=cfg.which, sigma=cfg.sigma, B=hB, v0=np.asarray(X0[:, 0]),
                                        tol=cfg.tol, maxiter=cfg.maxiter)
        except ConvergenceError as e:
            native = _native_fallback(cfg, e, "lanczos" if B is None else "lobpcg")
            return _solve_hermitian(native, A, B, T, X0, None)
    elif cfg.solver == "primme":
        hA, hB = host()
        hT = None if T is None else (lambda Y: np.asarray(T(xp.asarray(Y, dtype=X0.dtype))))
        try:
            w_all, V_all = primme.eigsh(hA, k, which=cfg.which, sigma=cfg.sigma, B=hB, v0=np.asarray(X0[:, 0]),
                                        tol=cfg.tol, maxiter=cfg.maxiter, preconditioner=hT)
        except ConvergenceError as e:
            native = _native_fallback(cfg, e, "lanczos" if B is None else "lobpcg")
            return _solve_hermitian(native, A, B, T, X0, None)
    else:
        w_all, V_all = cfg.solver(A, k, B=B, X0=X0, which=cfg.which, sigma=cfg.sigma, tol=cfg.tol,
                                  maxiter=cfg.maxiter, preconditioner=T)
    w_all, V_all = _pairs_from(xp, w_all, V_all, X0)
    if callable(cfg.solver):
        _enough(w_all, k, "eigsh")
    w_all, V_all = xp.astype(real(w_all), rdt), xp.astype(V_all, X0.dtype)
    w, V, guard = window.split(w_all, V_all, k, cfg.which, cfg.sigma)
    gap = rules.cut_gap(w, guard) if guard.shape[0] else xp.full((k,), float("inf"), dtype=rdt)
    return w, V, residuals(A, B, w, V), gap, iters


def _native_fallback(cfg, error: ConvergenceError, solver: str):
    """``on_failure="warn"`` and ARPACK did not converge: ARPACK keeps no unconverged pairs to
    return, so warn and run the native ``solver`` (same ``tol``, ``maxiter``), whose unconverged
    pairs are returned with the usual residual warning. ``"raise"`` and shift-invert (no native
    equivalent) re-raise."""
    if cfg.on_failure != "warn" or cfg.sigma is not None:
        raise error
    report.fail(f"{error} on_failure='warn': continuing with the native {solver} solver.", "warn")
    return replace(cfg, solver=solver)


def solve_general(cfg: GeneralConfig, A: Op, X0: Array, host: Callable[[], Any] | None = None) -> Solved:
    """``eigs``'s forward solve: unit-norm right eigenvectors, gaps to every other eigenvalue."""
    xp = namespace(X0)
    k = cfg.k
    cdt = xp.result_type(X0.dtype, xp.complex64)
    iters = xp.asarray(-1)
    if cfg.solver == "arnoldi":
        As, s = _scaled(A, X0)
        r = krylov_schur(As, X0, k, which=cfg.which, hermitian=False, ncv=cfg.ncv, tol=cfg.tol, maxiter=cfg.maxiter)
        w_all, V_all, iters = r.w * xp.astype(s, r.w.dtype), r.X, r.iters
    elif cfg.solver == "arpack":
        try:
            w_all, V_all = confirm.eigs(host(), k, which=cfg.which, sigma=cfg.sigma, v0=np.asarray(X0[:, 0]),
                                       tol=cfg.tol, maxiter=cfg.maxiter)
        except ConvergenceError as e:
            return solve_general(_native_fallback(cfg, e, "arnoldi"), A, X0)
    else:
        w_all, V_all = cfg.solver(A, k, X0=X0, which=cfg.which, sigma=cfg.sigma, tol=cfg.tol, maxiter=cfg.maxiter)
    w_all, V_all = _pairs_from(xp, w_all, V_all, X0)
    if callable(cfg.solver):
        _enough(w_all, k, "eigs")
    w_all, V_all = xp.astype(w_all, cdt), xp.astype(V_all, cdt)
    nrm = cnorm(xp, V_all)
    V_all = V_all / xp.astype(xp.where(nrm > 0, nrm, xp.ones_like(nrm)), cdt)[None, :]
    w, V, guard = window.split(w_all, V_all, k, cfg.which, cfg.sigma, hermitian=False)
    others = xp.concat([w, guard])
    d = xp.abs(w[:, None] - others[None, :])
    d = xp.where(xp.eye(k, others.shape[0], dtype=xp.bool, device=getattr(d, "device", None)),
                 xp.full_like(d, float("inf")), d)
    return Solved(w, V, residuals(A, None, w, V), xp.min(d, axis=1), iters, real(cdot(xp, V, V)))


def check_forward(cfg, w, V, res, gram, iters, *, mode: str, routine: str) -> None:
    """What is returned is checked (concrete NumPy values): finite pairs, unit (B-)norm vectors,
    B-orthogonal ones where ``gram`` is ``V^H B V`` (eigsh), residuals within ``tol``. A solver that
    returns zero, non-normalised or repeated vectors (an indefinite ``B``, a non-Hermitian operator,
    a broken user solver, one pair found twice) cannot pass. ``mode``: raise or warn."""
    w, V, gram = np.asarray(w), np.asarray(V), np.asarray(gram)
    norms = np.real(np.diagonal(gram)) if gram.ndim == 2 else gram
    limit = max(100 * cfg.tol, 1e-6)
    if not (np.all(np.isfinite(w)) and np.all(np.isfinite(V))):
        return report.fail(
            f"{routine}: the eigensolver returned non-finite eigenpairs (λ = {w}). Check that the operator "
            "is finite and, for eigsh, Hermitian (B positive definite).", mode)
    bad = np.flatnonzero(~(np.abs(norms - 1) <= limit))
    if bad.size and np.any(norms[bad] < 0):
        return report.fail(f"{routine}: B is not positive definite (v^H B v = {report.sci(norms[bad])} < 0 for "
                           f"eigenvectors {bad.tolist()}); eigsh needs B Hermitian positive definite", mode)
    if bad.size:
        return report.fail(
            f"{routine}: eigenvectors {bad.tolist()} are not normalised (v^H B v = {report.sci(norms[bad])}, "
            "expected 1): the solver returned invalid pairs. For eigsh the operator must be Hermitian and B "
            "Hermitian positive definite; a user solver must return B-orthonormal vectors.", mode)
    if gram.ndim == 2:
        off = np.abs(gram - np.diag(np.diagonal(gram)))  # k >= 1: never empty
        i, j = np.unravel_index(np.argmax(off), off.shape)
        if not off[i, j] <= limit:
            return report.fail(
                f"{routine}: eigenvectors {min(i, j)} and {max(i, j)} are not B-orthogonal (|v_i^H B v_j| = "
                f"{off[i, j]:.2e} > {limit:.0e}; λ = {w[i]:.17g}, {w[j]:.17g}): the solver returned one pair "
                "twice or an invalid basis. A user solver must return B-orthonormal vectors; otherwise "
                "report this with the operator.", mode)
    report.forward(res, int(np.asarray(iters)), tol=cfg.tol, mode=mode, routine=routine)


def info(s: Solved) -> EigInfo:
    """Diagnostics of a solve (no derivatives)."""
    xp = namespace(s.w)
    scale = xp.max(xp.abs(s.w))
    return EigInfo(s.res, s.iters, s.gap, rules.gradient_error(s.res * scale, s.gap))


# ---- derivative maps -------------------------------------------------------------------------------


class HostSystem(NamedTuple):
    """The operators of the projected solves as products on NumPy blocks (:func:`host_system`)."""

    A: Op
    B: Op | None
    T: Op | None


def host_solvable(cfg: HermitianConfig, T) -> bool:
    """The projected solves may move to the host (:func:`host_system`): CG, no preconditioner given."""
    return T is None and cfg.adjoint_method == "cg"


def host_system(cfg: HermitianConfig, T: Op | None, w, host: Callable[[], tuple] | None, *,
                fallback: bool = False) -> HostSystem | None:
    """The projected solves of :func:`hermitian_tangent`/:func:`hermitian_adjoint` moved to the host
    and preconditioned by an exact factorisation of ``±(A - σB)`` (``_solvers.factor``: the same
    gradient in about 40 CG steps whatever the mesh, instead of hundreds), where that applies: no
    preconditioner given, CG (extremal pairs), ``host()`` the SciPy forms of ``A``, ``B`` (values
    concrete on the CPU), both sparse matrices. Where ``±(A - σB)`` is not definite: None, or with
    ``fallback`` the unpreconditioned solves on the host (for a caller already on the host)."""
    if host is None or not host_solvable(cfg, T):
        return None
    hA, hB = host()
    w = np.asarray(w)
    hT = factor.shifted_inverse(hA, hB, factor.shift(w, cfg.sign), cfg.sign, w=w)
    if hT is None and not (fallback and factor.sparse(hA, hB)):
        return None
    return HostSystem(lambda X: np.asarray(hA @ X, dtype=X.dtype),
                      None if hB is None else (lambda X: np.asarray(hB @ X, dtype=X.dtype)), hT)


def hermitian_tangent(cfg: HermitianConfig, A: Op, B: Op | None, T: Op | None, w, V, dAV, dBV, undefined,
                      host: HostSystem | None = None):
    """Forward mode of ``eigsh``: ``(dw, dV, AdjointInfo)`` (``rules.hermitian_jvp``), on the host
    when ``host`` is given (results in ``V``'s framework)."""
    like = V
    if host is not None:
        A, B, T = host
        w, V, dAV, dBV, undefined = _numpy(w, V, dAV, dBV, undefined)
    out = rules.hermitian_jvp(A, w, V, dAV, B=B, BV=None if B is None else B(V), dBV=dBV, T=T, sign=cfg.sign,
                              method=cfg.adjoint_method, tol=cfg.adjoint_tol, maxiter=cfg.adjoint_maxiter,
                              rtol=cfg.rtol, undefined=undefined)
    return out if host is None else _like(like, out)


def hermitian_adjoint(cfg: HermitianConfig, A: Op, B: Op | None, T: Op | None, w, V, wbar, Vbar,
                      host: HostSystem | None = None):
    """Reverse mode of ``eigsh``: adjoint vectors ``(a, b, AdjointInfo)`` (``rules.hermitian_adjoint``),
    on the host when ``host`` is given (results in ``V``'s framework)."""
    like = V
    if host is not None:
        A, B, T = host
        w, V, wbar, Vbar = _numpy(w, V, wbar, Vbar)
    out = rules.hermitian_adjoint(A, w, V, wbar, Vbar, B=B, BV=None if B is None else B(V), T=T, sign=cfg.sign,
                                  method=cfg.adjoint_method, tol=cfg.adjoint_tol, maxiter=cfg.adjoint_maxiter,
                                  rtol=cfg.rtol)
    return out if host is None else _like(like, out)


def _numpy(*xs) -> tuple:
    return tuple(None if x is None else np.asarray(x) for x in xs)


def _like(like: Array, outs: tuple) -> tuple:
    """Host results (arrays, None, or named tuples of arrays) in ``like``'s namespace and device."""
    xp = namespace(like)
    dev = getattr(like, "device", None)

    def conv(x):
        if x is None:
            return None
        if isinstance(x, tuple):
            return type(x)(*map(conv, x))
        return xp.asarray(np.array(x, order="C"), device=dev)

    return tuple(conv(x) for x in outs)


def general_tangent(cfg: GeneralConfig, A: Op, w, V, dAV, undefined):
    return rules.general_jvp(A, w, V, dAV, method=cfg.adjoint_method, tol=cfg.adjoint_tol,
                             maxiter=cfg.adjoint_maxiter, restart=cfg.restart, undefined=undefined)


def general_adjoint(cfg: GeneralConfig, AH: Op, w, V, wbar, Vbar):
    return rules.general_adjoint(AH, w, V, wbar, Vbar, method=cfg.adjoint_method, tol=cfg.adjoint_tol,
                                 maxiter=cfg.adjoint_maxiter, restart=cfg.restart)


def undefined_pairs(cfg, w, gap) -> Array:
    """``(k,)`` mask of pairs with no tangent (a cut cluster; eigs: a non-simple eigenvalue)."""
    return rules.singular_pairs(w, gap, cfg.rtol)


def touched(wbar, Vbar) -> Array:
    """``(k,)`` mask of the pairs the cotangent depends on."""
    xp = namespace(Vbar)
    return (cnorm(xp, Vbar) > 0) | (wbar != 0)


def hermitian_measures(cfg: HermitianConfig, w, V, wbar, Vbar) -> tuple:
    """Gauge measures of an ``eigsh`` cotangent (in the arrays' namespace, traceable):
    ``(w, vector defect, its scale, value spread, its scale)``."""
    xp = namespace(V)
    same = sorted_clusters(w, cfg.rtol)
    X = mH(V) @ Vbar
    return w, skew_defect(X, same), xp.max(xp.abs(X)), cluster_spread(wbar, same), xp.max(xp.abs(wbar))


def report_hermitian(w, defect, scale, spread, vscale, *, mode: str, routine: str) -> None:
    """Raise (or warn, per ``mode``) on a gauge-dependent ``eigsh`` cotangent (concrete values)."""
    _report.report_vectors(w, defect, scale, mode, routine)
    _report.report_values(w, spread, vscale, mode, routine)


def general_measures(cfg: GeneralConfig, w, V, wbar, Vbar) -> tuple:
    """Phase measures of an ``eigs`` cotangent: ``(w, defect, scale)``."""
    defect, scale = rules.phase_defect(V, Vbar)
    return w, defect, scale


def report_general(w, defect, scale, *, mode: str, routine: str) -> None:
    _report.report_vectors(w, defect, scale, mode, routine)
