"""PyTorch registration of the general eigenproblem: an ``autograd.Function`` whose ``backward`` is
the neutral VJP of ``eigengrad._rules.eig`` (in differentiable torch operations, so double backward
is exact), ``jvp`` the neutral JVP, with ``torch.func`` support through ``generate_vmap_rule``."""

from __future__ import annotations

import torch

from .. import _report, _validation
from .._rules import eig as rules
from .._rules.clusters import coupling_defect, inverse_gaps, resolve_rtol
from ._function import (check_finite, check_tangent, check_tensor, flagged, has_clusters, host, plain_mode, readable, save_outputs,
                        scale_exponent, scaled, unscaled)


def _warn_conditioning(w, Vinv, same, rtol, routine):
    got = readable(w, Vinv, same)
    if got is None:
        return
    w, Vinv, same = got
    with plain_mode():
        eta, kappa, index = rules.conditioning(w, Vinv, same)
        if bool((~(eta >= rtol)).any()):
            _report.report_conditioning(host(w), host(eta), host(kappa), host(index), rtol=rtol, routine=routine)


def _check_cotangents(gauge, routine, w, same, wbar, Mbar, W, Wbar):
    if gauge == "ignore":
        return
    got = readable(w, same, wbar, Mbar, W, Wbar)
    if got is None:
        return
    w, same, wbar, Mbar, W, Wbar = got
    with plain_mode():
        checks = []
        if Mbar is not None:
            if has_clusters(same):
                checks.append((_report.report_vectors, rules.basis_defect(Mbar, same)))
            checks.append((_report.report_vectors, rules.phase_defect(W, Wbar)))
        if wbar is not None:
            checks.append((_report.report_values, (rules.value_spread(wbar, same), torch.amax(wbar.abs(), dim=-1))))
        for report, (defect, scale) in checks:
            if flagged(defect, scale):
                report(host(w), host(defect), host(scale), gauge, routine)


class _Eig(torch.autograd.Function):
    generate_vmap_rule = True

    @staticmethod
    def forward(A, rtol, gauge, left):
        w, V = torch.linalg.eig(A)
        return (w, rules.inv(V).mH.resolve_conj().contiguous(), V) if left else (w, V)

    @staticmethod
    def setup_context(ctx, inputs, output):
        A, ctx.rtol, ctx.gauge, ctx.left = inputs
        ctx.real = not A.is_complex()
        save_outputs(ctx, output)

    @staticmethod
    def _factors(ctx, saved):
        w, V = saved[0], saved[-1]
        Vinv = saved[1].mH if ctx.left else rules.inv(V)
        same = rules.eig_clusters(w, ctx.rtol)
        _warn_conditioning(w, Vinv, same, ctx.rtol, "eig")
        return w, V, Vinv, same

    @staticmethod
    def backward(ctx, wbar, *vbars):
        w, V, Vinv, same = _Eig._factors(ctx, ctx.saved_tensors)
        Vbar, VLbar = vbars[-1], (vbars[0] if ctx.left else None)
        Mbar = W = Wbar = None
        if Vbar is not None or VLbar is not None:
            Mbar = rules.eig_cotangents(V, Vinv, Vbar, VLbar)
            W, Wbar = V, (torch.zeros_like(V) if Vbar is None else Vbar)
            if ctx.left:
                VLbar = torch.zeros_like(V) if VLbar is None else VLbar
                W, Wbar = torch.cat([V, Vinv.mH], dim=-2), torch.cat([Wbar, VLbar], dim=-2)
        _check_cotangents(ctx.gauge, "eig", w, same, wbar, Mbar, W, Wbar)
        Abar = rules.eig_vjp(V, Vinv, wbar, Mbar, inverse_gaps(w, same))
        return (Abar.real if ctx.real else Abar), None, None, None

    @staticmethod
    def jvp(ctx, dA, *_):
        w, V, Vinv, same = _Eig._factors(ctx, ctx.saved_tensors)
        check_tangent(lambda w, V, Vinv, dA, same: coupling_defect(Vinv @ (dA.to(V.dtype) @ V), w, same),
                      (w, V, Vinv, dA, same), ctx.gauge, "eig")
        dw, dV, dVL = rules.eig_jvp(w, V, Vinv, dA, inverse_gaps(w, same), left=ctx.left)
        return (dw, dVL.contiguous(), dV.contiguous()) if ctx.left else (dw, dV)


def prepare(A, routine: str, square: bool = True) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Validated ``A`` and the binary exponents to rescale it by (``scale_exponent``) when its entries
    lie outside ``_validation.needs_scaling``'s range, else None (also under ``vmap``)."""
    check_tensor(A, "A", routine)
    _validation.check_matrix(A, "A", routine, square=square)
    plain = readable(A)
    if plain is None:
        return A, None
    with plain_mode():
        amax = _validation.check_values(plain[0].detach(), "A", routine, hermitian=False)
        return A, (scale_exponent(amax) if _validation.needs_scaling(amax, A.dtype) else None)


def eig(A: torch.Tensor, left: bool = False, *, cluster_rtol: float | None = None,
        gauge: str = "raise") -> tuple[torch.Tensor, ...]:
    """Eigenvalues and right eigenvectors of a general square ``A`` (``A V = V diag(w)``), and with
    ``left=True`` the left eigenvectors ``VL`` (``VL^H A = diag(w) VL^H``); batched. Returns
    ``(w, V)`` or ``(w, VL, V)``, always complex; gradients of a real ``A`` are real.

    Conventions, honoured by the derivatives: eigenvalues in LAPACK's order (unsorted; a real
    ``A``'s conjugate pairs adjacent, positive imaginary part first), which derivatives assume
    locally constant; each ``v_i`` of unit 2-norm; ``VL = V^{-H}`` so ``VL^H V = I``. Derivatives
    (backward, double backward, forward mode, ``torch.func``): ``dw_i = vl_i^H dA v_i``,
    ``dV = V C`` with ``C_ij = vl_i^H dA v_j / (w_j - w_i)`` off the diagonal and ``v_j^H dv_j = 0``;
    pairs in a cluster (``|w_i - w_j| <= cluster_rtol * max|w|`` chained, default ``sqrt(eps)``) get
    no ``1/(w_j - w_i)``, exact for losses that see a cluster only through its invariant subspace. A
    loss depending on the phase of ``v_i`` or the basis inside a cluster raises
    :class:`eigengrad.errors.GaugeError` in ``backward`` (``gauge="raise"``; ``"warn"``, ``"ignore"``;
    skipped under ``vmap``). A nearly defective ``A`` gets a
    :class:`eigengrad.errors.ConditioningWarning` with the condition estimate.

    Input checks, exact power-of-two rescaling, empty inputs and the forward-mode warning: as
    :func:`eigengrad.torch.eigh`.

    >>> import torch, eigengrad.torch as et
    >>> w, V = et.eig(torch.tensor([[2.0, 1.0], [0.0, 3.0]], dtype=torch.float64))
    >>> w.tolist()
    [(2+0j), (3+0j)]
    """
    _report.check_mode(gauge)
    left = _validation.check_flag(left, "left", "eig")
    A, e = prepare(A, "eig")
    rtol = resolve_rtol(cluster_rtol, A)
    if A.numel() == 0:  # PyTorch's own routine and backward, which return empty gradients
        w, V = torch.linalg.eig(A)
        return (w, V, V) if left else (w, V)
    out = _Eig.apply(A if e is None else scaled(A, e), rtol, gauge, left)
    if left:
        w, VL = out[0].detach(), out[1].detach()
        _warn_conditioning(w, VL.mH, rules.eig_clusters(w, rtol), rtol, "eig")
    if e is None:
        return out
    w = unscaled(out[0], e)
    check_finite(w, "eig")
    return (w, *out[1:])


def eigvals(A: torch.Tensor, *, cluster_rtol: float | None = None, gauge: str = "raise") -> torch.Tensor:
    """Eigenvalues of a general square ``A`` in LAPACK's order (see :func:`eig`), complex;
    ``dw_i = vl_i^H dA v_i`` with ``vl_i^H v_i = 1``.

    >>> import torch, eigengrad.torch as et
    >>> A = torch.tensor([[1.0, 2.0], [3.0, 4.0]], dtype=torch.float64, requires_grad=True)
    >>> et.eigvals(A).real.sum().backward()      # d tr(A) / dA = I
    >>> bool(torch.allclose(A.grad, torch.eye(2, dtype=torch.float64)))
    True
    """
    return eig(A, cluster_rtol=cluster_rtol, gauge=gauge)[0]
