"""Derivative rules of the thin singular value decomposition (docs/derivations.md §3, §6).

Conventions: ``A = U diag(s) V^H`` (``m x n``, ``k = min(m, n)``), ``U`` ``m x k`` and ``V`` ``n x k``
with orthonormal columns, ``s`` descending and ``>= 0``. Tangents: ``dU = U Ωu + (I - UU^H) dA V S⁺``
and ``dV = V Ωv + (I - VV^H) dA^H U S⁺`` with skew-Hermitian ``Ωu, Ωv``; the common phase of a pair
``(u_i, v_i)`` is fixed by splitting ``Im (U^H dA V)_ii / s_i`` equally, ``Im Ωu_ii = -Im Ωv_ii``.

Degeneracy: ``same`` clusters singular values closer than ``rtol * s_max``. The classical
``1/(s_j² - s_i²)`` is split as ``Fm = 1/(s_j - s_i)`` (zero inside a cluster: the common rotation
of a cluster's pairs is gauge) and ``G = 1/(s_i + s_j)`` (kept inside a cluster: the relative
rotation of its ``U`` against its ``V`` is determined by ``A``). The cluster of singular values ``<= rtol * s_max``
(``zero``) gets ``S⁺ = 0``: there ``u_i`` and ``v_i`` are not determined by ``A`` (each may be rotated
separately, and into the null spaces of ``A^H`` / ``A`` when ``A`` is not square), so only losses
blind to them have a derivative, and that derivative is what these rules return.
"""

from __future__ import annotations

from .._backend import Array, astype, diag_embed, diagonal, eps, mH, namespace, real, stop_gradient
from .clusters import inverse_gaps, like, resolved_pairs, skew_defect, sorted_clusters, tolerance


def svd_clusters(s: Array, rtol: float) -> tuple[Array, Array]:
    """``(same, zero)``: the cluster mask of the descending ``s`` and the mask of the cluster of
    (numerically) zero singular values, ``s_i <= rtol * max(s)`` and everything chained to them."""
    xp = namespace(s)
    s = stop_gradient(s)
    same = sorted_clusters(-s, rtol)
    small = s <= tolerance(s, rtol)
    zero = xp.any(same & small[..., None, :], axis=-1)
    return same, zero


def gap_factors(s: Array, same: Array, zero: Array) -> tuple[Array, Array, Array]:
    """``(Fm, G, sinv)``: ``Fm[i, j] = 1/(s_j - s_i)`` across clusters (0 inside), ``G[i, j] =
    1/(s_i + s_j)`` (0 where both are in the zero cluster), and ``S⁺``'s diagonal."""
    xp = namespace(s)
    zz = zero[..., :, None] & zero[..., None, :]
    ssum = s[..., :, None] + s[..., None, :]
    G = xp.where(zz, xp.zeros_like(ssum), 1 / xp.where(zz, xp.ones_like(ssum), ssum))
    safe = xp.where(zero, xp.ones_like(s), s)
    return inverse_gaps(s, same), G, xp.where(zero, xp.zeros_like(s), 1 / safe)


def svd_jvp_core(
    U: Array, s: Array, V: Array, dA: Array, Fm: Array, G: Array, sinv: Array
) -> tuple[Array, Array, Array, Array | None, Array | None]:
    """First stage of :func:`svd_jvp`: ``(Ωu, Ωv, ds, Ru, Rv)`` with the complement parts
    ``Ru = (I - UU^H) dA V S⁺`` (None if ``m == k``) and ``Rv = (I - VV^H) dA^H U S⁺`` (None if ``n == k``)."""
    m, k, n = U.shape[-2], U.shape[-1], V.shape[-2]
    dA = astype(dA, U.dtype)
    dAV = dA @ V
    dP = mH(U) @ dAV
    H = like(Fm, dP) * (dP + mH(dP)) / 2
    K = like(G, dP) * (dP - mH(dP)) / 2
    sinv = like(sinv, dP)
    Ru = (dAV - U @ dP) * sinv[..., None, :] if m > k else None
    Rv = (mH(dA) @ U - V @ mH(dP)) * sinv[..., None, :] if n > k else None
    return H + K, H - K, real(diagonal(dP)), Ru, Rv


def svd_jvp_vectors(
    U: Array, V: Array, Ou: Array, Ov: Array, Ru: Array | None, Rv: Array | None
) -> tuple[Array, Array]:
    """Second stage of :func:`svd_jvp`: ``dU = U Ωu + Ru``, ``dV = V Ωv + Rv``."""
    dU, dV = U @ Ou, V @ Ov
    return (dU if Ru is None else dU + Ru), (dV if Rv is None else dV + Rv)


def svd_jvp(
    U: Array, s: Array, V: Array, dA: Array, Fm: Array, G: Array, sinv: Array
) -> tuple[Array, Array, Array]:
    """``(dU, ds, dVh)``: ``dP = U^H dA V``, ``ds = Re diag dP``, ``Ωu = H + K``, ``Ωv = H - K`` with
    ``H = Fm ∘ (dP + dP^H)/2`` (rotation of a pair against the others) and ``K = G ∘ (dP - dP^H)/2``
    (relative rotation of U against V; its diagonal ``i Im dP_ii / 2s_i`` splits the phase evenly).

    A front end that watches cotangents runs the two stages itself, with its probes on
    ``[Ωu; Ωv]`` (cotangent ``[U^H Ū; V^H V̄]``) and on ``dU``, ``dV`` (``Ū``, ``V̄``) in between."""
    Ou, Ov, ds, Ru, Rv = svd_jvp_core(U, s, V, dA, Fm, G, sinv)
    dU, dV = svd_jvp_vectors(U, V, Ou, Ov, Ru, Rv)
    return dU, ds, mH(dV)


def svd_cotangents(U: Array, V: Array, Ubar: Array | None, Vbar: Array | None) -> tuple[Array | None, Array | None]:
    """``(U^H Ū, V^H V̄)`` (``None`` where the cotangent is absent)."""
    return (None if Ubar is None else mH(U) @ Ubar), (None if Vbar is None else mH(V) @ Vbar)


def svd_vjp(
    U: Array, s: Array, V: Array, sbar: Array | None, Ubar: Array | None, Vbar: Array | None,
    Xu: Array | None, Xv: Array | None, Fm: Array, G: Array, sinv: Array,
) -> Array:
    """``Ā = U [diag(s̄) + Fm ∘ skew(Xu + Xv)/2 + G ∘ skew(Xu - Xv)/2] V^H + (I - UU^H) Ū S⁺ V^H
    + U S⁺ V̄^H (I - VV^H)`` with ``Xu = U^H Ū``, ``Xv = V^H V̄``, ``skew(X) = X - X^H``."""
    m, k, n = U.shape[-2], U.shape[-1], V.shape[-2]
    xp = namespace(U)
    Xs = [X for X in (Xu, Xv) if X is not None]
    K = xp.zeros_like(Fm, dtype=U.dtype)
    if Xs:
        Xp = Xs[0] if len(Xs) == 1 else Xu + Xv
        Xm = Xu - Xv if len(Xs) == 2 else (Xu if Xv is None else -Xv)
        K = Fm * (Xp - mH(Xp)) / 2 + G * (Xm - mH(Xm)) / 2
    if sbar is not None:
        K = K + diag_embed(astype(sbar, U.dtype))
    KVh = K @ mH(V)
    if n > k and Vbar is not None:
        KVh = KVh + mH((Vbar - V @ Xv) * sinv[..., None, :])
    Abar = U @ KVh
    if m > k and Ubar is not None:
        Abar = Abar + ((Ubar - U @ Xu) * sinv[..., None, :]) @ mH(V)
    return Abar


def svd_gauge_defect(Xu: Array | None, Xv: Array | None, same: Array, zero: Array) -> tuple[Array, Array]:
    """Gauge-dependent part of ``(Ū, V̄)``, ``(defect, scale)``. Outside the zero cluster a pair is
    determined up to a common unitary change inside its cluster, so ``skew(Xu + Xv)`` must vanish on
    cluster blocks; inside the zero cluster ``U`` and ``V`` turn independently, so ``skew Xu`` and
    ``skew Xv`` must vanish there each."""
    xp = namespace(same)
    Xs = [X for X in (Xu, Xv) if X is not None]
    zz = zero[..., :, None] & zero[..., None, :]
    total = Xs[0] if len(Xs) == 1 else Xs[0] + Xs[1]
    defect = skew_defect(total, same & ~zz)
    for X in Xs:
        defect = xp.maximum(defect, skew_defect(X, zz))
    scale = xp.max(xp.stack([xp.max(xp.abs(X), axis=(-2, -1)) for X in Xs]), axis=0)
    return defect, scale


def svd_null_defect(U: Array, Ubar: Array, zero: Array) -> tuple[Array, Array]:
    """``|(I - UU^H) ū_i|`` for ``i`` in the zero cluster, else 0, and ``scale = max|Ū|``: the part of
    the cotangent that moves a singular vector of a zero singular value into the null space of
    ``A^H`` (for ``U``; pass ``V, V̄`` for ``A``), where it is not determined."""
    xp = namespace(U)
    R = Ubar - U @ (mH(U) @ Ubar)
    d = xp.sqrt(xp.sum(xp.abs(R) ** 2, axis=-2))
    return xp.where(zero, d, xp.zeros_like(d)), xp.max(xp.abs(Ubar), axis=(-2, -1))


def value_defects(sbar: Array, same: Array, zero: Array) -> tuple[Array, Array, Array]:
    """``(spread, at_zero, scale)``: the largest ``|s̄_i - s̄_j|`` inside a cluster (not differentiable
    unless equal), the largest ``|s̄_i|`` on the zero cluster (``s = |.|`` has a kink at 0), ``max|s̄|``."""
    xp = namespace(sbar)
    sbar = real(sbar)
    d = xp.abs(sbar[..., :, None] - sbar[..., None, :])
    spread = xp.max(xp.where(same, d, xp.zeros_like(d)), axis=(-2, -1))
    at_zero = xp.max(xp.where(zero, xp.abs(sbar), xp.zeros_like(sbar)), axis=-1)
    return spread, at_zero, xp.max(xp.abs(sbar), axis=-1)


def svd_coupling_defect(
    U: Array, s: Array, V: Array, dA: Array, same: Array, zero: Array
) -> tuple[Array, Array]:
    """``(defect, scale)`` of a tangent ``dA`` (per matrix) for the forward rule: the parts it drops
    where the derivative exists, ``|dP + dP^H|/2`` between resolved pairs of one cluster
    (``clusters.resolved_pairs``; ``dP = U^H dA V``), ``dP`` between resolved small singular values of
    the zero cluster, and the complement columns ``(I - UU^H) dA v_i``, ``(I - VV^H) dA^H u_i`` of
    resolved nonzero ones there; ``scale = max|dP|``."""
    xp = namespace(U)
    m, k, n = U.shape[-2], U.shape[-1], V.shape[-2]
    dA = astype(dA, U.dtype)
    dAV = dA @ V
    dP = mH(U) @ dAV
    zz = zero[..., :, None] & zero[..., None, :]
    on = resolved_pairs(s, same)
    size = xp.abs(dP)
    pieces = [xp.where(on & ~zz, xp.abs(dP + mH(dP)) / 2, xp.zeros_like(size)), xp.where(on & zz, size, xp.zeros_like(size))]
    defect = xp.max(xp.stack([xp.max(p, axis=(-2, -1)) for p in pieces]), axis=0)
    nonzero = zero & (stop_gradient(s) > eps(s) ** 0.75 * xp.max(stop_gradient(s), axis=-1, keepdims=True))
    for R, extra in ((dAV - U @ dP, m > k), (mH(dA) @ U - V @ mH(dP), n > k)):
        if extra:
            r = xp.sqrt(xp.sum(xp.abs(R) ** 2, axis=-2))
            defect = xp.maximum(defect, xp.max(xp.where(nonzero, r, xp.zeros_like(r)), axis=-1))
    return defect, xp.max(size, axis=(-2, -1))
