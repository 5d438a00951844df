"""Bravais lattices, their reciprocal lattices, plane-wave sets and irreducible-zone k-paths.

Units: lengths in lattice constants ``a = 1``; wavevectors in radians per ``a`` (so the reciprocal
vectors satisfy ``a_i · b_j = 2π δ_ij``); frequencies elsewhere in the package are ``ω a / 2πc``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class Lattice:
    """A ``d``-dimensional Bravais lattice (``d`` = 1 or 2).

    ``vectors[i]`` is the primitive vector ``a_i`` (Cartesian); ``points`` maps high-symmetry labels
    to *fractional* reciprocal coordinates (``k = Σ c_i b_i``); ``path`` is the irreducible-zone path
    walked by :func:`kpath`; ``symmetry`` names the point group used to symmetrise designs (the path
    covers the irreducible zone only for structures with that symmetry).
    """

    name: str
    vectors: np.ndarray
    points: dict[str, tuple[float, ...]] = field(repr=False)
    path: tuple[str, ...]
    symmetry: str

    @property
    def dim(self) -> int:
        return self.vectors.shape[0]

    @property
    def reciprocal(self) -> np.ndarray:
        """Rows ``b_j`` with ``a_i · b_j = 2π δ_ij``."""
        return 2 * np.pi * np.linalg.inv(self.vectors).T

    def k(self, label: str) -> np.ndarray:
        """Cartesian wavevector of a high-symmetry point."""
        return np.asarray(self.points[label], float) @ self.reciprocal


def square() -> Lattice:
    """Square lattice, Γ–X–M–Γ (point group C4v)."""
    pts = {"Γ": (0.0, 0.0), "X": (0.5, 0.0), "M": (0.5, 0.5)}
    return Lattice("square", np.eye(2), pts, ("Γ", "X", "M", "Γ"), "C4v")


def triangular() -> Lattice:
    """Triangular (hexagonal) lattice ``a_1 = (1, 0)``, ``a_2 = (1/2, √3/2)``, Γ–M–K–Γ (C6v)."""
    vec = np.array([[1.0, 0.0], [0.5, np.sqrt(3) / 2]])
    pts = {"Γ": (0.0, 0.0), "M": (0.5, 0.0), "K": (2 / 3, 1 / 3)}
    return Lattice("triangular", vec, pts, ("Γ", "M", "K", "Γ"), "C6v")


def chain() -> Lattice:
    """One-dimensional lattice (a layered stack at normal incidence), Γ–X."""
    return Lattice("1d", np.eye(1), {"Γ": (0.0,), "X": (0.5,)}, ("Γ", "X"), "C1v")


@dataclass(frozen=True)
class KPath:
    """Wavevectors along a path: ``k`` Cartesian ``(nk, d)``, ``x`` the cumulative path length
    (for plotting), ``ticks``/``labels`` the positions and names of the corners."""

    k: np.ndarray
    x: np.ndarray
    ticks: np.ndarray
    labels: tuple[str, ...]


def kpath(lattice: Lattice, per_segment: int = 8, labels: tuple[str, ...] | None = None) -> KPath:
    """Points along ``labels`` (default ``lattice.path``): ``per_segment`` intervals on the longest
    segment, proportionally fewer (at least one) on shorter ones; corners included once."""
    labels = labels or lattice.path
    corners = [lattice.k(s) for s in labels]
    lengths = [np.linalg.norm(b - a) for a, b in zip(corners[:-1], corners[1:])]
    ks, xs, ticks, x0 = [corners[0]], [0.0], [0.0], 0.0
    for (a, b), ln in zip(zip(corners[:-1], corners[1:]), lengths):
        n = max(1, int(round(per_segment * ln / max(lengths))))
        for t in np.arange(1, n + 1) / n:
            ks.append(a + t * (b - a))
            xs.append(x0 + t * ln)
        x0 += ln
        ticks.append(x0)
    return KPath(np.array(ks), np.array(xs), np.array(ticks), tuple(labels))


@dataclass(frozen=True)
class PlaneWaves:
    """Plane-wave sets ``{G = Σ m_i b_i : |k + G| <= 2π gmax}``, one per wavevector.

    Centring the cutoff sphere on ``-k`` (as a real-space grid does implicitly) makes each set
    invariant under the little group of ``k``, so symmetry-protected degeneracies (the doublets at
    Γ and M of a C4v crystal) are exact in the discretised problem, not just converged. Sets at
    different ``k`` have different sizes; :meth:`at` pads them to a common size ``n`` with a mask.
    """

    lattice: Lattice
    gmax: float

    def at(self, k: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Integer indices ``m (nk, n, d)`` (sorted by ``|k+G|``, padded with zeros) and the mask
        ``(nk, n)`` of real entries, for Cartesian wavevectors ``k (nk, d)``."""
        B = self.lattice.reciprocal
        k = np.atleast_2d(k)
        kmax = np.max(np.linalg.norm(k, axis=1))
        span = int(np.ceil((2 * np.pi * self.gmax + kmax) * np.linalg.norm(np.linalg.inv(B), 2))) + 1
        grid = np.stack(np.meshgrid(*[np.arange(-span, span + 1)] * self.lattice.dim, indexing="ij"), -1)
        cand = grid.reshape(-1, self.lattice.dim)
        sets = []
        for kk in k:
            q = np.linalg.norm(kk + cand @ B, axis=1)
            keep = np.flatnonzero(q <= 2 * np.pi * self.gmax * (1 + 1e-12))
            sets.append(cand[keep[np.lexsort((*cand[keep].T[::-1], np.round(q[keep], 9)))]])
        n = max(len(s) for s in sets)
        m = np.zeros((len(k), n, self.lattice.dim), int)
        mask = np.zeros((len(k), n), bool)
        for i, s in enumerate(sets):
            m[i, : len(s)], mask[i, : len(s)] = s, True
        return m, mask
