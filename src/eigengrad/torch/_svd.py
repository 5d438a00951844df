"""PyTorch registration of the thin SVD: an ``autograd.Function`` whose ``backward`` is the neutral
VJP of ``eigengrad._rules.svd`` (differentiable, so double backward is exact) and ``jvp`` the neutral
JVP, with ``torch.func`` support through ``generate_vmap_rule``."""

from __future__ import annotations

import torch

from .. import _report, _validation
from .._backend import diag_embed
from .._rules import svd as rules
from .._rules.clusters import resolve_rtol
from ._eig import prepare
from ._function import check_finite, check_tangent, flagged, host, plain_mode, readable, save_outputs, scaled, unscaled


def _check_cotangents(gauge, s, same, zero, U, V, sbar, Ubar, Vbar, Xu, Xv):
    if gauge == "ignore":
        return
    got = readable(s, same, zero, U, V, sbar, Ubar, Vbar, Xu, Xv)
    if got is None:
        return
    s, same, zero, U, V, sbar, Ubar, Vbar, Xu, Xv = got
    m, k, n = U.shape[-2], U.shape[-1], V.shape[-2]
    with plain_mode():
        checks = []
        if Xu is not None or Xv is not None:
            checks.append(rules.svd_gauge_defect(Xu, Xv, same, zero))
        for Q, Qbar, extra in ((U, Ubar, m > k), (V, Vbar, n > k)):
            if extra and Qbar is not None and bool(zero.any()):
                d, scale = rules.svd_null_defect(Q, Qbar, zero)
                checks.append((diag_embed(d), scale))
        for defect, scale in checks:
            if flagged(defect, scale):
                _report.report_svd(host(s), host(defect), host(scale), host(zero), gauge, "svd")
        if sbar is not None:
            spread, at_zero, scale = rules.value_defects(sbar, same, zero)
            if flagged(spread, scale) or flagged(at_zero, scale):
                _report.report_singular_values(host(s), host(spread), host(at_zero), host(scale), gauge, "svd")


class _Svd(torch.autograd.Function):
    generate_vmap_rule = True

    @staticmethod
    def forward(A, rtol, gauge):
        U, s, Vh = torch.linalg.svd(A, full_matrices=False)
        return U, s, Vh

    @staticmethod
    def setup_context(ctx, inputs, output):
        _, ctx.rtol, ctx.gauge = inputs
        save_outputs(ctx, output)

    @staticmethod
    def backward(ctx, Ubar, sbar, Vhbar):
        U, s, Vh = ctx.saved_tensors
        V, Vbar = Vh.mH, (None if Vhbar is None else Vhbar.mH)
        same, zero = rules.svd_clusters(s, ctx.rtol)
        Xu, Xv = rules.svd_cotangents(U, V, Ubar, Vbar)
        _check_cotangents(ctx.gauge, s, same, zero, U, V, sbar, Ubar, Vbar, Xu, Xv)
        return rules.svd_vjp(U, s, V, sbar, Ubar, Vbar, Xu, Xv, *rules.gap_factors(s, same, zero)), None, None

    @staticmethod
    def jvp(ctx, dA, *_):
        U, s, Vh = ctx.saved_tensors
        same, zero = rules.svd_clusters(s, ctx.rtol)
        check_tangent(rules.svd_coupling_defect, (U, s, Vh.mH, dA, same, zero), ctx.gauge, "svd")
        return rules.svd_jvp(U, s, Vh.mH, dA, *rules.gap_factors(s, same, zero))


def _prepare(A, routine, full_matrices):
    _validation.check_thin_svd(full_matrices, routine)
    return prepare(A, routine, square=False)


def svd(A: torch.Tensor, full_matrices: bool = False, *, cluster_rtol: float | None = None,
        gauge: str = "raise") -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Thin SVD ``A = U diag(s) Vh`` of an ``m x n`` matrix (tall, wide or square; real or complex;
    batched): ``U`` ``m x k``, ``s`` descending, ``Vh`` ``k x n``, ``k = min(m, n)``.

    Derivatives (backward, double backward, forward mode, ``torch.func``) keep ``U^H U = V^H V = I``
    and split the phase of each pair ``(u_i, v_i)`` evenly. Singular values closer than
    ``cluster_rtol * s_max`` (default ``sqrt(eps)``) form clusters without ``1/(s_j² - s_i²)``, exact
    for losses invariant to a common rotation inside a cluster; the cluster of singular values
    ``<= cluster_rtol * s_max`` is treated as zero (``S⁺ = 0``), exact for losses blind to its
    undetermined singular vectors (such as ``U diag(f(s)) Vh`` with ``f(0) = 0``). Other losses raise
    :class:`eigengrad.errors.GaugeError` in ``backward`` (``gauge="raise"``; ``"warn"``, ``"ignore"``;
    skipped under ``vmap``), naming the phase, cluster or zero singular value at fault.

    Input checks, exact power-of-two rescaling, empty inputs and the forward-mode warning: as
    :func:`eigengrad.torch.eigh`.

    >>> import torch, eigengrad.torch as et
    >>> U, s, Vh = et.svd(torch.tensor([[3.0, 0.0], [0.0, 4.0], [0.0, 0.0]], dtype=torch.float64))
    >>> s.tolist()
    [4.0, 3.0]
    """
    _report.check_mode(gauge)
    A, e = _prepare(A, "svd", full_matrices)
    rtol = resolve_rtol(cluster_rtol, A)
    if A.numel() == 0:  # PyTorch's own routine and backward, which return empty gradients
        return torch.linalg.svd(A, full_matrices=False)
    if e is None:
        return _Svd.apply(A, rtol, gauge)
    U, s, Vh = _Svd.apply(scaled(A, e), rtol, gauge)
    s = unscaled(s, e)
    check_finite(s, "svd")
    return U, s, Vh


def svdvals(A: torch.Tensor, *, cluster_rtol: float | None = None, gauge: str = "raise") -> torch.Tensor:
    """Singular values of ``A``, descending (see :func:`svd`): ``ds_i = Re u_i^H dA v_i``. Weighting
    the values of one cluster unequally, or a zero singular value at all (a kink of ``|x|``), warns
    with :class:`eigengrad.errors.DegeneracyWarning`.

    >>> import torch, eigengrad.torch as et
    >>> A = torch.tensor([[1.0, 2.0], [3.0, 4.0]], dtype=torch.float64, requires_grad=True)
    >>> (et.svdvals(A) ** 2).sum().backward()       # d |A|_F² / dA = 2A
    >>> bool(torch.allclose(A.grad, 2 * A))
    True
    """
    return svd(A, cluster_rtol=cluster_rtol, gauge=gauge)[1]
