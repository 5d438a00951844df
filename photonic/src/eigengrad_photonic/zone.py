"""Point groups acting on grid points and on wavevectors, symmetric grid designs, and whole-zone
sampling of band extrema.

The grid points of the matrix-free path are the cell corners ``r_ij = (i/n) a_1 + (j/n) a_2``. A
point-group operation ``O`` (Cartesian, about the lattice point at the origin) maps them to grid points:
in fractional coordinates it is the integer matrix ``F = (Aᵀ)⁻¹ O Aᵀ`` (``A`` the rows ``a_i``),
``(i, j) -> F (i, j) mod n``. This holds for C4v on the square lattice and for C6v on the
triangular one, whose 60° rotation is ``F = [[0, -1], [1, 1]]`` (``a_1 -> a_2``, ``a_2 -> a_2 - a_1``).
So a map with one value per orbit of grid points has the lattice's full symmetry exactly.

Band extrema can lie off the irreducible-zone path. :func:`zone_grid` samples the whole zone (``m × m``
fractional points folded into the first Brillouin zone), optionally reduced to the irreducible
wedge by the point group and time reversal. :func:`compare_extrema` reports where the path's band
edges differ from the zone's.
"""

from __future__ import annotations

from dataclasses import dataclass

import jax.numpy as jnp
import numpy as np

from .lattice import Lattice

_FOLD = {"C4v": 4, "C6v": 6}


def point_group(lattice: Lattice) -> list[np.ndarray]:
    """The ``2 × 2`` Cartesian matrices of the lattice's point group (rotations by ``2π/f`` and the
    mirror ``y -> -y``, closed under products)."""
    if lattice.symmetry not in _FOLD:
        raise ValueError(f"lattice: point groups are defined for {sorted(_FOLD)}, got {lattice.symmetry!r}")
    t = 2 * np.pi / _FOLD[lattice.symmetry]
    gens = [np.array([[np.cos(t), -np.sin(t)], [np.sin(t), np.cos(t)]]), np.diag([1.0, -1.0])]
    group = [np.eye(2)]
    while True:
        new = [g @ h for g in gens for h in group]
        new = [m for m in new if not any(np.allclose(m, h) for h in group)]
        if not new:
            return group
        group.append(new[0])


def fractional(lattice: Lattice, op: np.ndarray) -> np.ndarray:
    """The integer matrix of a Cartesian operation on fractional coordinates ``(u, v)``."""
    A = lattice.vectors
    F = np.linalg.solve(A.T, op @ A.T)
    if not np.allclose(F, np.round(F), atol=1e-9):
        raise ValueError("op: not a symmetry of the lattice")
    return np.round(F).astype(int)


def grid_orbits(lattice: Lattice, n: int) -> np.ndarray:
    """``orbit[i * n + j]``: the index of the point-group orbit of grid point ``(i, j)``, numbered
    ``0 .. p-1`` in order of their smallest flat index."""
    ij = np.stack(np.meshgrid(np.arange(n), np.arange(n), indexing="ij"), -1).reshape(-1, 2)
    images = [np.mod(ij @ fractional(lattice, g).T, n) for g in point_group(lattice)]
    rep = np.min([im[:, 0] * n + im[:, 1] for im in images], axis=0)
    return np.unique(rep, return_inverse=True)[1]


@dataclass(frozen=True)
class GridDesign:
    """Variables ``theta ∈ [0, 1]^p``, one per point-group orbit of the ``n × n`` grid points, →
    ``ε = eps_lo + (eps_hi − eps_lo) θ`` at the grid points (for :func:`grid.grid_medium`). Every
    design has the lattice's full point symmetry, so the irreducible-zone path is valid for it."""

    lattice: Lattice
    n: int
    eps_lo: float = 1.0
    eps_hi: float = 12.0

    @property
    def orbit(self) -> np.ndarray:
        return grid_orbits(self.lattice, self.n)

    @property
    def size(self) -> int:
        return int(self.orbit.max()) + 1

    def eps(self, theta):
        if np.shape(theta) != (self.size,):
            raise ValueError(f"theta must have shape ({self.size},), got {np.shape(theta)}")
        rho = jnp.asarray(theta)[self.orbit].reshape(self.n, self.n)
        return self.eps_lo + (self.eps_hi - self.eps_lo) * rho

    def project(self, values) -> np.ndarray:
        """The orbit means of a grid map (``(n, n)`` values in ``[eps_lo, eps_hi]``) as variables:
        the symmetric design nearest to it."""
        rho = (np.asarray(values, float).ravel() - self.eps_lo) / (self.eps_hi - self.eps_lo)
        return np.bincount(self.orbit, rho) / np.bincount(self.orbit)


def zone_grid(lattice: Lattice, m: int, irreducible: bool = True) -> np.ndarray:
    """Cartesian wavevectors ``(nk, 2)``: the ``m × m`` fractional grid ``(a/m, b/m)`` of the
    reciprocal cell, each folded into the first Brillouin zone (the shortest ``k + G``); with
    ``irreducible`` one representative per orbit of the point group and time reversal ``k -> -k``."""
    B = lattice.reciprocal
    f = np.stack(np.meshgrid(np.arange(m), np.arange(m), indexing="ij"), -1).reshape(-1, 2) / m
    shifts = np.stack(np.meshgrid([-1, 0, 1], [-1, 0, 1], indexing="ij"), -1).reshape(-1, 2)
    cand = (f[:, None, :] + shifts[None]) @ B
    k = cand[np.arange(len(f)), np.argmin(np.linalg.norm(cand, axis=-1), axis=1)]
    if not irreducible:
        return k
    ops = [s * g for g in point_group(lattice) for s in (1.0, -1.0)]
    keep, seen = [], set()
    for i, kk in enumerate(k):
        images = {tuple(np.mod(np.round(np.linalg.solve(B.T, o @ kk) * m).astype(int), m)) for o in ops}
        if not images & seen:
            keep.append(i)
        seen |= images
    return k[keep]


@dataclass(frozen=True)
class Extrema:
    """Top of band ``m`` and bottom of band ``m + 1`` on the path and over the zone, the zone
    wavevectors where they are reached, and the gap–midgap ratios of both."""

    top_path: float
    bottom_path: float
    top_zone: float
    bottom_zone: float
    k_top: np.ndarray
    k_bottom: np.ndarray

    @property
    def ratio_path(self) -> float:
        return 2 * (self.bottom_path - self.top_path) / (self.bottom_path + self.top_path)

    @property
    def ratio_zone(self) -> float:
        top, bot = max(self.top_path, self.top_zone), min(self.bottom_path, self.bottom_zone)
        return 2 * (bot - top) / (bot + top)

    def on_path(self, rtol: float = 1e-6) -> bool:
        """Whether the zone holds no band edge beyond the path's (to ``rtol``)."""
        return (self.top_zone <= self.top_path * (1 + rtol)) and (self.bottom_zone >= self.bottom_path * (1 - rtol))


def compare_extrema(f_path: np.ndarray, f_zone: np.ndarray, k_zone: np.ndarray, m: int) -> Extrema:
    """Band edges of the gap above band ``m`` (1-based) from frequencies ``f (nk, nb)`` on the path
    and on a zone sample ``k_zone``."""
    f_path, f_zone = np.asarray(f_path), np.asarray(f_zone)
    it, ib = int(np.argmax(f_zone[:, m - 1])), int(np.argmin(f_zone[:, m]))
    return Extrema(float(f_path[:, m - 1].max()), float(f_path[:, m].min()), float(f_zone[it, m - 1]),
                   float(f_zone[ib, m]), k_zone[it], k_zone[ib])
