"""Turning measured gauge defects and input faults into errors and warnings that say what to do.

Everything here runs on concrete NumPy values (eagerly, or inside a JAX debug callback).
"""

from __future__ import annotations

import math
import warnings
from typing import Literal

import numpy as np

from .errors import DegeneracyWarning, GaugeError, GaugeWarning

GaugeMode = Literal["raise", "warn", "ignore"]
GAUGE_MODES = ("raise", "warn", "ignore")


def check_mode(gauge: str) -> str:
    if gauge not in GAUGE_MODES:
        raise ValueError(f"gauge must be one of {GAUGE_MODES}, got {gauge!r}")
    return gauge


def gauge_tolerance(dtype: np.dtype) -> float:
    """Relative size of the gauge part of a cotangent above which it counts: ``sqrt(eps)``."""
    return math.sqrt(float(np.finfo(np.dtype(dtype)).eps))


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
    if mode == "raise":
        raise GaugeError(msg)
    warnings.warn(msg, GaugeWarning, stacklevel=3)


def report_values(w: np.ndarray, spread: np.ndarray, scale: np.ndarray, mode: str, routine: str = "eigh") -> None:
    """Warn when a loss weights the eigenvalues of one degenerate cluster unequally."""
    if mode == "ignore":
        return
    spread, scale = np.asarray(spread), np.asarray(scale)
    tol = gauge_tolerance(spread.dtype)
    rel = spread / np.where(scale > 0, scale, 1.0)
    if not np.any(rel > tol):
        return
    warnings.warn(
        f"{routine}: the loss weights eigenvalues inside a degenerate cluster unequally (relative "
        f"spread {float(np.max(rel)):.2e}). Individual eigenvalues of a cluster are not differentiable: "
        "the gradient returned is one generalized (Clarke) gradient, from the basis the solver "
        "returned. Use a function of the whole cluster (its sum or mean), eigengrad's nonsmooth "
        "tools, or a smaller cluster_rtol if the eigenvalues are only close.",
        DegeneracyWarning,
        stacklevel=3,
    )
