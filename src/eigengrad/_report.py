"""Turning measured gauge defects and input faults into errors and warnings that say what to do.

Everything here runs on concrete NumPy values (eagerly, or inside a JAX debug callback).
"""

from __future__ import annotations

import math
import warnings
from typing import Literal

import numpy as np

from .errors import ConditioningWarning, DegeneracyWarning, GaugeError, GaugeWarning

GaugeMode = Literal["raise", "warn", "ignore"]
GAUGE_MODES = ("raise", "warn", "ignore")


def check_mode(gauge: str) -> str:
    if gauge not in GAUGE_MODES:
        raise ValueError(f"gauge must be one of {GAUGE_MODES}, got {gauge!r}")
    return gauge


def gauge_tolerance(dtype: np.dtype) -> float:
    """Relative size of the gauge part of a cotangent above which it counts: ``sqrt(eps)``."""
    return math.sqrt(float(np.finfo(np.dtype(dtype)).eps))


def _emit(msg: str, mode: str) -> None:
    """A gauge fault: an error (``mode="raise"``) or a warning at the caller's caller."""
    if mode == "raise":
        raise GaugeError(msg)
    warnings.warn(msg, GaugeWarning, stacklevel=4)


def _pairs(defect: np.ndarray, thresh: float, limit: int = 4) -> list[tuple[int, int]]:
    idx = np.argwhere(np.triu(defect) > thresh)
    return [tuple(int(k) for k in ij) for ij in idx[:limit]]


def report_vectors(
    w: np.ndarray, defect: np.ndarray, scale: np.ndarray, mode: str, routine: str = "eigh"
) -> None:
    """Raise or warn when the gauge part of an eigenvector cotangent is not negligible.

    ``defect[..., i, j]`` is ``|skew(V^H V̄)|`` on cluster blocks and ``scale[...]`` is ``max|V^H V̄|``.
    """
    if mode == "ignore":
        return
    w, defect, scale = np.asarray(w), np.asarray(defect), np.asarray(scale)
    tol = gauge_tolerance(defect.dtype)
    rel = defect.max(axis=(-2, -1)) / np.where(scale > 0, scale, 1.0)
    bad = np.argwhere(np.atleast_1d(rel) > tol)
    if bad.size == 0:
        return
    b = tuple(int(k) for k in bad[0]) if rel.ndim else ()
    d = defect[b] if b else defect
    pairs = _pairs(d, tol * float(np.atleast_1d(scale)[bad[0][0]] if rel.ndim else scale))
    wb = np.asarray(w[b] if b else w)
    phase = [i for i, j in pairs if i == j]
    mixing = [(i, j) for i, j in pairs if i != j]
    parts = []
    if phase:
        parts.append(
            "it changes when eigenvector(s) "
            + ", ".join(f"{i} (λ={wb[i]:.6g})" for i in phase)
            + " are multiplied by a phase e^{iθ}"
        )
    if mixing:
        parts.append(
            "it changes when eigenvectors are rotated inside a degenerate cluster: pairs "
            + ", ".join(f"({i}, {j}) with λ={wb[i]:.6g}, {wb[j]:.6g}" for i, j in mixing)
        )
    where = f" (batch index {b})" if b else ""
    msg = (
        f"{routine}: the loss depends on the eigenvector gauge{where}: " + "; ".join(parts)
        + f". Relative size of the gauge-dependent part {float(rel[b] if b else rel):.2e} "
        f"(tolerance {tol:.1e}). Such a loss has no well-defined derivative. Make it invariant: use "
        "|v|², projectors v v^H, or sums over a whole cluster; or change cluster_rtol if the "
        "eigenvalues are not meant to be degenerate; or pass gauge='warn'/'ignore' to accept the "
        "gradient of the gauge-invariant part only."
    )
    _emit(msg, mode)


def _relative(part, scale) -> tuple[np.ndarray, float] | None:
    """``(part / scale, tol)`` where some entry exceeds the gauge tolerance ``tol`` of ``part``'s
    precision, else None (nothing to report)."""
    part, scale = np.asarray(part), np.asarray(scale)
    rel, tol = part / np.where(scale > 0, scale, 1.0), gauge_tolerance(part.dtype)
    return (rel, tol) if np.any(rel > tol) else None


def report_values(w: np.ndarray, spread: np.ndarray, scale: np.ndarray, mode: str, routine: str = "eigh") -> None:
    """Warn when a loss weights the eigenvalues of one degenerate cluster unequally."""
    if mode == "ignore":
        return
    found = _relative(spread, scale)
    if found is None:
        return
    rel = found[0]
    warnings.warn(
        f"{routine}: the loss weights eigenvalues inside a degenerate cluster unequally (relative "
        f"spread {float(np.max(rel)):.2e}). Either the loss is not differentiable there (one eigenvalue "
        "of a cluster, such as λ_max at a crossing: the gradient returned is one generalized (Clarke) "
        "gradient, from the basis the solver returned), or it is smooth but needs in-cluster couplings "
        "that the cotangents of (w, V) cannot carry (a matrix function V f(Λ) V^H with f' varying on "
        "the cluster, second derivatives of eigenvector losses): those are dropped. Use a function of the "
        "whole cluster (its sum, its projector), eigengrad's nonsmooth tools, or a smaller cluster_rtol "
        "if the eigenvalues are only close.",
        DegeneracyWarning,
        stacklevel=3,
    )


def report_svd(
    s: np.ndarray, defect: np.ndarray, scale: np.ndarray, zero: np.ndarray, mode: str, routine: str = "svd"
) -> None:
    """Raise or warn when an SVD cotangent depends on the gauge: the common phase of a pair
    ``(u_i, v_i)``, a common rotation inside a cluster of equal singular values, or any change of the
    singular vectors of zero singular values (which ``A`` does not determine).

    ``defect[..., i, j]`` is the gauge part on cluster blocks (diagonal: phases, or null-space
    components for zero singular values), ``scale[...]`` the size of the cotangent, ``zero[..., i]``
    marks the zero cluster.
    """
    if mode == "ignore":
        return
    s, defect, scale, zero = (np.asarray(a) for a in (s, defect, scale, zero))
    tol = gauge_tolerance(defect.dtype)
    rel = defect.max(axis=(-2, -1)) / np.where(scale > 0, scale, 1.0)
    bad = np.argwhere(np.atleast_1d(rel) > tol)
    if bad.size == 0:
        return
    b = tuple(int(k) for k in bad[0]) if rel.ndim else ()
    d, sb, zb = (defect[b], s[b], zero[b]) if b else (defect, s, zero)
    pairs = _pairs(d, tol * float(np.asarray(scale)[b] if b else scale), limit=8)
    nul = sorted({i for ij in pairs for i in ij if zb[i]})
    phase = [i for i, j in pairs if i == j and not zb[i]]
    mixing = [(i, j) for i, j in pairs if i != j and not (zb[i] or zb[j])]
    parts = []
    if phase:
        parts.append(
            "it changes when a pair (u_i, v_i) is multiplied by one phase e^{iθ}, for i = "
            + ", ".join(f"{i} (s={sb[i]:.6g})" for i in phase)
        )
    if mixing:
        parts.append(
            "it changes when pairs of singular vectors are rotated together inside a cluster of equal "
            "singular values: " + ", ".join(f"({i}, {j}) with s={sb[i]:.6g}, {sb[j]:.6g}" for i, j in mixing)
        )
    if nul:
        parts.append(
            "it depends on the singular vectors of (numerically) zero singular values "
            + ", ".join(str(i) for i in nul)
            + ", which A does not determine (rotating them, separately on the U and V side, or into the "
            "null space of A or A^H when A is not square, leaves A unchanged), so the derivative does not exist"
        )
    where = f" (batch index {b})" if b else ""
    msg = (
        f"{routine}: the loss depends on the singular-vector gauge{where}: " + "; ".join(parts)
        + f". Relative size of the gauge-dependent part {float(rel[b] if b else rel):.2e} (tolerance "
        f"{tol:.1e}). Make the loss invariant: use U diag(f(s)) V^H with f(0) = 0, u_i v_i^H, projectors "
        "U U^H, |u_i|² products with the matching |v_i|², or sums over a whole cluster; or change "
        "cluster_rtol if the singular values are not meant to be equal; or pass gauge='warn'/'ignore' to "
        "accept the gradient of the gauge-invariant part only."
    )
    _emit(msg, mode)


def report_singular_values(
    s: np.ndarray, spread: np.ndarray, at_zero: np.ndarray, scale: np.ndarray, mode: str, routine: str = "svd"
) -> None:
    """Warn when a loss weights equal singular values unequally, or has a nonzero derivative with
    respect to a zero singular value (``s = |.|`` there: no derivative, only subgradients)."""
    if mode == "ignore":
        return
    spread, at_zero, scale = np.asarray(spread), np.asarray(at_zero), np.asarray(scale)
    tol = gauge_tolerance(spread.dtype)
    den = np.where(scale > 0, scale, 1.0)
    parts = []
    if np.any(spread / den > tol):
        parts.append(f"it weights singular values of one degenerate cluster unequally (relative spread "
                     f"{float(np.max(spread / den)):.2e})")
    if np.any(at_zero / den > tol):
        parts.append("it has a nonzero derivative with respect to a zero singular value")
    if not parts:
        return
    warnings.warn(
        f"{routine}: " + "; ".join(parts) + ". The gradient returned is not reliable here. Either the "
        "loss is not differentiable (one singular value of a cluster, or s_i = |x|-like at 0 as in the "
        "nuclear norm of a rank-deficient matrix: then it is one subgradient), or it is smooth but its "
        "derivative needs couplings inside the cluster that the cotangents of (U, s, Vh) cannot carry "
        "(U diag(f(s)) Vh with f' != 0 on the cluster, A = U S Vh itself, f(0) != 0 or f'(0) != 0 at "
        "zero): those couplings are dropped. Exact at degeneracy: sums of f(s) over whole clusters, "
        "projectors, the polar factor U Vh of a nonsingular A, U diag(f(s)) Vh with f' = 0 on every "
        "cluster (and f(0) = f'(0) = 0, such as s³, at zero); or use a smaller cluster_rtol if the "
        "values are only close.",
        DegeneracyWarning,
        stacklevel=3,
    )


def report_conditioning(
    w: np.ndarray, eta: np.ndarray, kappa: np.ndarray, index: np.ndarray, rtol: float, routine: str = "eig"
) -> None:
    """Warn (``ConditioningWarning``) when a matrix is within ``rtol`` (relative) of a defective one.

    ``eta`` is the estimated relative distance to the nearest matrix with a defective eigenvalue,
    ``kappa`` the largest eigenvalue condition number ``|vl_i| |v_i| / |vl_i^H v_i|``, ``index`` the
    eigenvalue that is nearest to defective; all per matrix of a batch.
    """
    eta, kappa, index, w = np.asarray(eta), np.asarray(kappa), np.asarray(index), np.asarray(w)
    bad = np.argwhere(np.atleast_1d(~(eta >= rtol)))
    if bad.size == 0:
        return
    b = tuple(int(k) for k in bad[0]) if eta.ndim else ()
    e, kap, i = (float(eta[b]), float(kappa[b]), int(index[b])) if b else (float(eta), float(kappa), int(index))
    lam = complex(np.asarray(w[b] if b else w)[i])
    where = f" (batch index {b})" if b else ""
    finite = np.isfinite(kap)
    warnings.warn(
        f"{routine}: the matrix is {'nearly ' if finite else ''}defective{where}: eigenvalue {i} "
        f"(λ={lam:.6g}) has condition number κ={kap:.3e}, and the matrix is within a relative distance "
        f"of about {e:.1e} of one with a multiple non-diagonalizable eigenvalue (threshold {rtol:.1e}). "
        + ("The eigenvector matrix is singular to working precision: the derivatives returned are not "
           "finite. " if not finite else
           "Derivatives returned are those of the computed eigendecomposition: eigenvalue derivatives "
           "grow like κ and eigenvector derivatives like κ²/gap, they hold only for perturbations "
           "smaller than that distance, and they lose about log10(κ) digits. ")
        + "At an exactly defective (Jordan) eigenvalue the eigenvalues themselves are not differentiable; "
        "only symmetric functions of the whole Jordan block (its sum, the trace of its spectral projector) "
        "are.",
        ConditioningWarning,
        stacklevel=3,
    )


def report_forward(defect: np.ndarray, scale: np.ndarray, mode: str, routine: str, values: bool = False) -> None:
    """Forward mode cannot see the loss: warn (:class:`GaugeWarning`) when a tangent couples members
    of one degenerate cluster, a coupling the forward rule drops (``1/(λ_j - λ_i)`` is not taken
    inside clusters). The tangents returned are then exact only for functions of whole clusters."""
    if mode == "ignore":
        return
    found = _relative(defect, scale)
    if found is None:
        return
    rel, tol = found
    what = (
        "the tangents of individual eigen- or singular values inside the cluster are one directional "
        "derivative among many (only their sum over the cluster is exact)" if values else
        "the tangents returned omit that rotation (and the splitting of the cluster's values): they are "
        "exact only for functions of whole clusters (projectors, cluster sums, U diag(f(s)) Vh with f "
        "constant on the cluster), not for one eigen- or singular vector of the cluster"
    )
    warnings.warn(
        f"{routine} (forward mode): the tangent couples members of a degenerate cluster (relative size "
        f"{float(np.max(rel)):.2e}, tolerance {tol:.1e}); {what}. Forward mode cannot check the function "
        "being differentiated (reverse mode does, and raises for a gauge-dependent one). Use a smaller "
        "cluster_rtol if the values are only close, or gauge='ignore' to silence this.",
        GaugeWarning,
        stacklevel=3,
    )
