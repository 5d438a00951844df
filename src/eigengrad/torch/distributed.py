"""``eigsh`` (optionally ``A v = λ B v``) and ``eigs`` for operators whose rows are split across the
ranks of a ``torch.distributed`` process group: each rank holds ``n_local`` consecutive rows of every
block and supplies the product on them, ``X_local (n_local, m) -> (A X)_local`` (it may exchange
halos with other ranks itself).

The neutral solvers and adjoint rules run unchanged on the local rows: every sum over rows (Gram
products ``X^H Y``, column dots and norms) is summed over the group by ``all_reduce``
(``_solvers.comm.reducing``), so the small projected problems, the Ritz values and the scalars of
the Krylov recurrences are the same on every rank. Per iteration that is a few all-reduces of
``m × m`` blocks (``m`` the block width) plus the user's halo exchange inside the product.

Backward: the adjoint solves of ``_rules.partial.hermitian_adjoint`` under the same reduction, then
ONE ``torch.autograd.grad`` through the local product gives each rank the gradients of its own
``params``. The product's halo exchange needs no autograd: ``V`` is a constant there, only the
parameters are differentiated. Forward mode: one JVP of the local product at ``V_local``, then the
tangent solves of ``_rules.partial`` under the same reduction.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
import torch
import torch.distributed as dist

from .. import _report
from .._backend import namespace
from .._rules import partial as rules
from .._rules.clusters import cluster_spread, resolve_rtol, skew_defect, sorted_clusters
from .._solvers import comm, report, window
from .._solvers.krylov_schur import krylov_schur
from .._solvers.lobpcg import extremal
from .._solvers.report import EigInfo
from .._iterative import driver
from .._iterative.config import default_tol
from ._iterative import _first_order, _np
from ._operators import Operator, as_operator

ROUTINE = "distributed.eigsh"
GENERAL = "distributed.eigs"
_CHUNK = 4096  # rows per seeded chunk of the start block: the same global block for any split


@dataclass(frozen=True)
class _Config:
    k: int
    which: str
    solver: str
    ncv: int | None
    tol: float
    maxiter: int
    atol: float
    amax: int
    sign: float
    rtol: float
    gauge: str
    on_failure: str
    group: object
    restart: int = 30


def _allreduce(group) -> Callable[[torch.Tensor], torch.Tensor]:
    """Sum over the ranks of ``group`` of a small tensor (a new tensor; the input is kept)."""
    def fn(x: torch.Tensor) -> torch.Tensor:
        y = x.detach().clone()
        dist.all_reduce(y, op=dist.ReduceOp.SUM, group=group)
        return y
    return fn


def _offsets(n_local: int, group) -> tuple[int, int]:
    """``(first global row of this rank, global n)``: ranks hold consecutive rows in rank order."""
    sizes = [None] * dist.get_world_size(group)
    dist.all_gather_object(sizes, n_local, group=group)
    rank = dist.get_rank(group)
    return sum(sizes[:rank]), sum(sizes)


def global_rows_randn(first: int, n_local: int, m: int, dtype: torch.dtype, device) -> torch.Tensor:
    """Rows ``first : first + n_local`` of one seeded ``(n, m)`` Gaussian block, the same for every
    split of the rows (chunk ``c`` of ``_CHUNK`` rows is drawn from seed ``c``)."""
    parts = []
    last = first + n_local
    for c in range(first // _CHUNK, (last - 1) // _CHUNK + 1):
        g = torch.Generator(device="cpu").manual_seed(c)
        block = torch.randn(_CHUNK, m, generator=g, dtype=torch.float64)
        if dtype.is_complex:
            block = torch.complex(block, torch.randn(_CHUNK, m, generator=g, dtype=torch.float64))
        lo, hi = max(first, c * _CHUNK) - c * _CHUNK, min(last, (c + 1) * _CHUNK) - c * _CHUNK
        parts.append(block[lo:hi])
    return torch.cat(parts).to(dtype=dtype, device=device).contiguous()


def _apply(op: Operator | None):
    """``op``'s product without autograd, or None."""
    return None if op is None else op.apply


class _Eigsh(torch.autograd.Function):
    @staticmethod
    def forward(cfg: _Config, op: Operator, opB: Operator | None, X0: torch.Tensor, *params):
        with comm.reducing(_allreduce(cfg.group)), torch.no_grad():
            if cfg.solver == "lobpcg":
                w, V, res, guard, iters = extremal(op.apply, X0, cfg.k, largest=cfg.which == "largest",
                                                   B=_apply(opB), tol=cfg.tol, maxiter=cfg.maxiter)
            else:
                r = krylov_schur(op.apply, X0[:, :1], cfg.k, which=cfg.which, hermitian=True, ncv=cfg.ncv,
                                 tol=cfg.tol, maxiter=cfg.maxiter)
                w, V, guard = window.split(r.w.real.to(X0.real.dtype), r.X, cfg.k, cfg.which)
                iters = r.iters
                R = op.apply(V) - V * w[None, :]
                res = comm.cnorm(namespace(R), R) / w.abs().max().clamp_min(torch.finfo(w.dtype).tiny)
            gap = rules.cut_gap(w, guard) if guard.shape[0] else torch.full_like(w, torch.inf)
            gram = comm.inner(namespace(V), V, V if opB is None else opB.apply(V))
        driver.check_forward(cfg, _np(w), _np(V), _np(res), _np(gram), int(iters), mode=cfg.on_failure,
                             routine=ROUTINE)
        return w.clone(), V.clone(), res, gap, torch.as_tensor(iters)

    @staticmethod
    def setup_context(ctx, inputs, output):
        cfg, op, opB, _, *params = inputs
        w, V, res, gap, its = output
        ctx.cfg, ctx.op, ctx.opB = cfg, op, opB
        ctx.set_materialize_grads(False)
        ctx.save_for_backward(w, V, gap)
        ctx.save_for_forward(w, V, gap)
        ctx.mark_non_differentiable(res, gap, its)

    @staticmethod
    def backward(ctx, wbar, Vbar, _res, _gap, _its):
        w, V, gap = ctx.saved_tensors
        cfg, op = ctx.cfg, ctx.op
        reduce = _allreduce(cfg.group)
        wbar = reduce(torch.zeros_like(w) if wbar is None else wbar.real)  # w is shared: Σ over the ranks' losses
        Vbar = torch.zeros_like(V) if Vbar is None else Vbar
        xp = namespace(V)
        with comm.reducing(reduce), torch.no_grad():
            same = sorted_clusters(w, cfg.rtol)
            X = comm.inner(xp, V, Vbar)
            if cfg.gauge != "ignore":
                _report.report_vectors(_np(w), _np(skew_defect(X, same)), _np(X.abs().max()), cfg.gauge, ROUTINE)
                _report.report_values(_np(w), _np(cluster_spread(wbar, same)), _np(wbar.abs().max()), cfg.gauge,
                                      ROUTINE)
            touched = (comm.cnorm(xp, Vbar) > 0) | (wbar != 0)
            report.cut(_np(w), _np(gap), _np(touched), rtol=cfg.rtol, mode="raise", routine=ROUTINE)
            a, _, info = rules.hermitian_adjoint(op.apply, w, V, wbar, Vbar, B=_apply(ctx.opB),
                                                 BV=None if ctx.opB is None else ctx.opB.apply(V), sign=cfg.sign,
                                                 method="cg", tol=cfg.atol, maxiter=cfg.amax, rtol=cfg.rtol)
        report.adjoint(_np(info.res), int(info.iters), tol=cfg.atol, mode=cfg.on_failure, routine=ROUTINE)
        grads = op.cotangent(V, a)
        return (None, None, None, None, *_first_order(ROUTINE, grads, w, V))

    @staticmethod
    def jvp(ctx, _cfg, _op, _opB, _X0, *dparams):
        """Forward mode: one JVP of this rank's product at ``V_local``, then the projected solves of
        ``rules.hermitian_jvp`` under the row reduction (``dw`` equal on every rank)."""
        w, V, gap = ctx.saved_tensors
        cfg, op, opB = ctx.cfg, ctx.op, ctx.opB
        dAV = op.tangent(V, dparams)
        with comm.reducing(_allreduce(cfg.group)), torch.no_grad():
            bad = rules.singular_pairs(w, gap, cfg.rtol)
            report.cut(_np(w), _np(gap), _np(bad), rtol=cfg.rtol, mode="warn", routine=ROUTINE + report.NAN_TANGENTS)
            dw, dV, info = rules.hermitian_jvp(op.apply, w, V, torch.zeros_like(V) if dAV is None else dAV,
                                               B=_apply(opB), BV=None if opB is None else opB.apply(V),
                                               sign=cfg.sign, method="cg", tol=cfg.atol, maxiter=cfg.amax,
                                               rtol=cfg.rtol, undefined=bad)
        report.adjoint(_np(info.res), int(info.iters), tol=cfg.atol, mode=cfg.on_failure, routine=ROUTINE)
        return dw, dV, None, None, None


class _Eigs(torch.autograd.Function):
    @staticmethod
    def forward(cfg: _Config, op: Operator, opH: Operator, x0: torch.Tensor, *params):
        cdt = torch.promote_types(x0.dtype, torch.complex64)
        with comm.reducing(_allreduce(cfg.group)), torch.no_grad():
            r = krylov_schur(op.apply, x0, cfg.k, which=cfg.which, hermitian=False, ncv=cfg.ncv, tol=cfg.tol,
                             maxiter=cfg.maxiter)
            V_all = r.X.to(cdt)
            xp = namespace(V_all)
            V_all = V_all / comm.cnorm(xp, V_all)[None, :]
            w, V, guard = window.split(r.w.to(cdt), V_all, cfg.k, cfg.which, hermitian=False)
            others = torch.cat([w, guard])
            d = (w[:, None] - others[None, :]).abs()
            gap = (d + torch.where(torch.eye(cfg.k, others.shape[0], dtype=torch.bool), torch.inf, 0.0)).min(1).values
            R = op.apply(V) - V * w[None, :]
            res = comm.cnorm(xp, R) / w.abs().max().clamp_min(torch.finfo(gap.dtype).tiny)
        report.forward(_np(res), int(r.iters), tol=cfg.tol, mode=cfg.on_failure, routine=GENERAL)
        return w.clone(), V.clone(), res, gap

    @staticmethod
    def setup_context(ctx, inputs, output):
        cfg, op, opH, _, *params = inputs
        w, V, res, gap = output
        ctx.cfg, ctx.op, ctx.opH = cfg, op, opH
        ctx.set_materialize_grads(False)
        ctx.save_for_backward(w, V, gap)
        ctx.save_for_forward(w, V, gap)
        ctx.mark_non_differentiable(res, gap)

    @staticmethod
    def backward(ctx, wbar, Vbar, _res, _gap):
        w, V, gap = ctx.saved_tensors
        cfg, op = ctx.cfg, ctx.op
        reduce = _allreduce(cfg.group)
        wbar = reduce(torch.zeros_like(w) if wbar is None else wbar)  # w is shared: Σ over the ranks' losses
        Vbar = torch.zeros_like(V) if Vbar is None else Vbar
        xp = namespace(V)
        # The bordered systems' last row is held by every rank, so the reduced inner products weigh it
        # by the world size: a fixed positive weight, under which BiCGStab solves the same systems.
        with comm.reducing(reduce), torch.no_grad():
            if cfg.gauge != "ignore":
                defect, scale = rules.phase_defect(V, Vbar)
                _report.report_vectors(_np(w), _np(defect), _np(scale), cfg.gauge, GENERAL)
            touched = (comm.cnorm(xp, Vbar) > 0) | (wbar != 0)
            report.simple(_np(w), _np(gap), _np(touched), rtol=cfg.rtol, mode="raise", routine=GENERAL)
            a, info = rules.general_adjoint(ctx.opH.apply, w, V, wbar, Vbar, method="bicgstab", tol=cfg.atol,
                                            maxiter=cfg.amax, restart=cfg.restart)
        report.adjoint(_np(info.res), int(info.iters), tol=cfg.atol, mode=cfg.on_failure, routine=GENERAL)
        return (None, None, None, None, *_first_order(GENERAL, op.cotangent(V, a), w, V))

    @staticmethod
    def jvp(ctx, _cfg, _op, _opH, _x0, *dparams):
        """Forward mode: one JVP of this rank's product, then the bordered systems of
        ``rules.general_jvp`` under the row reduction (their last row held by every rank, as in
        ``backward``)."""
        w, V, gap = ctx.saved_tensors
        cfg, op = ctx.cfg, ctx.op
        dAV = op.tangent(V, dparams)
        with comm.reducing(_allreduce(cfg.group)), torch.no_grad():
            bad = rules.singular_pairs(w, gap, cfg.rtol)
            report.simple(_np(w), _np(gap), _np(bad), rtol=cfg.rtol, mode="warn",
                          routine=GENERAL + report.NAN_TANGENTS)
            dw, dV, info = rules.general_jvp(op.apply, w, V, torch.zeros_like(V) if dAV is None else dAV,
                                             method="bicgstab", tol=cfg.atol, maxiter=cfg.amax, restart=cfg.restart,
                                             undefined=bad)
        report.adjoint(_np(info.res), int(info.iters), tol=cfg.atol, mode=cfg.on_failure, routine=GENERAL)
        return dw, dV, None, None


def _checked(routine: str, k, n_local, group, params, gauge: str, on_failure: str, limit: int) -> tuple[int, int]:
    """Check the arguments shared by both routines, before any work; ``(first global row, n)``.
    ``k`` must satisfy ``1 <= k < n - limit``."""
    if not dist.is_available() or not dist.is_initialized():
        raise RuntimeError(f"{routine}: torch.distributed is not initialised; call "
                           "torch.distributed.init_process_group first (backend 'gloo' on CPU, 'nccl' on GPU)")
    _report.check_mode(gauge)
    report.check_mode(on_failure)
    if not (isinstance(n_local, (int, np.integer)) and n_local >= 1):
        raise ValueError(f"{routine}: n_local must be a positive integer (this rank's rows), got {n_local!r}")
    if not all(isinstance(p, torch.Tensor) for p in params):
        raise TypeError(f"{routine}: params must be a sequence of tensors")
    first, n = _offsets(int(n_local), group)
    if not (isinstance(k, (int, np.integer)) and 1 <= k < n - limit):
        raise ValueError(f"{routine}: k must be an integer with 1 <= k < {n - limit} (n = {n}, all ranks' rows), "
                         f"got {k!r}")
    return first, n


def eigsh(
    matvec_local: Callable[[torch.Tensor], torch.Tensor], k: int, *, n_local: int, group=None,
    params: Sequence[torch.Tensor] = (), B: Callable[[torch.Tensor], torch.Tensor] | None = None,
    which: str = "smallest", solver: str = "lobpcg", dtype: torch.dtype | None = None,
    tol: float | None = None, maxiter: int | None = None, block_size: int | None = None, ncv: int | None = None,
    adjoint_tol: float | None = None, adjoint_maxiter: int | None = None, cluster_rtol: float | None = None,
    gauge: str = "raise", on_failure: str = "raise", return_info: bool = False,
):
    """``k`` eigenpairs (smallest or largest) of a Hermitian operator, ``A v = λ v`` or ``A v = λ B v``
    (``V^H B V = I``), whose rows are split across the ranks of ``group`` (default: the world
    group), every rank calling with its own rows.

    ``matvec_local``: ``X_local (n_local, m) -> (A X)_local``, rows of this rank in rank order
    (rank 0 the first ``n_local`` global rows); it may communicate (halos) and must run on every rank
    at each call. ``params``: tensors of this rank the product closes over; they get gradients.
    ``B``: ``X_local -> (B X)_local``, Hermitian positive definite, split and called like
    ``matvec_local``; constant (no gradient, as a function ``B`` of :func:`eigengrad.torch.eigsh`);
    LOBPCG only. ``solver``: ``"lobpcg"`` or ``"lanczos"`` (thick-restart Lanczos, basis ``ncv``;
    no ``B``). Returns ``w`` ``(k,)`` (ascending, equal on every rank) and this rank's rows
    ``V_local (n_local, k)`` of the eigenvectors, with an :class:`EigInfo` for ``return_info=True``.

    Reverse mode, ``backward`` called on every rank: the loss differentiated is the SUM of the
    ranks' losses (each rank's loss reads the shared ``w`` and its own rows of ``V``), so a term in
    ``w`` alone belongs to one rank's loss (or is divided by the world size). Forward mode
    (``torch.autograd.forward_ad``, on every rank, each with its own dual ``params`` closed over by
    the product): ``dw`` equal on every rank and this rank's rows of ``dV``. Faults raise as in
    :func:`eigengrad.torch.eigsh`, on every rank alike.
    """
    window.check_hermitian_options(which, None, solver, ROUTINE)
    if solver not in window.NATIVE_HERMITIAN:
        raise ValueError(f"{ROUTINE}: solver must be one of {window.NATIVE_HERMITIAN} (host solvers do not "
                         f"see the other ranks' rows), got {solver!r}")
    if B is not None and (solver != "lobpcg" or not callable(B)):
        raise ValueError(f"{ROUTINE}: B must be a function X_local -> (B X)_local and needs solver='lobpcg', "
                         f"got B of type {type(B).__name__} with solver={solver!r}")
    first, n = _checked(ROUTINE, k, n_local, group, params, gauge, on_failure, limit=0)
    m = min(n, block_size or k + max(4, k))
    if m <= k:
        raise ValueError(f"{ROUTINE}: block_size must exceed k (the extra vectors estimate the next eigenvalue)")
    op = as_operator(matvec_local, n=int(n_local), dtype=dtype, params=list(params), hermitian=True, name="A",
                     routine=ROUTINE)
    opB = None if B is None else as_operator(B, n=int(n_local), dtype=op.dtype, params=(), hermitian=True,
                                             name="B", routine=ROUTINE)
    rdt = torch.empty((), dtype=op.dtype).real.dtype
    tol = default_tol(torch.finfo(rdt).bits) if tol is None else float(tol)
    cfg = _Config(k=k, which=which, solver=solver, ncv=ncv, tol=tol, maxiter=maxiter or 1000,
                  atol=tol if adjoint_tol is None else float(adjoint_tol),
                  amax=adjoint_maxiter or min(2 * n, 20000), sign=-1.0 if which == "largest" else 1.0,
                  rtol=resolve_rtol(cluster_rtol, torch.zeros((), dtype=rdt)), gauge=gauge,
                  on_failure=on_failure, group=group)
    device = op.params[0].device if op.params else torch.device("cpu")
    X0 = global_rows_randn(first, int(n_local), m, op.dtype, device)
    w, V, res, gap, its = _Eigsh.apply(cfg, op, opB, X0, *op.params)
    if not return_info:
        return w, V
    scale = w.detach().abs().max()
    return w, V, EigInfo(res, int(its), gap, rules.gradient_error(res * scale, gap))


def eigs(
    matvec_local: Callable[[torch.Tensor], torch.Tensor], rmatvec_local: Callable[[torch.Tensor], torch.Tensor],
    k: int, *, n_local: int, group=None, params: Sequence[torch.Tensor] = (), which: str = "largest_real",
    dtype: torch.dtype | None = None, tol: float | None = None, maxiter: int | None = None, ncv: int | None = None,
    adjoint_tol: float | None = None, adjoint_maxiter: int | None = None, cluster_rtol: float | None = None,
    gauge: str = "raise", on_failure: str = "raise", return_info: bool = False,
):
    """``k`` eigenpairs ``A v = λ v`` of a general operator whose rows are split across the ranks of
    ``group`` (native Krylov–Schur / Arnoldi), ordered by ``which`` as in
    :func:`eigengrad.torch.eigs`. Complex ``w (k,)``, equal on every rank, and this rank's rows
    ``V_local (n_local, k)`` of the unit-norm eigenvectors.

    ``rmatvec_local``: ``Y_local -> (A^H Y)_local``, for the adjoint solves (the transpose of a product
    that exchanges halos is not obtainable by autograd through it). Reverse mode: the bordered systems
    of :func:`eigengrad.torch.eigs` by block BiCGStab under the row reduction, then one
    ``torch.autograd.grad`` through the local product; the loss is the sum of the ranks' losses, as
    in :func:`eigsh`. Forward mode (``torch.autograd.forward_ad``) as in :func:`eigsh`, by the
    transposed bordered systems. Eigenvalues must be simple.
    """
    window.check_general_options(which, None, "arnoldi", GENERAL)
    first, n = _checked(GENERAL, k, n_local, group, params, gauge, on_failure, limit=1)
    op = as_operator(matvec_local, n=int(n_local), dtype=dtype, params=list(params), hermitian=False, name="A",
                     routine=GENERAL)
    opH = as_operator(rmatvec_local, n=int(n_local), dtype=op.dtype, params=None, hermitian=False, name="A^H",
                      routine=GENERAL)
    rdt = torch.empty((), dtype=op.dtype).real.dtype
    tol = default_tol(torch.finfo(rdt).bits) if tol is None else float(tol)
    cfg = _Config(k=k, which=which, solver="arnoldi", ncv=ncv, tol=tol, maxiter=maxiter or 1000,
                  atol=tol if adjoint_tol is None else float(adjoint_tol),
                  amax=adjoint_maxiter or max(1000, min(20 * n, 20000)), sign=1.0,
                  rtol=resolve_rtol(cluster_rtol, torch.zeros((), dtype=rdt)), gauge=gauge,
                  on_failure=on_failure, group=group)
    device = op.params[0].device if op.params else torch.device("cpu")
    x0 = global_rows_randn(first, int(n_local), 1, op.dtype, device)
    w, V, res, gap = _Eigs.apply(cfg, op, opH, x0, *op.params)
    if not return_info:
        return w, V
    scale = w.detach().abs().max()
    return w, V, EigInfo(res, -1, gap, rules.gradient_error(res * scale, gap))
