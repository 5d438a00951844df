"""Derivative rules of the general (non-Hermitian) eigenproblem (docs/derivations.md §2, §6).

Conventions: ``A V = V diag(w)``, eigenvalues in the order the solver returned them, every right
eigenvector of unit 2-norm; left eigenvectors ``VL = V^{-H}`` (so ``VL^H V = I`` and
``VL^H A = diag(w) VL^H``). ``Vinv = V^{-1} = VL^H``. Tangents follow ``dV = V C``: the unit norm
and the phase are fixed by ``v_j^H dv_j = 0``, which also makes ``dVL = -VL C^H``. Cotangents follow
``dL = Re tr(Ā^H dA)``. ``F`` is ``clusters.inverse_gaps(w, same)``: zero for eigenvalue pairs in one
cluster, which is exact for every loss that sees a cluster only through its invariant subspace.

The gauge of a diagonalizable eigendecomposition is ``V -> V R`` with ``R`` invertible, block
diagonal on clusters and unit-norm preserving. A loss is invariant exactly when the cotangent
``C̄ = V^H V̄ - V̄L^H VL`` of ``C`` has a real diagonal (phases) and when
``M̄ = C̄ - (V^H V) diag(C̄)`` vanishes on the off-diagonal cluster blocks (basis inside a cluster).
"""

from __future__ import annotations

from typing import Callable

from .._backend import Array, astype, diag_embed, diagonal, imag, is_jax, is_torch, mH, mT, namespace, stop_gradient
from .clusters import general_clusters, tolerance

Hook = Callable[[str, Array], Array]


def _identity(kind: str, t: Array) -> Array:
    return t


def inv(V: Array) -> Array:
    """``V^{-1}``; a numerically singular ``V`` gives inf/NaN entries instead of an exception (the
    caller reports it as a :class:`~eigengrad.errors.ConditioningWarning`)."""
    xp = namespace(V)
    if is_torch(xp):
        import torch

        return torch.linalg.inv_ex(V).inverse
    return xp.linalg.inv(V)


def eig_clusters(w: Array, rtol: float) -> Array:
    """``clusters.general_clusters`` without its ``log2 n`` boolean products when no two eigenvalues
    are within the tolerance (the usual case): then the cluster mask is the identity."""
    xp = namespace(w)
    ws = stop_gradient(w)
    n = w.shape[-1]
    near = xp.abs(ws[..., :, None] - ws[..., None, :]) <= tolerance(ws, rtol)[..., None]
    if n < 3:  # closure is trivial for pairs
        return near
    if is_jax(xp):
        import jax

        return jax.lax.cond(xp.sum(near) > near.size // n, lambda: general_clusters(ws, rtol), lambda: near)
    if is_torch(xp):
        import torch

        if not torch._C._functorch.is_functorch_wrapped_tensor(ws) and int(near.sum()) == near.numel() // n:
            return near
    return general_clusters(ws, rtol)


def conditioning(w: Array, Vinv: Array, same: Array) -> tuple[Array, Array, Array]:
    """Closeness to a defective matrix, per matrix: ``(eta, kappa, index)``.

    ``kappa_i = |vl_i| |v_i| / |vl_i^H v_i| = |vl_i|`` is the condition number of eigenvalue ``i``;
    ``eta = min_i min(1, gap_i / max|w|) / kappa_i``, with ``gap_i`` the distance from ``w_i`` to the
    nearest eigenvalue outside its cluster, estimates the relative distance to the nearest matrix
    with a multiple defective eigenvalue (Wilkinson). ``index`` is the minimising eigenvalue.
    """
    xp = namespace(Vinv)
    w, Vinv = stop_gradient(w), stop_gradient(Vinv)
    kappa = xp.sqrt(xp.sum(xp.abs(Vinv) ** 2, axis=-1))  # row i of V^{-1} is vl_i^H
    d = xp.abs(w[..., :, None] - w[..., None, :])
    scale = xp.max(xp.abs(w), axis=-1, keepdims=True)
    inf = xp.full_like(d, float("inf"))
    gap = xp.min(xp.where(same, inf, d), axis=-1)
    pos = scale > 0
    rel = xp.where(pos, gap / xp.where(pos, scale, xp.ones_like(scale)), xp.ones_like(gap))
    rel = xp.minimum(rel, xp.ones_like(rel))
    eta_i = xp.where(xp.isfinite(kappa), rel / kappa, xp.zeros_like(kappa))
    return xp.min(eta_i, axis=-1), xp.max(kappa, axis=-1), xp.argmin(eta_i, axis=-1)


def eigvals_jvp(V: Array, Vinv: Array, dA: Array) -> Array:
    """``dw = diag(V^{-1} dA V)``, one matrix product."""
    xp = namespace(V)
    return xp.sum(mH(xp.conj(Vinv)) * (astype(dA, V.dtype) @ V), axis=-2)


def eig_jvp_values(V: Array, Vinv: Array, dA: Array, F: Array) -> tuple[Array, Array]:
    """First stage of :func:`eig_jvp`: ``P = V^{-1} dA V``, returns ``(dw = diag P, M = F ∘ P)``."""
    P = Vinv @ (astype(dA, V.dtype) @ V)
    return diagonal(P), F * P


def eig_jvp_vectors(V: Array, Vinv: Array, M: Array, left: bool) -> Array:
    """Second stage of :func:`eig_jvp`: ``dV = V C`` with ``C = M - diag(diag(V^H V M))``; with
    ``left``, ``[dV; dVL]`` stacked by rows, ``dVL = -VL C^H``."""
    xp = namespace(V)
    VM = V @ M
    c = xp.sum(xp.conj(V) * VM, axis=-2)
    dV = VM - V * c[..., None, :]
    return xp.concat([dV, -mH(Vinv) @ mH(M - diag_embed(c))], axis=-2) if left else dV


def eig_jvp(
    w: Array, V: Array, Vinv: Array, dA: Array, F: Array, *, left: bool = False, hook: Hook = _identity
) -> tuple[Array, Array, Array | None]:
    """``P = V^{-1} dA V``, ``dw = diag P``, ``dV = V C`` with ``C = M - diag(diag(V^H V M))`` and
    ``M = F ∘ P``; ``dVL = -VL C^H`` when ``left``. Returns ``(dw, dV, dVL or None)``.

    ``hook("eig_basis", M)`` and ``hook("eig_phase", dV)`` (``[dV; dVL]`` stacked by rows when
    ``left``) must return their argument: a front end uses them to watch the cotangents ``M̄`` (basis
    inside clusters) and ``V̄`` (phases, see :func:`phase_defect`).
    """
    dw, M = eig_jvp_values(V, Vinv, dA, F)
    T = hook("eig_phase", eig_jvp_vectors(V, Vinv, hook("eig_basis", M), left))
    n = V.shape[-1]
    return (dw, T[..., :n, :], T[..., n:, :]) if left else (dw, T, None)


def eig_cotangents(V: Array, Vinv: Array, Vbar: Array | None, VLbar: Array | None) -> Array:
    """``M̄ = C̄ - (V^H V) diag(C̄)`` with ``C̄ = V^H V̄ - V̄L^H VL``, computed without ``V^H V`` as
    ``V^H (V̄ - V diag C̄) - V̄L^H VL``; the cotangent of ``M`` in :func:`eig_jvp`."""
    xp = namespace(V)
    Vbar = xp.zeros_like(V) if Vbar is None else Vbar
    cbar = xp.sum(xp.conj(V) * Vbar, axis=-2)
    if VLbar is not None:
        VL = mH(Vinv)
        cbar = cbar - xp.sum(xp.conj(VLbar) * VL, axis=-2)
    Mbar = mH(V) @ (Vbar - V * cbar[..., None, :])
    return Mbar - mH(VLbar) @ VL if VLbar is not None else Mbar


def eig_vjp(V: Array, Vinv: Array, wbar: Array | None, Mbar: Array | None, F: Array) -> Array:
    """``Ā = V^{-H} [diag(w̄) + conj(F) ∘ M̄] V^H`` (``M̄`` from :func:`eig_cotangents`)."""
    xp = namespace(V)
    K = xp.zeros_like(V) if Mbar is None else xp.conj(F) * Mbar
    if wbar is not None:
        K = K + diag_embed(astype(wbar, V.dtype))
    return mH(Vinv) @ (K @ mH(V))


def basis_defect(Mbar: Array, same: Array) -> tuple[Array, Array]:
    """``(defect, scale)``: ``|M̄|`` on the off-diagonal cluster blocks (zero for losses invariant to
    the basis inside every cluster) and ``max|M̄|``."""
    xp = namespace(Mbar)
    size = xp.abs(Mbar)
    on = xp.where(same, size, xp.zeros_like(size))
    on = xp.maximum(on, mT(on))  # symmetric, so that each pair shows in the upper triangle
    return on - diag_embed(diagonal(on)), xp.max(size, axis=(-2, -1))


def phase_defect(W: Array, Wbar: Array) -> tuple[Array, Array]:
    """``(defect, scale)`` for the phases: ``W = V`` (or ``[V; VL]`` stacked by rows) and its
    cotangent; ``defect = diag |Im Σ_rows conj(W) ∘ W̄|`` (``= |Im diag C̄|``), ``scale`` the largest
    ``Σ_rows |W ∘ W̄|``, which bounds it."""
    xp = namespace(W)
    a = xp.conj(W) * Wbar
    return diag_embed(xp.abs(imag(xp.sum(a, axis=-2)))), xp.max(xp.sum(xp.abs(a), axis=-2), axis=-1)


def value_spread(wbar: Array, same: Array) -> Array:
    """Largest ``|w̄_i - w̄_j|`` (complex) over pairs in one cluster: nonzero when a loss weights the
    eigenvalues of a degenerate cluster unequally, where they are not differentiable."""
    xp = namespace(wbar)
    d = xp.abs(wbar[..., :, None] - wbar[..., None, :])
    return xp.max(xp.where(same, d, xp.zeros_like(d)), axis=(-2, -1))
