"""Degenerate clusters and the gap matrix that every spectral rule shares.

Two eigenvalues belong to one cluster when they are joined by a chain of neighbours closer than
``tol = rtol * scale``, where ``scale = max_i |λ_i|`` (the spectral radius: the 2-norm for a
Hermitian matrix), so the test is invariant to rescaling the matrix. The default ``rtol`` is
``sqrt(eps)`` of the working precision (1.5e-8 in float64, 3.5e-4 in float32): a gap below it cannot
be divided by without amplifying round-off past ``sqrt(eps)``, a gap above it can.
"""

from __future__ import annotations

import math

from .._backend import Array, eps, mH, namespace, real, stop_gradient


def default_rtol(x: Array) -> float:
    """Default relative cluster tolerance for the precision of ``x``: ``sqrt(eps)``."""
    return math.sqrt(eps(x))


def resolve_rtol(rtol: float | None, x: Array) -> float:
    if rtol is None:
        return default_rtol(x)
    try:
        rtol = float(rtol)
    except (TypeError, ValueError):
        raise ValueError(f"cluster_rtol must be a finite number >= 0, got {rtol!r}") from None
    if not (rtol >= 0.0 and math.isfinite(rtol)):
        raise ValueError(f"cluster_rtol must be a finite number >= 0, got {rtol!r}")
    return rtol


def tolerance(w: Array, rtol: float) -> Array:
    """Absolute cluster tolerance, shape ``(..., 1)``: ``rtol * max_i |w_i|``."""
    xp = namespace(w)
    scale = xp.max(xp.abs(stop_gradient(w)), axis=-1, keepdims=True)
    return rtol * scale


def sorted_clusters(w: Array, rtol: float) -> Array:
    """``same[..., i, j]`` is True when ascending real eigenvalues ``i`` and ``j`` share a cluster.

    Sorted input lets a cluster be a run of consecutive eigenvalues whose neighbour gaps are all
    ``<= tol``: cluster ids are the cumulative count of larger gaps.
    """
    ids = sorted_cluster_ids(w, rtol)
    return ids[..., :, None] == ids[..., None, :]


def sorted_cluster_ids(w: Array, rtol: float) -> Array:
    """Cluster index of each ascending real eigenvalue, ``(..., n)``: ``0, 1, ...`` along the spectrum
    (all distinct exactly when no two eigenvalues are closer than the tolerance)."""
    xp = namespace(w)
    w = stop_gradient(w)
    breaks = xp.astype((w[..., 1:] - w[..., :-1]) > tolerance(w, rtol), xp.int32)
    return xp.cumulative_sum(breaks, axis=-1, include_initial=True)


def general_clusters(w: Array, rtol: float) -> Array:
    """``same[..., i, j]`` for eigenvalues in any order (complex allowed): the transitive closure of
    ``|w_i - w_j| <= tol``, by repeated squaring of the adjacency matrix (log2 n products)."""
    xp = namespace(w)
    w = stop_gradient(w)
    n = w.shape[-1]
    tol = tolerance(w, rtol)[..., None]
    near = xp.abs(w[..., :, None] - w[..., None, :]) <= tol
    reach = xp.astype(near, xp.float32)
    for _ in range(max(1, math.ceil(math.log2(max(n, 2))))):
        reach = xp.astype((reach @ reach) > 0, xp.float32)
    return reach > 0


def inverse_gaps(w: Array, same: Array) -> Array:
    """``F[..., i, j] = 1 / (w_j - w_i)`` for eigenvalues in different clusters, else 0.

    ``w`` may be real or complex; the result has ``w``'s dtype and carries derivatives through
    ``w`` (second derivatives need them), while ``same`` is a constant mask.
    """
    xp = namespace(w)
    diff = w[..., None, :] - w[..., :, None]
    return xp.where(same, 0.0, 1 / xp.where(same, 1.0, diff))


def like(x: Array, y: Array) -> Array:
    """``x`` in ``y``'s dtype (a real gap matrix or weight before it multiplies a complex one): JAX's
    strict dtype promotion mixes no real and complex operands."""
    return x if x.dtype == y.dtype else namespace(x).astype(x, y.dtype)


def skew_part(X: Array) -> Array:
    """``(X - X^H) / 2``: the only part of ``X = V^H V̄`` that the Hermitian rules use."""
    return (X - mH(X)) / 2


def skew_defect(X: Array, same: Array, *, skew: bool = False) -> Array:
    """``|X - X^H| / 2`` restricted to cluster blocks (diagonal included), shape ``(..., n, n)``;
    with ``skew=True``, ``X`` is already the skew part.

    For ``X = V^H V̄`` this is the part of the cotangent that rotates eigenvectors inside a cluster
    (or changes a phase): zero exactly when the loss is gauge invariant.
    """
    xp = namespace(X)
    return xp.where(same, xp.abs(X if skew else skew_part(X)), 0.0)


def cluster_spread(wbar: Array, same: Array) -> Array:
    """Largest ``|w̄_i - w̄_j|`` over pairs inside one cluster, per matrix: nonzero when a loss
    weights the eigenvalues of a degenerate cluster unequally (not differentiable there)."""
    xp = namespace(wbar)
    wbar = real(wbar)
    d = xp.abs(wbar[..., :, None] - wbar[..., None, :])
    return xp.max(xp.where(same, d, xp.zeros_like(d)), axis=(-2, -1))


def resolved_pairs(w: Array, same: Array) -> Array:
    """Pairs ``i != j`` of one cluster whose eigenvalues are resolved, ``|w_i - w_j| > eps^(3/4) max|w|``
    (between round-off and the default cluster tolerance ``eps^(1/2)``): close but distinct, so their
    eigenvectors have derivatives, which the rules do not take. Below that the pair is degenerate to
    working precision and only functions of the whole cluster have derivatives."""
    xp = namespace(w)
    w = stop_gradient(w)
    gap = xp.abs(w[..., :, None] - w[..., None, :])
    return same & (gap > eps(w) ** 0.75 * xp.max(xp.abs(w), axis=-1)[..., None, None])


def coupling_defect(P: Array, w: Array, same: Array) -> tuple[Array, Array]:
    """``(defect, scale)`` of a tangent ``P`` in the eigenbasis (``V^H dA V``, ``V^{-1} dA V``): the
    largest ``|P_ij|`` over :func:`resolved_pairs` of one cluster, the coupling that the forward rules
    drop, and ``max|P|``, per matrix."""
    xp = namespace(P)
    size = xp.abs(P)
    on = resolved_pairs(w, same)
    return xp.max(xp.where(on, size, xp.zeros_like(size)), axis=(-2, -1)), xp.max(size, axis=(-2, -1))
