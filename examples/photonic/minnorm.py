"""Minimum-norm generalized gradient over a product of spectraplexes (design/adjoints.md §6.4).

Stop-gap for this example until ``eigengrad.nonsmooth`` (issue 5) provides the general solver:
``min ‖Π(α g_L(Z_L) − β g_U(Z_U))‖²`` over ``Z_L, Z_U ⪰ 0`` with unit trace, where ``Π`` removes
the components that the box ``θ ∈ [0, 1]`` blocks (a pixel at 0 cannot decrease, at 1 cannot
increase), so the result is the steepest *feasible* ascent direction of ``R``. Solved by FISTA with
the spectraplex projection (eigendecompose, project the eigenvalues onto the simplex).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .objective import ClusterModel


def project_simplex(w: np.ndarray) -> np.ndarray:
    """Euclidean projection of ``w`` onto ``{x >= 0, Σx = 1}`` (sort-based)."""
    u = np.sort(w)[::-1]
    css = np.cumsum(u) - 1
    rho = np.nonzero(u - css / np.arange(1, len(w) + 1) > 0)[0][-1]
    return np.maximum(w - css[rho] / (rho + 1), 0.0)


def project_spectraplex(Z: np.ndarray) -> np.ndarray:
    """Projection of a Hermitian matrix onto ``{Z ⪰ 0, tr Z = 1}``."""
    w, Q = np.linalg.eigh((Z + Z.conj().T) / 2)
    return (Q * project_simplex(w)) @ Q.conj().T


def box_projection(theta: np.ndarray, lo: float = 0.0, hi: float = 1.0, tol: float = 1e-12):
    """``Π(s)``: zero the ascent components that would leave the box ``[lo, hi]``."""
    at_lo, at_hi = theta <= lo + tol, theta >= hi - tol

    def proj(s: np.ndarray) -> np.ndarray:
        return np.where(at_lo, np.maximum(s, 0.0), np.where(at_hi, np.minimum(s, 0.0), s))

    return proj


@dataclass(frozen=True)
class MinNorm:
    """The min-norm element ``s`` (the steepest feasible ascent direction, ``‖s‖`` the
    stationarity measure), the optimal ``Z``'s, and the optimality certificate ``gap`` (≥ 0,
    zero at the optimum: ``Σ ⟨H, Z⟩ − λ_min(H)`` for the gradient matrices ``H`` of both blocks)."""

    s: np.ndarray
    ZL: np.ndarray
    ZU: np.ndarray
    gap: float
    iterations: int


def min_norm(model: ClusterModel, proj, iters: int = 2000, tol: float = 1e-10) -> MinNorm:
    """FISTA on ``½‖Π(α g_L(Z_L) − β g_U(Z_U))‖²`` over the two spectraplexes."""
    a, b = model.alpha, model.beta
    GL, GU = model.GL, model.GU
    lip = a**2 * np.sum(np.abs(GL) ** 2) + b**2 * np.sum(np.abs(GU) ** 2)
    step = 1.0 / max(lip, 1e-300)
    ZL = np.eye(GL.shape[0]) / GL.shape[0]
    ZU = np.eye(GU.shape[0]) / GU.shape[0]
    YL, YU, t = ZL, ZU, 1.0

    def grads(ZL, ZU):
        r = proj(model.subgradient(ZL, ZU))
        return r, a * np.tensordot(GL, r, 1), -b * np.tensordot(GU, r, 1)

    def certificate(ZL, ZU):
        r, HL, HU = grads(ZL, ZU)
        gap = sum(np.real(np.vdot(Z, H)) - np.linalg.eigvalsh(H)[0] for Z, H in ((ZL, HL), (ZU, HU)))
        return r, max(gap, 0.0)

    it = 0
    for it in range(1, iters + 1):
        _, HL, HU = grads(YL, YU)
        ZL_new = project_spectraplex(YL - step * HL)
        ZU_new = project_spectraplex(YU - step * HU)
        t_new = (1 + np.sqrt(1 + 4 * t * t)) / 2
        YL = ZL_new + (t - 1) / t_new * (ZL_new - ZL)
        YU = ZU_new + (t - 1) / t_new * (ZU_new - ZU)
        ZL, ZU, t = ZL_new, ZU_new, t_new
        if it % 50 == 0:
            r, gap = certificate(ZL, ZU)
            if gap <= tol * max(np.dot(r, r), 1e-300):
                break
    r, gap = certificate(ZL, ZU)
    return MinNorm(r, ZL, ZU, gap, it)
