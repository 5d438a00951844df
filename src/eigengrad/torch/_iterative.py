"""PyTorch registration of the truncated eigensolvers ``eigsh`` and ``eigs`` (k eigenpairs of a
dense, sparse or matrix-free operator): an ``autograd.Function`` whose forward is any eigensolver
(native LOBPCG on any device, host ARPACK, or a user callable) and whose backward solves the adjoint
systems of ``eigengrad._rules.partial`` and then calls ``torch.autograd.grad`` through the operator's
product ONCE, with the whole block of adjoint vectors (design/adjoints.md §5). Nothing is
differentiated through the iterations. Forward mode (``jvp``) solves the transposed systems
(``partial.hermitian_jvp``, ``partial.general_jvp``) after ONE JVP of the product at the block
``V`` (``dA V``), for every operator form PyTorch's forward AD accepts (not sparse tensors).
``torch.func``: ``grad``/``jvp`` for tensors and SciPy operators, ``vmap`` by a loop over the batch
(the solvers test the data); matrix-free operators (whose derivatives need ``torch.autograd`` through
the function) and derivatives under ``vmap`` raise. Dense inputs with leading batch axes are solved
one matrix at a time by the front ends.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np
import torch

from .. import _report
from .._rules import partial as rules
from .._rules.clusters import cluster_spread, resolve_rtol, skew_defect, sorted_clusters
from .._solvers import arpack, report, window
from .._solvers.batch import over_batch
from .._solvers.krylov_schur import krylov_schur
from .._solvers.lobpcg import extremal
from .._solvers.report import EigInfo
from ._function import plain_mode, readable
from ._operators import Operator, as_operator, host_operator


def _np(x: torch.Tensor) -> np.ndarray:
    return x.detach().cpu().numpy()


def _default_tol(dtype: torch.dtype) -> float:
    return 1e-10 if dtype in (torch.float64, torch.complex128) else 1e-4


def _start(n: int, m: int, dtype: torch.dtype, device, v0) -> torch.Tensor:
    with plain_mode():  # a constant, also under torch.func.vmap (which refuses random operations)
        g = torch.Generator(device="cpu").manual_seed(0)
        X = torch.randn(n, m, generator=g, dtype=torch.float64)
        if dtype.is_complex:
            X = torch.complex(X, torch.randn(n, m, generator=g, dtype=torch.float64))
        X = X.to(dtype=dtype, device=device)
    if v0 is not None:
        v0 = torch.as_tensor(v0, dtype=dtype, device=device).reshape(n, -1)[:, :m]
        X[:, : v0.shape[1]] = v0
    return X


def _residuals(Aop, Bop, w, V):
    R = Aop(V) - (V if Bop is None else Bop(V)) * w[None, :]
    scale = w.abs().max()
    return torch.linalg.vector_norm(R, dim=0) / (scale if scale > 0 else 1.0)


def _operators(A, B, n, dtype, params, hermitian, routine):
    opA = as_operator(A, n=n, dtype=dtype, params=params, hermitian=hermitian, name="A", routine=routine)
    opB = None if B is None else as_operator(B, n=opA.n, dtype=dtype, params=None, hermitian=True, name="B",
                                             routine=routine)
    dt = opA.dtype if opB is None else torch.promote_types(opA.dtype, opB.dtype)
    dt = dt if dtype is None else torch.promote_types(dt, dtype)
    if not (dt.is_floating_point or dt.is_complex):
        raise TypeError(f"{routine}: the operator has dtype {dt}; use a floating or complex dtype")
    if opB is not None and opB.n != opA.n:
        raise ValueError(f"{routine}: A is {opA.n}x{opA.n} but B is {opB.n}x{opB.n}")
    return opA, opB, dt


def _device(op: Operator):
    return op.params[0].device if op.params else torch.device("cpu")


def _check_k(k, n, routine):
    if not (isinstance(k, (int, np.integer)) and 1 <= k < n):
        raise ValueError(f"{routine}: k must be an integer with 1 <= k < n = {n}, got {k!r}")


_VMAP_DERIVATIVES = (
    "derivatives inside torch.func.vmap (jacrev, jacfwd, hessian, vmap of grad or jvp) are not "
    "supported: the adjoint and tangent solves stop on tests of the data, which vmap cannot batch. "
    "Take torch.func.grad / torch.func.jvp one cotangent or direction at a time, or pass A with "
    "leading batch axes (the front end loops over them) and use torch.autograd.")


def _plain(routine: str, *tensors):
    """The plain values behind ``tensors`` (also inside torch.func.grad/jvp) for the host checks;
    under vmap the solves cannot run, so this raises."""
    got = readable(*tensors)
    if got is None:
        raise NotImplementedError(f"{routine}: {_VMAP_DERIVATIVES}")
    return got


def _host(routine: str, *tensors) -> list:
    """``tensors`` as NumPy arrays (see :func:`_plain`)."""
    got = _plain(routine, *tensors)
    with plain_mode():
        return [_np(t) for t in got]


def _bind(opA: Operator, opB: Operator | None, params: Sequence[torch.Tensor]):
    nA = len(opA.params)
    return opA.bind(params[:nA]), None if opB is None else opB.bind(params[nA:])


def _vmap_loop(fn, info, in_dims, args):
    """``vmap`` rule of the solvers (whose iterations test the data): one solve per batch entry."""
    outs = [fn.apply(*[a.select(d, i) if isinstance(a, torch.Tensor) and d is not None else a
                       for a, d in zip(args, in_dims)]) for i in range(info.batch_size)]
    return tuple(torch.stack(o) for o in zip(*outs)), (0,) * len(outs[0])


def _undefined(w, gap, rtol, routine, hermitian):
    """``(k,)`` mask of the pairs with no tangent: a cluster cut by the k-th eigenvalue (``eigs``: a
    non-simple eigenvalue), whose systems are singular. Their tangents are NaN, with a
    ``DegeneracyWarning``; their right-hand sides are zeroed so the other solves are not held up."""
    w0, gap0 = _plain(routine, w, gap)
    with plain_mode():
        bad = rules.singular_pairs(w0, gap0, rtol)
        (report.cut if hermitian else report.simple)(_np(w0), _np(gap0), _np(bad), rtol=rtol, mode="warn",
                                                     routine=routine + report.NAN_TANGENTS)
    return bad


class _FirstOrder(torch.autograd.Function):
    """The identity on a gradient, tied to the outputs ``w, V`` of the solve: differentiating the
    gradient again (double backward, nested torch.func.grad) reaches its backward, which raises,
    instead of treating the adjoint solves as constants."""

    @staticmethod
    def forward(routine, g, *outputs):
        return g.clone()

    @staticmethod
    def setup_context(ctx, inputs, output):
        ctx.routine = inputs[0]

    @staticmethod
    def backward(ctx, *_):
        raise NotImplementedError(
            f"{ctx.routine}: second derivatives (double backward, hessian, nested grad) are not supported: "
            "the adjoint solves are not differentiated. Use dense eigh/eig for second derivatives.")

    jvp = backward


def _first_order(routine: str, grads: tuple, *outputs) -> tuple:
    """``grads``, guarded by :class:`_FirstOrder` where a graph of the backward pass is recorded."""
    if not torch.is_grad_enabled():
        return grads
    return tuple(None if g is None else _FirstOrder.apply(routine, g, *outputs) for g in grads)


class _Eigsh(torch.autograd.Function):
    @staticmethod
    def forward(cfg: dict, opA: Operator, opB: Operator | None, X0: torch.Tensor, *params):
        opA, opB = _bind(opA, opB, params)
        Aop = opA.apply
        Bop = None if opB is None else opB.apply
        T = cfg["T"]
        k, which, sigma, solver = cfg["k"], cfg["which"], cfg["sigma"], cfg["solver"]
        rdt = torch.empty((), dtype=X0.dtype).real.dtype
        with torch.no_grad():
            if solver == "lobpcg":
                w, V, res, guard, iters = extremal(Aop, X0, k, largest=which == "largest", B=Bop, T=T,
                                                   tol=cfg["tol"], maxiter=cfg["maxiter"])
                gap, iters = rules.cut_gap(w, guard), int(iters)
            else:
                iters = -1
                if solver == "lanczos":
                    r = krylov_schur(Aop, X0[:, :1], k, which=which, hermitian=True, ncv=cfg["ncv"], tol=cfg["tol"],
                                     maxiter=cfg["maxiter"])
                    w_all, V_all, iters = r.w, r.X, int(r.iters)
                elif solver == "arpack":
                    w_all, V_all = arpack.eigsh(host_operator(opA, X0.dtype), k, which=which, sigma=sigma,
                                                B=None if opB is None else host_operator(opB, X0.dtype),
                                                v0=_np(X0[:, 0]), tol=cfg["tol"], maxiter=cfg["maxiter"])
                else:
                    w_all, V_all = solver(Aop, k, B=Bop, X0=X0, which=which, sigma=sigma, tol=cfg["tol"],
                                          maxiter=cfg["maxiter"], preconditioner=T)
                w_all = torch.as_tensor(w_all, device=X0.device).real.to(rdt)
                V_all = torch.as_tensor(V_all, device=X0.device).to(X0.dtype)
                w, V, guard = window.split(w_all, V_all, k, which, sigma)
                gap = rules.cut_gap(w, guard) if guard.shape[0] else torch.full((k,), torch.inf, dtype=rdt)
                res = _residuals(Aop, Bop, w, V)
        report.forward(_np(res), iters, tol=cfg["tol"], mode=cfg["on_failure"], routine="eigsh")
        # own storage: outputs must not be views (forward-mode AD)
        return w.clone(), V.clone(), res, gap, torch.tensor(iters)

    @staticmethod
    def setup_context(ctx, inputs, output):
        cfg, opA, opB, _, *params = inputs
        w, V, res, gap, its = output
        ctx.cfg = cfg
        ctx.opA, ctx.opB = _bind(opA, opB, params)
        ctx.set_materialize_grads(False)
        ctx.save_for_backward(w, V, gap)
        ctx.save_for_forward(w, V, gap)
        ctx.mark_non_differentiable(res, gap, its)

    @staticmethod
    def vmap(info, in_dims, *args):
        return _vmap_loop(_Eigsh, info, in_dims, args)

    @staticmethod
    def backward(ctx, wbar, Vbar, _res, _gap, _its):
        w, V, gap = ctx.saved_tensors
        cfg, opA, opB = ctx.cfg, ctx.opA, ctx.opB
        routine = "eigsh"
        wbar = torch.zeros_like(w) if wbar is None else wbar.real
        Vbar = torch.zeros_like(V) if Vbar is None else Vbar
        w0, V0, gap0, wbar0, Vbar0 = _plain(routine, w, V, gap, wbar, Vbar)
        with plain_mode():
            same = sorted_clusters(w0, cfg["rtol"])
            if cfg["gauge"] != "ignore":
                X = V0.mH @ Vbar0
                _report.report_vectors(_np(w0), _np(skew_defect(X, same)), _np(X.abs().max()), cfg["gauge"],
                                       routine)
                _report.report_values(_np(w0), _np(cluster_spread(wbar0, same)), _np(wbar0.abs().max()),
                                      cfg["gauge"], routine)
            touched = (torch.linalg.vector_norm(Vbar0, dim=0) > 0) | (wbar0 != 0)
            report.cut(_np(w0), _np(gap0), _np(touched), rtol=cfg["rtol"], mode="raise", routine=routine)
        with torch.no_grad():
            Bop = None if opB is None else opB.apply
            a, b, info = rules.hermitian_adjoint(
                opA.apply, w, V, wbar, Vbar, B=Bop, BV=None if Bop is None else Bop(V), T=cfg["T"],
                sign=cfg["sign"], method=cfg["method"], tol=cfg["atol"], maxiter=cfg["amax"], rtol=cfg["rtol"])
        res, iters = _host(routine, info.res, info.iters)
        report.adjoint(res, int(iters), tol=cfg["atol"], mode=cfg["on_failure"], routine=routine)
        grads = opA.cotangent(V, a) + (() if opB is None else opB.cotangent(V, b))
        return (None, None, None, None, *_first_order(routine, grads, w, V))

    @staticmethod
    def jvp(ctx, _cfg, _opA, _opB, _X0, *dparams):
        w, V, gap = ctx.saved_tensors
        cfg, opA, opB = ctx.cfg, ctx.opA, ctx.opB
        routine = "eigsh"
        _plain(routine, *(d for d in dparams if d is not None))
        nA = len(opA.params)
        dAV = opA.tangent(V, dparams[:nA])
        dBV = None if opB is None else opB.tangent(V, dparams[nA:])
        bad = _undefined(w, gap, cfg["rtol"], routine, True)
        with torch.no_grad():
            Bop = None if opB is None else opB.apply
            dw, dV, info = rules.hermitian_jvp(
                opA.apply, w, V, torch.zeros_like(V) if dAV is None else dAV, B=Bop,
                BV=None if Bop is None else Bop(V), dBV=dBV, T=cfg["T"], sign=cfg["sign"], method=cfg["method"],
                tol=cfg["atol"], maxiter=cfg["amax"], rtol=cfg["rtol"], undefined=bad)
        res, iters = _host(routine, info.res, info.iters)
        report.adjoint(res, int(iters), tol=cfg["atol"], mode=cfg["on_failure"], routine=routine)
        return dw, dV, None, None, None


class _Eigs(torch.autograd.Function):
    @staticmethod
    def forward(cfg: dict, opA: Operator, X0: torch.Tensor, *params):
        opA = opA.bind(params)
        k, which, sigma, solver = cfg["k"], cfg["which"], cfg["sigma"], cfg["solver"]
        cdt = torch.promote_types(X0.dtype, torch.complex64)
        iters = -1
        with torch.no_grad():
            if solver == "arnoldi":
                r = krylov_schur(opA.apply, X0, k, which=which, hermitian=False, ncv=cfg["ncv"], tol=cfg["tol"],
                                 maxiter=cfg["maxiter"])
                w_all, V_all, iters = r.w, r.X, int(r.iters)
            elif solver == "arpack":
                w_all, V_all = arpack.eigs(host_operator(opA, X0.dtype), k, which=which, sigma=sigma, v0=_np(X0[:, 0]),
                                           tol=cfg["tol"], maxiter=cfg["maxiter"])
            else:
                w_all, V_all = solver(opA.apply, k, X0=X0, which=which, sigma=sigma, tol=cfg["tol"],
                                      maxiter=cfg["maxiter"])
            w_all = torch.as_tensor(w_all, device=X0.device).to(cdt)
            V_all = torch.as_tensor(V_all, device=X0.device).to(cdt)
            V_all = V_all / torch.linalg.vector_norm(V_all, dim=0)[None, :]
            w, V, guard = window.split(w_all, V_all, k, which, sigma, hermitian=False)
            others = torch.cat([w, guard])
            d = (w[:, None] - others[None, :]).abs()
            d = d + torch.where(torch.eye(k, others.shape[0], dtype=torch.bool, device=d.device), torch.inf, 0.0)
            gap = d.min(dim=1).values
            res = _residuals(opA.apply, None, w, V)
        report.forward(_np(res), iters, tol=cfg["tol"], mode=cfg["on_failure"], routine="eigs")
        return w.clone(), V.clone(), res, gap

    @staticmethod
    def setup_context(ctx, inputs, output):
        cfg, opA, _, *params = inputs
        w, V, res, gap = output
        ctx.cfg, ctx.opA = cfg, opA.bind(params)
        ctx.set_materialize_grads(False)
        ctx.save_for_backward(w, V, gap)
        ctx.save_for_forward(w, V, gap)
        ctx.mark_non_differentiable(res, gap)

    @staticmethod
    def vmap(info, in_dims, *args):
        return _vmap_loop(_Eigs, info, in_dims, args)

    @staticmethod
    def backward(ctx, wbar, Vbar, _res, _gap):
        w, V, gap = ctx.saved_tensors
        cfg, opA = ctx.cfg, ctx.opA
        routine = "eigs"
        wbar = torch.zeros_like(w) if wbar is None else wbar
        Vbar = torch.zeros_like(V) if Vbar is None else Vbar
        w0, V0, gap0, wbar0, Vbar0 = _plain(routine, w, V, gap, wbar, Vbar)
        with plain_mode():
            if cfg["gauge"] != "ignore":
                defect, scale = rules.phase_defect(V0, Vbar0)
                _report.report_vectors(_np(w0), _np(defect), _np(scale), cfg["gauge"], routine)
            touched = (torch.linalg.vector_norm(Vbar0, dim=0) > 0) | (wbar0 != 0)
            report.simple(_np(w0), _np(gap0), _np(touched), rtol=cfg["rtol"], mode="raise", routine=routine)
        AH = opA.adjoint(V)
        with torch.no_grad():
            a, info = rules.general_adjoint(AH, w, V, wbar, Vbar, method=cfg["method"], tol=cfg["atol"],
                                            maxiter=cfg["amax"], restart=cfg["restart"])
        res, iters = _host(routine, info.res, info.iters)
        report.adjoint(res, int(iters), tol=cfg["atol"], mode=cfg["on_failure"], routine=routine)
        return (None, None, None, *_first_order(routine, opA.cotangent(V, a), w, V))

    @staticmethod
    def jvp(ctx, _cfg, _opA, _X0, *dparams):
        w, V, gap = ctx.saved_tensors
        cfg, opA = ctx.cfg, ctx.opA
        routine = "eigs"
        _plain(routine, *(d for d in dparams if d is not None))
        dAV = opA.tangent(V, dparams)
        bad = _undefined(w, gap, cfg["rtol"], routine, False)
        with torch.no_grad():
            dw, dV, info = rules.general_jvp(
                opA.apply, w, V, torch.zeros_like(V) if dAV is None else dAV, method=cfg["method"], tol=cfg["atol"],
                maxiter=cfg["amax"], restart=cfg["restart"], undefined=bad)
        res, iters = _host(routine, info.res, info.iters)
        report.adjoint(res, int(iters), tol=cfg["atol"], mode=cfg["on_failure"], routine=routine)
        return dw, dV, None, None


def _info(w, res, its, gap) -> EigInfo:
    """Diagnostics of one solve; ``iterations`` an int (a tensor under vmap, where it has no value)."""
    scale = w.detach().abs().max()
    got = readable(its) if isinstance(its, torch.Tensor) else [its]
    return EigInfo(res, its if got is None else int(got[0]), gap, rules.gradient_error(res * scale, gap))


def _dense(M) -> bool:
    return isinstance(M, torch.Tensor) and M.layout == torch.strided


@over_batch(_dense)
def eigsh(
    A: Any, k: int, which: str = "smallest", sigma: float | None = None, B: Any = None, *,
    n: int | None = None, params: Sequence[torch.Tensor] | None = None, dtype: torch.dtype | None = None,
    tol: float | None = None, maxiter: int | None = None, v0: torch.Tensor | None = None,
    solver: str | Callable = "lobpcg", preconditioner: Callable | None = None, block_size: int | None = None,
    ncv: int | None = None, adjoint_solver: str | None = None, adjoint_tol: float | None = None, adjoint_maxiter: int | None = None,
    cluster_rtol: float | None = None, gauge: str = "raise", on_failure: str = "raise",
    return_info: bool = False,
):
    """``k`` eigenpairs of a Hermitian operator, ``A v = λ v`` (or ``A v = λ B v``, ``B`` Hermitian
    positive definite, ``V^H B V = I``): the smallest, the largest, or (``sigma``) the nearest to
    ``sigma``. Returns ``w`` (ascending, ``(k,)``) and ``V`` (``(n, k)``), and an :class:`EigInfo`
    with ``return_info=True``.

    ``A``/``B``: a dense tensor (read as ``(A + A^H)/2``), a sparse COO/CSR tensor (gradient with
    its sparsity), a SciPy matrix or LinearOperator (no gradient), or a function ``X -> A X`` on
    ``(n, m)`` blocks (pass ``n``) whose tensors ``params=[...]`` get gradients, or an ``nn.Module``.
    Dense ``A``/``B`` of shape ``(..., n, n)`` (leading axes broadcast) give ``w (..., k)``,
    ``V (..., n, k)`` and batched info fields, by a Python loop over the batch: one solve each.
    ``solver``: ``"lobpcg"`` (native, any device; no ``sigma``), ``"lanczos"`` (native thick-restart
    Lanczos / Krylov–Schur with basis size ``ncv``; no ``B``, no ``sigma``), ``"arpack"`` (SciPy on the host;
    ``sigma`` = shift-invert, needs a matrix), or a callable ``solver(matvec, k, *, B, X0, which,
    sigma, tol, maxiter, preconditioner) -> (w, V)`` returning at least ``k`` pairs.
    ``preconditioner``: ``X -> T X``, ``T`` Hermitian positive definite ``≈ (A - σB)^{-1}``
    (``(σB - A)^{-1}`` for "largest"), used by LOBPCG and by the adjoint solves.

    Backward: ``Ā = Σ_i a_i v_i^H``, ``a_i = V K e_i - z_i`` (in-span ``K`` with clusters masked;
    ``P^H (A - λ_i B) P z_i = P^H v̄_i`` by CG, MINRES for ``sigma``), then ONE
    ``torch.autograd.grad`` through the product. Faults raise (``on_failure="warn"`` warns):
    forward or adjoint non-convergence (:class:`~eigengrad.errors.ConvergenceError`), a cluster cut
    by the k-th eigenvalue (``ClusterCutError``), a gauge-dependent loss (per ``gauge``).

    Forward mode (``torch.autograd.forward_ad``, every form but sparse tensors, which PyTorch cannot
    make dual: write their product as a function of the values instead): with ``R = dA V - dB V Λ``,
    ``dλ_i = Re v_i^H r_i``, ``dV = V C + z`` with ``C = F ∘ V^H R - ½ same ∘ V^H dB V`` (so no
    phase or basis inside a cluster moves) and ``z_i`` from the same projected systems, right-hand
    sides ``-P^H r_i``; ``dA V`` is one JVP of the product (a function must close over the dual
    tensors it is given in ``params``; a module's dual attributes, PyTorch's recipe, are found).
    Pairs of a cluster cut by the k-th eigenvalue have no tangent: NaN, with a ``DegeneracyWarning``.
    ``torch.func``: ``grad``, ``jvp`` and ``vmap`` (a loop) for dense (sparse COO: ``grad``) and
    SciPy operators; matrix-free operators raise (use torch.autograd), as do derivatives under vmap
    (jacrev, jacfwd) and second derivatives (``NotImplementedError`` saying what to use).
    """
    routine = "eigsh"
    _report.check_mode(gauge)
    report.check_mode(on_failure)
    window.check_hermitian_options(which, sigma, solver, routine, B)
    opA, opB, dt = _operators(A, B, n, dtype, params, True, routine)
    n = opA.n
    _check_k(k, n, routine)
    m = min(n, block_size or k + max(4, k))
    if m <= k:
        raise ValueError(f"{routine}: block_size must exceed k (the extra vectors estimate the next eigenvalue)")
    rdt = torch.empty((), dtype=dt).real.dtype
    tol = _default_tol(rdt) if tol is None else float(tol)
    cfg = dict(
        k=k, which=which, sigma=sigma, solver=solver, T=preconditioner, tol=tol,
        maxiter=maxiter or (1000 if solver in window.NATIVE_HERMITIAN else 20 * n), ncv=ncv,
        atol=tol if adjoint_tol is None else float(adjoint_tol), amax=adjoint_maxiter or min(2 * n, 20000),
        method=adjoint_solver or ("minres" if sigma is not None else "cg"),
        sign=-1.0 if (which == "largest" and sigma is None) else 1.0,
        rtol=resolve_rtol(cluster_rtol, torch.zeros((), dtype=rdt)), gauge=gauge, on_failure=on_failure)
    X0 = _start(n, m, dt, _device(opA), v0)
    params_all = opA.params + (() if opB is None else opB.params)
    w, V, res, gap, its = _Eigsh.apply(cfg, opA, opB, X0, *params_all)
    return (w, V, _info(w, res, its, gap)) if return_info else (w, V)


@over_batch(_dense)
def eigs(
    A: Any, k: int, which: str = "largest_real", sigma: complex | None = None, *, n: int | None = None,
    params: Sequence[torch.Tensor] | None = None, dtype: torch.dtype | None = None, tol: float | None = None,
    maxiter: int | None = None, v0: torch.Tensor | None = None, solver: str | Callable = "arpack",
    ncv: int | None = None, adjoint_solver: str = "bicgstab", adjoint_tol: float | None = None,
    adjoint_maxiter: int | None = None, restart: int = 30, cluster_rtol: float | None = None,
    gauge: str = "raise", on_failure: str = "raise", return_info: bool = False,
):
    """``k`` eigenpairs ``A v = λ v`` of a general operator, unit-norm right eigenvectors, ordered by
    ``which`` (largest_real, smallest_real, largest_magnitude, smallest_magnitude, largest_imag,
    smallest_imag) or by distance to ``sigma``; complex ``w (k,)``, ``V (n, k)``. Forms of ``A`` as
    in :func:`eigsh` (dense tensors are not symmetrised). ``solver``: ``"arpack"``, ``"arnoldi"``
    (native Krylov–Schur, basis size ``ncv``, any device; no ``sigma``) or a callable
    ``solver(matvec, k, *, X0, which, sigma, tol, maxiter) -> (w, V)``.

    Backward: per pair the bordered system ``[conj(λ_i) - A^H, v_i; v_i^H, 0][a_i; 0] =
    [v̄_i - v_i(v_i^H v̄_i); λ̄_i]`` by block BiCGStab (or GMRES(``restart``)), ``A^H`` from the
    transposed product, then ONE ``torch.autograd.grad`` through the product: ``Ā = Σ a_i v_i^H``.
    Eigenvalues must be simple; a phase-dependent loss raises per ``gauge``. Forward mode: per pair
    ``[λ_i - A, v_i; v_i^H, 0][dv_i; dλ_i] = [dA v_i; 0]`` (gauge ``v_i^H dv_i = 0``, that of the
    backward), same solver; a non-simple eigenvalue gets NaN tangents and a ``DegeneracyWarning``.
    Batching over leading axes of a dense ``A`` and ``torch.func`` support as in :func:`eigsh`.
    """
    routine = "eigs"
    _report.check_mode(gauge)
    report.check_mode(on_failure)
    window.check_general_options(which, sigma, solver, routine)
    if adjoint_solver not in ("bicgstab", "gmres"):
        raise ValueError(f"{routine}: adjoint_solver must be 'bicgstab' or 'gmres', got {adjoint_solver!r}")
    opA, _, dt = _operators(A, None, n, dtype, params, False, routine)
    n = opA.n
    _check_k(k, n - 1, routine)
    rdt = torch.empty((), dtype=dt).real.dtype
    tol = _default_tol(rdt) if tol is None else float(tol)
    cfg = dict(k=k, which=which, sigma=sigma, solver=solver, tol=tol, ncv=ncv,
               maxiter=maxiter or (1000 if solver == "arnoldi" else 20 * n),
               atol=tol if adjoint_tol is None else float(adjoint_tol),
               amax=adjoint_maxiter or max(1000, min(20 * n, 20000)), method=adjoint_solver, restart=restart,
               rtol=resolve_rtol(cluster_rtol, torch.zeros((), dtype=rdt)), gauge=gauge, on_failure=on_failure)
    X0 = _start(n, 1, dt, _device(opA), v0)
    w, V, res, gap = _Eigs.apply(cfg, opA, X0, *opA.params)
    return (w, V, _info(w, res, -1, gap)) if return_info else (w, V)
