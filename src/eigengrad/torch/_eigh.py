"""PyTorch registration of the Hermitian rules: ``autograd.Function``s whose ``backward`` is the
neutral VJP, ``jvp`` the neutral JVP, with ``torch.func`` (vmap) support. The backward is written in
differentiable torch operations on the saved outputs, so higher derivatives are exact."""

from __future__ import annotations

import torch

from .. import _forward, _report, _validation
from .._backend import herm, mH
from .._rules import eigh as rules
from .._rules.clusters import cluster_spread, coupling_defect, inverse_gaps, resolve_rtol, skew_defect, skew_part, sorted_clusters
from ._function import (check_finite, check_tangent, check_tensor, flagged, has_clusters, host, plain_mode, readable, save_outputs,
                        scale_exponent, scaled, unscaled)


def _check_cotangents(w, X, wbar, same, gauge, routine, Xs=None):
    """Gauge check of a backward pass: ``X = V^H V̄`` on cluster blocks, ``w̄`` inside clusters.

    ``Xs``, the skew part of ``X``, saves recomputing it when the caller has it. Runs on the plain
    values (also inside ``torch.func.grad``/``jacfwd``; skipped under ``vmap``), decides on the
    device, and moves matrices to the host only to describe a violation."""
    if gauge == "ignore":
        return
    plain = readable(w, X, Xs, wbar, same)
    if plain is None:
        return
    w, X, Xs, wbar, same = plain
    with plain_mode():
        clusters = has_clusters(same)
        if X is not None:
            scale = torch.linalg.vector_norm(X, ord=float("inf"), dim=(-2, -1))
            if clusters:
                worst = skew_defect(X if Xs is None else Xs, same, skew=Xs is not None)
            else:  # only phases can change: |Im X_ii| (none for a real X, whose gauge is a sign)
                worst = X.diagonal(dim1=-2, dim2=-1).imag.abs().amax(dim=-1) if X.is_complex() else 0 * scale
            if flagged(worst, scale):
                _report.report_vectors(host(w), host(skew_defect(X, same)), host(scale), gauge, routine)
        if wbar is not None and clusters:
            spread, scale = cluster_spread(wbar, same), torch.amax(wbar.abs(), dim=-1)
            if flagged(spread, scale):
                _report.report_values(host(w), host(spread), host(scale), gauge, routine)


def _cotangents(w, V, wbar, Vbar):
    """Materialised ``w̄`` and ``X = V^H V̄`` (None cotangents are zero)."""
    wbar = torch.zeros_like(w) if wbar is None else wbar
    X = torch.zeros_like(V) if Vbar is None else mH(V) @ Vbar
    return wbar, X


def _pencil_coupling(w, V, dA, dB, same):
    return coupling_defect(V.mH @ dA @ V - (V.mH @ dB @ V) * w[..., None, :], w, same)


class _Eigh(torch.autograd.Function):
    generate_vmap_rule = True

    @staticmethod
    def forward(A, rtol, gauge):
        return _forward.eigh(herm(A))  # the backward's Ā is Hermitian: herm's adjoint is a no-op on it

    @staticmethod
    def setup_context(ctx, inputs, output):
        _, ctx.rtol, ctx.gauge = inputs
        save_outputs(ctx, output)

    @staticmethod
    def backward(ctx, wbar, Vbar):
        w, V = ctx.saved_tensors
        same = sorted_clusters(w, ctx.rtol)
        X = None if Vbar is None else mH(V) @ Vbar
        Xs = None if X is None else skew_part(X)
        _check_cotangents(w, X, wbar, same, ctx.gauge, "eigh", Xs=Xs)
        wbar = torch.zeros_like(w) if wbar is None else wbar
        F = None if Xs is None else inverse_gaps(w, same)
        return rules.eigh_vjp(w, V, wbar, Xs, F), None, None

    @staticmethod
    def jvp(ctx, dA, _rtol, _gauge):
        w, V = ctx.saved_tensors
        same = sorted_clusters(w, ctx.rtol)
        dA = herm(dA)
        check_tangent(lambda w, V, dA, same: coupling_defect(V.mH @ dA @ V, w, same), (w, V, dA, same), ctx.gauge, "eigh")
        return rules.eigh_jvp(w, V, dA, inverse_gaps(w, same))


class _GEigh(torch.autograd.Function):
    generate_vmap_rule = True

    @staticmethod
    def forward(A, B, rtol, gauge):
        return _forward.geigh(herm(A), herm(B))

    @staticmethod
    def setup_context(ctx, inputs, output):
        A, _, ctx.rtol, ctx.gauge = inputs
        ctx.set_materialize_grads(False)
        ctx.save_for_backward(*output, A)  # A: V^H A V for exact double backward at clusters
        ctx.save_for_forward(*output)

    @staticmethod
    def backward(ctx, wbar, Vbar):
        w, V, A = ctx.saved_tensors
        same = sorted_clusters(w, ctx.rtol)
        wbar0 = wbar
        wbar, X = _cotangents(w, V, wbar, Vbar)
        _check_cotangents(w, None if Vbar is None else X, wbar0, same, ctx.gauge, "eigh(A, B)")
        L = V.mH @ herm(A) @ V if has_clusters(same) else None
        Abar, Bbar = rules.geigh_vjp(w, V, wbar, X, inverse_gaps(w, same), same, L)
        return Abar, Bbar, None, None

    @staticmethod
    def jvp(ctx, dA, dB, _rtol, _gauge):
        w, V = ctx.saved_tensors
        same = sorted_clusters(w, ctx.rtol)
        dA = torch.zeros_like(V) if dA is None else dA
        dB = torch.zeros_like(V) if dB is None else dB
        dA, dB = herm(dA), herm(dB)
        check_tangent(_pencil_coupling, (w, V, dA, dB, same), ctx.gauge, "eigh(A, B)")
        return rules.geigh_jvp(w, V, dA, dB, inverse_gaps(w, same), same)


def _prepare(A, B, routine):
    """Validated ``A`` (and ``B``, promoted and broadcast) and the plain per-matrix maxima of their
    entries when they call for rescaling (``_validation.needs_scaling``), else None."""
    check_tensor(A, "A", routine)
    _validation.check_matrix(A, "A", routine)
    if B is not None:
        check_tensor(B, "B", routine)
        _validation.check_matrix(B, "B", routine)
        _validation.check_pair(A, B, routine)
        dtype = torch.promote_types(A.dtype, B.dtype)
        A, B = A.to(dtype), B.to(dtype)
        batch = torch.broadcast_shapes(A.shape[:-2], B.shape[:-2])
        A, B = A.expand(batch + A.shape[-2:]), B.expand(batch + B.shape[-2:])
    amaxes, scale = [], False
    for M, name in ((A, "A"), (B, "B")):
        plain = None if M is None else readable(M)
        if plain is not None:  # also inside torch.func.grad; not under vmap
            with plain_mode():
                amax = _validation.check_values(plain[0].detach(), name, routine, hermitian=True)
                scale = scale or _validation.needs_scaling(amax, M.dtype)
            amaxes.append(amax)
    return A, B, (amaxes if scale else None)


def _solve(A, B, rtol, gauge, amaxes):
    """``(w, V)``, rescaled by powers of two when ``amaxes`` are given (exact; no overflow in
    ``(A + A^H)/2`` near the top of the range, no underflow at the bottom)."""
    if B is None:
        if amaxes is None:
            return _Eigh.apply(A, rtol, gauge)
        e = scale_exponent(amaxes[0])
        w, V = _Eigh.apply(scaled(A, e), rtol, gauge)
        return unscaled(w, e), V
    if amaxes is None:
        return _GEigh.apply(A, B, rtol, gauge)
    ea, eb = scale_exponent(amaxes[0]), scale_exponent(amaxes[1], even=True)
    w, V = _GEigh.apply(scaled(A, ea), scaled(B, eb), rtol, gauge)  # λ = λs 2^(ea-eb), V = Vs 2^(-eb/2)
    return unscaled(unscaled(w, ea), -eb), unscaled(V, -eb // 2)


def eigh(A: torch.Tensor, B: torch.Tensor | None = None, *, cluster_rtol: float | None = None,
         gauge: str = "raise") -> tuple[torch.Tensor, torch.Tensor]:
    """Eigenvalues (ascending) and eigenvectors (columns) of a Hermitian ``A``, or of the
    Hermitian-definite pencil ``A v = λ B v`` with ``V^H B V = I``; batched over leading axes.

    The input is read as ``herm(A) = (A + A^H)/2`` (after a check that it is Hermitian to
    ``sqrt(eps)``), so gradients are Hermitian. ``dλ_i = v_i^H (dA - λ_i dB) v_i``; eigenvector
    derivatives drop ``1/(λ_j - λ_i)`` inside clusters closer than ``cluster_rtol * max|λ|`` (default
    ``sqrt(eps)``), exact for every loss that sees a cluster only through its subspace. A
    gauge-dependent loss raises :class:`eigengrad.errors.GaugeError` in ``backward``
    (``gauge="raise"``), warns (``"warn"``) or is accepted (``"ignore"``). Supports ``backward``,
    double backward, forward-mode AD and ``torch.func`` (the gauge check is skipped inside
    ``torch.func`` transforms, whose values cannot be read).

    Input: a dense (strided) float32/float64/complex64/complex128 tensor with values (integer and
    half precision dtypes, sparse layouts, meta tensors, non-finite entries and malformed options
    raise an error naming the argument). Matrices with entries outside ``2^±(emax/8)`` are rescaled
    by a power of two, exactly (not under ``vmap``); results beyond the range raise
    ``OverflowError``. Empty inputs use PyTorch's own routine (empty gradients). The gauge checks
    step aside under ``vmap`` and legacy batching (``jacobian(vectorize=True)``). Forward mode warns
    (:class:`eigengrad.errors.GaugeWarning`) when a tangent couples two resolved members of one
    cluster, a coupling the rule drops.

    >>> import torch, eigengrad.torch as et
    >>> w, V = et.eigh(torch.tensor([[2.0, 1.0], [1.0, 2.0]], dtype=torch.float64))
    >>> w.tolist()
    [1.0, 3.0]
    """
    routine = "eigh" if B is None else "eigh(A, B)"
    _report.check_mode(gauge)
    A, B, amaxes = _prepare(A, B, routine)
    rtol = resolve_rtol(cluster_rtol, A)
    if A.numel() == 0:  # PyTorch's own routine and backward, which return empty gradients
        return torch.linalg.eigh(A if B is None else A + 0 * B)
    try:
        w, V = _solve(A, B, rtol, gauge, amaxes)
    except torch.linalg.LinAlgError:  # the Cholesky factorisation of B failed
        raise _validation.not_positive_definite(routine) from None
    check_finite(w, routine)
    return w, V


def eigvalsh(A: torch.Tensor, B: torch.Tensor | None = None, *, cluster_rtol: float | None = None,
             gauge: str = "raise") -> torch.Tensor:
    """Eigenvalues (ascending) of Hermitian ``A`` or of the pencil ``(A, B)``; see :func:`eigh`.

    >>> import torch, eigengrad.torch as et
    >>> A = torch.eye(3, dtype=torch.float64, requires_grad=True)
    >>> et.eigvalsh(A).sum().backward()       # d tr(A) / dA = I
    >>> bool(torch.allclose(A.grad, torch.eye(3, dtype=torch.float64)))
    True
    """
    return eigh(A, B, cluster_rtol=cluster_rtol, gauge=gauge)[0]
