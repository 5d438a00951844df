"""Derivative rules of the thin singular value decomposition (design/adjoints.md §3, §6).

Conventions: ``A = U diag(s) V^H`` (``m x n``, ``k = min(m, n)``), ``U`` ``m x k`` and ``V`` ``n x k``
with orthonormal columns, ``s`` descending and ``>= 0``. Tangents: ``dU = U Ωu + (I - UU^H) dA V S⁺``
and ``dV = V Ωv + (I - VV^H) dA^H U S⁺`` with skew-Hermitian ``Ωu, Ωv``; the common phase of a pair
``(u_i, v_i)`` is fixed by splitting ``Im (U^H dA V)_ii / s_i`` equally, ``Im Ωu_ii = -Im Ωv_ii``.

Degeneracy: ``same`` clusters singular values closer than ``rtol * s_max``; ``Fe[i, j] =
1/(s_j² - s_i²)`` is zero inside a cluster. The cluster of singular values ``<= rtol * s_max``
(``zero``) gets ``S⁺ = 0``: there ``u_i`` and ``v_i`` are not determined by ``A`` (each may be rotated
separately, and into the null spaces of ``A^H`` / ``A`` when ``A`` is not square), so only losses
blind to them have a derivative, and that derivative is what these rules return.
"""

from __future__ import annotations

from typing import Callable

from .._backend import Array, astype, diag_embed, diagonal, imag, is_complex, mH, namespace, real, stop_gradient
from .clusters import inverse_gaps, skew_defect, sorted_clusters, tolerance

Hook = Callable[[str, Array], Array]


def _identity(kind: str, t: Array) -> Array:
    return t


def svd_clusters(s: Array, rtol: float) -> tuple[Array, Array]:
    """``(same, zero)``: the cluster mask of the descending ``s`` and the mask of the cluster of
    (numerically) zero singular values, ``s_i <= rtol * max(s)`` and everything chained to them."""
    xp = namespace(s)
    s = stop_gradient(s)
    same = sorted_clusters(-s, rtol)
    small = s <= tolerance(s, rtol)
    zero = xp.any(same & small[..., None, :], axis=-1)
    return same, zero


def gap_factors(s: Array, same: Array, zero: Array) -> tuple[Array, Array]:
    """``(Fe, sinv)``: ``Fe[i, j] = 1/(s_j² - s_i²)`` across clusters, and ``S⁺``'s diagonal."""
    xp = namespace(s)
    safe = xp.where(zero, xp.ones_like(s), s)
    return inverse_gaps(s * s, same), xp.where(zero, xp.zeros_like(s), 1 / safe)


def svd_jvp(
    U: Array, s: Array, V: Array, dA: Array, Fe: Array, sinv: Array, *, hook: Hook = _identity
) -> tuple[Array, Array, Array]:
    """``(dU, ds, dVh)``: ``dP = U^H dA V``, ``ds = Re diag dP``,
    ``Ωu = Fe ∘ (dP S + S dP^H) + i diag(Im dP) S⁺/2``, ``Ωv = Fe ∘ (S dP + dP^H S) - i diag(Im dP) S⁺/2``.

    ``hook("svd", [Ωu; Ωv])``, ``hook("svd_null_u", dU)`` (only if ``m > k``) and
    ``hook("svd_null_v", dV)`` (only if ``n > k``) must return their argument: a front end watches
    their cotangents ``[U^H Ū; V^H V̄]``, ``Ū``, ``V̄``.
    """
    xp = namespace(U)
    m, k, n = U.shape[-2], U.shape[-1], V.shape[-2]
    dA = astype(dA, U.dtype)
    dAV = dA @ V
    dP = mH(U) @ dAV
    dPS = dP * s[..., None, :]
    SdP = s[..., :, None] * dP
    Ou = Fe * (dPS + mH(dPS))
    Ov = Fe * (SdP + mH(SdP))
    if is_complex(U):
        ph = diag_embed(astype(imag(diagonal(dP)) * sinv / 2, U.dtype) * 1j)
        Ou, Ov = Ou + ph, Ov - ph
    O = hook("svd", xp.concat([Ou, Ov], axis=-2))
    dU, dV = U @ O[..., :k, :], V @ O[..., k:, :]
    if m > k:
        dU = hook("svd_null_u", dU + (dAV - U @ dP) * sinv[..., None, :])
    if n > k:
        dV = hook("svd_null_v", dV + (mH(dA) @ U - V @ mH(dP)) * sinv[..., None, :])
    return dU, real(diagonal(dP)), mH(dV)


def svd_cotangents(U: Array, V: Array, Ubar: Array | None, Vbar: Array | None) -> tuple[Array | None, Array | None]:
    """``(U^H Ū, V^H V̄)`` (``None`` where the cotangent is absent)."""
    return (None if Ubar is None else mH(U) @ Ubar), (None if Vbar is None else mH(V) @ Vbar)


def svd_vjp(
    U: Array, s: Array, V: Array, sbar: Array | None, Ubar: Array | None, Vbar: Array | None,
    Xu: Array | None, Xv: Array | None, Fe: Array, sinv: Array,
) -> Array:
    """``Ā = U [diag(s̄) + (Fe∘Ju) S + S (Fe∘Jv) + i diag(Im Xu - Im Xv) S⁺/2] V^H
    + (I - UU^H) Ū S⁺ V^H + U S⁺ V̄^H (I - VV^H)``, ``Xu = U^H Ū``, ``Ju = Xu - Xu^H`` (same for V)."""
    xp = namespace(U)
    m, k, n = U.shape[-2], U.shape[-1], V.shape[-2]
    K = xp.zeros_like(Fe, dtype=U.dtype)
    if sbar is not None:
        K = K + diag_embed(astype(sbar, U.dtype))
    ph = xp.zeros_like(s)
    if Xu is not None:
        K = K + (Fe * (Xu - mH(Xu))) * s[..., None, :]
        ph = ph + imag(diagonal(Xu))
    if Xv is not None:
        K = K + s[..., :, None] * (Fe * (Xv - mH(Xv)))
        ph = ph - imag(diagonal(Xv))
    if is_complex(U):
        K = K + diag_embed(astype(ph * sinv / 2, U.dtype) * 1j)
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
