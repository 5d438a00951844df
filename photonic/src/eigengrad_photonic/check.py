"""Re-evaluating a grid design at a finer resolution, on the path and over the whole zone.

A :class:`zone.GridDesign` holds ``ε`` at the ``n × n`` grid points, read as constant on each
point's cell. :func:`upsample` samples that piecewise-constant map finely and smooths it onto an
``N × N`` grid (MPB's sub-pixel tensor, :func:`grid.smoothed_medium`), so the same structure is
solved with more plane waves and TE sees its interfaces smoothed. :func:`gap_report` gives the
gap–midgap ratio of one gap or of a complete gap (the overlap of several) on the path Γ–…–Γ and on
the path plus a grid of the irreducible zone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from . import iterative, lattice as lattices, zone
from .grid import Medium, PlaneWaveGrid, smoothed_medium
from .lattice import Lattice


def upsample(eps: np.ndarray, lat: Lattice, N: int, s: int = 4) -> Medium:
    """The medium on an ``N × N`` grid of the coarse cell-constant map ``eps (n, n)``: samples at
    ``((a+½)/(sN), (b+½)/(sN))`` take the value of the nearest coarse grid point (in fractional
    coordinates), then :func:`grid.smoothed_medium`. ``sN/n`` must be an even integer (no sample on
    a coarse cell boundary)."""
    eps = np.asarray(eps, float)
    n = eps.shape[0]
    if eps.shape != (n, n) or (s * N) % n or (s * N // n) % 2:
        raise ValueError(f"eps must be square (n, n) with s*N/n an even integer, got {eps.shape}, N={N}, s={s}")
    u = (np.arange(s * N) + 0.5) / (s * N)
    i = np.mod(np.round(u * n).astype(int), n)
    return smoothed_medium(eps[np.ix_(i, i)], N, lat)


@dataclass(frozen=True)
class GapReport:
    """Band edges (top ``U``, bottom ``L``) and gap–midgap ratios of a (complete) gap on the path and
    over path + zone sample; ``on_path``: no edge of the zone sample lies beyond the path's."""

    U_path: float
    L_path: float
    U_zone: float
    L_zone: float
    npw: int
    nk_path: int
    nk_zone: int

    @staticmethod
    def _ratio(U: float, L: float) -> float:
        return 2 * (L - U) / (L + U)

    @property
    def ratio_path(self) -> float:
        return self._ratio(self.U_path, self.L_path)

    @property
    def ratio_zone(self) -> float:
        return self._ratio(max(self.U_path, self.U_zone), min(self.L_path, self.L_zone))

    @property
    def on_path(self) -> bool:
        return self.U_zone <= self.U_path * (1 + 1e-6) and self.L_zone >= self.L_path * (1 - 1e-6)


def gap_report(lat: Lattice, medium: Medium, n: int, gaps: Sequence[tuple[str, int]], *, per_segment: int = 4,
               zone_m: int = 8) -> GapReport:
    """The gap (or the overlap of ``gaps``) of ``medium`` on an ``n × n`` grid: the path with
    ``per_segment`` intervals on its longest segment, and the ``zone_m × zone_m`` grid of the
    irreducible zone (:func:`zone.zone_grid`)."""
    path = lattices.kpath(lat, per_segment).k
    kz = zone.zone_grid(lat, zone_m)
    pw = PlaneWaveGrid(lat, n, np.concatenate([path, kz]))
    tops, bottoms = [], []
    for pol, m in gaps:
        f = np.asarray(iterative.frequencies(iterative.solve(pw, medium, pol, m + 1).lam))
        e = zone.compare_extrema(f[: len(path)], f[len(path):], kz, m)
        tops.append((e.top_path, e.top_zone))
        bottoms.append((e.bottom_path, e.bottom_zone))
    U, L = np.max(tops, axis=0), np.min(bottoms, axis=0)
    return GapReport(float(U[0]), float(L[0]), float(U[1]), float(L[1]), pw.npw, len(path), len(kz))
