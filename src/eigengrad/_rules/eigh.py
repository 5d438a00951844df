"""Derivative rules of the Hermitian eigenproblem, standard and generalized (docs/derivations.md §1, §4).

Conventions: ``A = V diag(w) V^H`` with ``w`` ascending; for the generalized problem
``A V = B V diag(w)`` with ``V^H B V = I``. Tangents are ``dA``, ``dB`` (Hermitian); cotangents
follow ``dL = Re tr(Ā^H dA)`` (so ``Ā = ∂L/∂Re A + i ∂L/∂Im A``). ``F`` is the gap matrix of
``clusters.inverse_gaps`` (zero inside a cluster), ``same`` the cluster mask. The gauge of the
eigenvectors is fixed by ``V^H dV`` having no Hermitian part inside clusters beyond what the
normalisation demands (zero for the standard problem, ``-½ V^H dB V`` for the generalized one).
"""

from __future__ import annotations

from .._backend import Array, diag_embed, diagonal, herm, is_complex, mH, mT, namespace, real, stop_gradient
from .clusters import like


def eigh_jvp(w: Array, V: Array, dA: Array, F: Array) -> tuple[Array, Array]:
    """``dw = Re diag(V^H dA V)``, ``dV = V (F ∘ V^H dA V)``."""
    P = mH(V) @ dA @ V
    return real(diagonal(P)), V @ (like(F, P) * P)


def eigh_vjp(w: Array, V: Array, wbar: Array, Xs: Array | None, F: Array | None) -> Array:
    """``Ā = V [diag(Re w̄) + F ∘ Xs] V^H`` with ``Xs = (X - X^H)/2``, ``X = V^H V̄`` (Hermitian result).

    ``Xs`` (``clusters.skew_part``) is passed in because the gauge check needs it too; ``None``
    means ``V̄ = 0`` (then ``F`` is not needed either)."""
    if Xs is None:
        return (V * real(wbar)[..., None, :]) @ mH(V)
    return V @ (F * Xs + diag_embed(real(wbar))) @ mH(V)


def cluster_values(w: Array, L: Array | None, same: Array) -> Array:
    """``diag(w)`` in value, for the generalized rules' ``Λ``; with ``L = V^H A V`` (``= diag(w)`` up to
    rounding) its derivative on the blocks of clusters with several members is ``dL`` instead of
    ``diag(dw)``.

    Inside a cluster the eigenvalues move as the eigenvalues of the block ``Q = V_c^H (dA - λ dB) V_c``
    (``= dL`` there), not as its diagonal; the first-order rules need only ``diag(w)``, but their
    derivatives (second derivatives of a cluster sum with respect to ``B``: the term
    ``tr(PB_cc Q_cc)``) need the whole block, and taking it all from ``L`` keeps the cotangent of
    ``w`` in a second-order pass even on each cluster (no false report). ``L`` is None when no
    cluster has two members (then ``diag(w)`` is exact)."""
    xp = namespace(w)
    if L is None:
        return diag_embed(w)
    multi = xp.sum(xp.astype(same, L.real.dtype if is_complex(L) else L.dtype), axis=-1) > 1
    block = same & multi[..., None, :]
    W = diag_embed(like(xp.where(multi, stop_gradient(w), w), L))
    return W + xp.where(block, L - stop_gradient(L), xp.zeros_like(L))


def geigh_jvp(
    w: Array, V: Array, dA: Array, dB: Array, F: Array, same: Array, L: Array | None = None
) -> tuple[Array, Array]:
    """Generalized JVP: ``dw_j = v_j^H (dA - w_j dB) v_j`` and ``dV = V C`` with
    ``C = F ∘ (PA - PB diag(w)) - ½ same ∘ PB``, ``PA = V^H dA V``, ``PB = V^H dB V``.

    The ``-½ PB`` block keeps ``V^H B V = I`` inside clusters (and on the diagonal). ``w_j`` in ``dw``
    is read from :func:`cluster_values` (``L = V^H A V`` where clusters exist), so that derivatives
    of ``dw`` are exact for cluster sums."""
    xp = namespace(V)
    PA = mH(V) @ dA @ V
    PB = mH(V) @ dB @ V
    W = cluster_values(w, L, same)
    dw = real(diagonal(PA)) - real(xp.sum(PB * mT(like(W, PB)), axis=-1))
    C = like(F, PA) * (PA - PB * like(w, PB)[..., None, :]) - xp.where(same, PB, xp.zeros_like(PB)) / 2
    return dw, V @ C


def geigh_vjp(
    w: Array, V: Array, wbar: Array, X: Array, F: Array, same: Array, L: Array | None = None
) -> tuple[Array, Array]:
    """Generalized VJP: with ``X = V^H V̄`` and ``K = diag(Re w̄) + F ∘ X``,
    ``Ā = herm(V K V^H)`` and ``B̄ = -herm(V (K Λ + ½ same ∘ X) V^H)``, ``Λ`` from
    :func:`cluster_values` (``diag(w)`` in value; exact double backward for cluster sums)."""
    xp = namespace(V)
    K = diag_embed(real(wbar)) + F * X
    KB = K @ cluster_values(w, L, same) if L is not None else K * w[..., None, :]
    KB = KB + xp.where(same, X, xp.zeros_like(X)) / 2
    Vh = mH(V)
    return herm(V @ K @ Vh), -herm(V @ KB @ Vh)
