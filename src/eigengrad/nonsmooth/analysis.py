"""Cluster structure, exact directional derivatives and the min-norm Clarke subgradient at a point.

All three take a :class:`~eigengrad.nonsmooth.family.Family`, an
:class:`~eigengrad.nonsmooth.objectives.Objective` and ``θ`` (NumPy, real). Clusters are runs of
eigenvalues closer than ``rtol · s`` (default ``rtol = sqrt(eps)``, as in ``eigengrad._rules.clusters``,
with ``s = max|λ|`` over the objective's target eigenvalues, :meth:`Objective.scale`);
a piece of a term is active when it is within the same tolerance of the term's extreme.

* ``f'(θ; d) = Σ_t w_t max_{p active} s_t λ_{i_p}'(θ; d)``, with ``λ_i'(θ; d)`` the eigenvalue of
  ``G_c(d) = Σ_j d_j G_j`` at ``i``'s position in its cluster (§6.3); exact, one-sided.
* The Clarke subdifferential of a max-type ``f`` is ``{C z : Z_p ⪰ 0, Σ_{p ∈ t} tr Z_p = w_t}``
  (§6.4, convex hull over active pieces and matrices, summed over terms). Its minimum-norm element
  ``g*`` — or, with box bounds, the ``g`` minimising ``|Π_T(-g)|`` for the tangent cone ``T`` —
  gives the steepest-descent direction ``d* = Π_T(-g*)/|Π_T(-g*)|`` with
  ``f'(θ; d*) = -|Π_T(-g*)|``; this equality (as ``f'(θ; Π_T(-g*)) + |Π_T(-g*)|² = 0``), checked
  with the exact directional derivative, is the optimality certificate, and ``|Π_T(-g*)|`` (``|g*|`` unconstrained) the stationarity measure.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from . import _checks
from . import _spectraplex as sp
from . import model as _model
from .family import Family, linearize, spectrum
from .objectives import Objective, objective_arg



@dataclass(frozen=True)
class ClusterInfo:
    """An active piece: term ``term``, matrix ``k``, target index ``index`` (for a sum: the last index
    counted), its cluster's indices and eigenvalues, and whether the target is the extreme of its
    cluster (``regular``; always for sums, which count the cluster's top members)."""

    term: int
    k: int
    index: int
    indices: tuple[int, ...]
    eigenvalues: np.ndarray
    regular: bool


@dataclass(frozen=True)
class Structure:
    """Objective value ``f``, term values ``y``, effective weights, and the active clusters."""

    f: float
    y: np.ndarray
    weights: np.ndarray
    clusters: tuple[ClusterInfo, ...]

    @property
    def multiplicities(self) -> tuple[int, ...]:
        return tuple(len(c.indices) for c in self.clusters)


@dataclass(frozen=True)
class Subgradient:
    """Min-norm Clarke subgradient ``g`` and steepest-descent direction ``direction`` (unit norm, or
    zero where ``|Π_T(-g)|² `` is below the QP's accuracy), ``stationarity = |Π_T(-g)|``, the exact
    slope ``f'(θ; direction)``, ``certificate = f'(θ; Π_T(-g)) + |Π_T(-g)|²`` (the QP's optimality
    gap: ``≈ 0`` certifies ``g`` as the minimiser, ``> 0`` means it is not), the block matrices
    ``Z`` (one per cluster, ``Σ tr = w_t`` per term), and the structure."""

    g: np.ndarray
    direction: np.ndarray
    stationarity: float
    slope: float
    certificate: float
    Z: tuple[np.ndarray, ...]
    structure: Structure


def _rtol(rtol: float | None) -> float:
    return math.sqrt(np.finfo(np.float64).eps) if rtol is None else _checks.positive(rtol, "rtol")


def _exact_model(family: Family, obj: Objective, theta: np.ndarray, tol: float, max_type: bool):
    """The exact cluster model at a checked ``θ``; the family's output and the objective's indices are
    checked before the eigendecomposition."""
    lin = linearize(family, theta)
    obj.check(*lin.A.shape[:2])
    spec = spectrum(lin.A, lin.B)
    blocks, smooth = _model.exact_blocks(obj, spec, tol)
    return _model.build(obj, spec, lin, blocks, smooth, max_type=max_type), spec


def _structure(m: _model.Model, obj: Objective, spec) -> Structure:
    infos = []
    for blk in m.blocks:
        idx = blk.idx
        infos.append(ClusterInfo(blk.term, blk.k, blk.target, idx, spec.w[blk.k][list(idx)], blk.rank == 0))
    return Structure(m.f, m.y, m.weights, tuple(infos))


def structure(family: Family, obj: Objective, theta, rtol: float | None = None) -> Structure:
    """Active pieces and their clusters at ``θ``."""
    theta, tol = _checks.parameters(family, theta), _rtol(rtol)
    m, spec = _exact_model(family, objective_arg(obj), theta, tol, max_type=False)
    return _structure(m, obj, spec)


def directional_derivative(family: Family, obj: Objective, theta, d, rtol: float | None = None) -> float:
    """Exact one-sided ``f'(θ; d) = lim_{h→0⁺} (f(θ + h d) - f(θ))/h`` (clusters at ``rtol``)."""
    theta, tol = _checks.parameters(family, theta), _rtol(rtol)
    d = _checks.real_vector(d, "d", theta.shape[0])
    m, _ = _exact_model(family, objective_arg(obj), theta, tol, max_type=False)
    return m.derivative(d)


def tangent_cone(theta: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(lo, hi)`` of the box's tangent cone at ``θ``: 0 on the side of an active bound, else ``∓∞``."""
    lo = np.where(theta <= lower, 0.0, -np.inf)
    hi = np.where(theta >= upper, 0.0, np.inf)
    return lo, hi


def min_norm_subgradient(
    family: Family, obj: Objective, theta, bounds=None, rtol: float | None = None
) -> Subgradient:
    """The min-norm element of the Clarke subdifferential (projected onto the box's tangent cone
    when ``bounds = (lower, upper)`` is given, ``θ`` inside them) and the steepest-descent direction,
    with certificate."""
    theta, tol = _checks.parameters(family, theta), _rtol(rtol)
    lower, upper = _checks.box(bounds, theta.shape[0])
    _checks.inside(theta, lower, upper)
    m, spec = _exact_model(family, objective_arg(obj), theta, tol, max_type=True)
    lo, hi = tangent_cone(theta, lower, upper)
    sol = sp.solve(m.C, np.zeros_like(m.l), m.layout, tau=1.0, lo=lo, hi=hi, g0=m.g0)
    stat = sp.norm(sol.d)
    unit = sol.d / stat if stat > 0 else sol.d
    # f'(θ; ·) is positively homogeneous: cert = |d| (f'(θ; d/|d|) + |d|), formed without squaring |d|
    cert = stat * (m.derivative(unit) + stat)
    if stat <= np.sqrt(10) * sol.gap_root:  # zero within the QP's accuracy: stationary
        direction, slope = np.zeros_like(sol.d), 0.0
    else:
        direction, slope = unit, m.derivative(unit)
    return Subgradient(sol.g, direction, stat, slope, cert, tuple(sol.blocks), _structure(m, obj, spec))
