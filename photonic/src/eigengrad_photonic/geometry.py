"""Permittivity maps on the unit cell: pixel grids in fractional coordinates.

A map ``eps[i, j]`` (shape ``(N,) * d``) is the piecewise-constant function equal to ``eps[i, j]`` on
the pixel ``[i/N, (i+1)/N) × [j/N, (j+1)/N)`` of fractional coordinates ``r = u a_1 + v a_2``.
:mod:`operators` uses the exact Fourier coefficients of that function, so a layer whose interfaces
fall on pixel edges is represented exactly. Shapes (disks) are drawn with sub-pixel averaging
(the fill fraction of each pixel), which is what makes a coarse grid agree with MPB.

Designs: a density ``rho ∈ [0, 1]`` per symmetry orbit of pixels (so every design has the lattice's
point symmetry and the irreducible-zone path stays valid), optionally smoothed by a Gaussian
filter, mapped linearly to ``eps = eps_lo + (eps_hi - eps_lo) rho``.
"""

from __future__ import annotations

from dataclasses import dataclass

import jax.numpy as jnp
import numpy as np

from .lattice import Lattice


def disk(lattice: Lattice, n: int, radius: float, eps_in: float, eps_out: float = 1.0,
         oversample: int = 8) -> np.ndarray:
    """Disk of ``radius`` centred on the lattice point at the cell corner (all periodic images),
    with each pixel's value the area-weighted mean of ``eps_in``/``eps_out`` (``oversample²``
    sub-samples per pixel)."""
    s = (np.arange(n * oversample) + 0.5) / (n * oversample)
    u, v = np.meshgrid(s, s, indexing="ij")
    frac = np.stack([u, v], -1)
    inside = np.zeros(u.shape, bool)
    for du in (-1, 0, 1):
        for dv in (-1, 0, 1):
            r = (frac - np.array([du, dv])) @ lattice.vectors
            inside |= np.linalg.norm(r, axis=-1) < radius
    fill = inside.reshape(n, oversample, n, oversample).mean(axis=(1, 3))
    return eps_out + (eps_in - eps_out) * fill


def layers(n: int, thickness: float, eps_in: float, eps_out: float = 1.0) -> np.ndarray:
    """1D stack: ``eps_in`` on ``[0, thickness)``, ``eps_out`` elsewhere, area-averaged pixels."""
    edges = np.arange(n + 1) / n
    fill = np.clip((np.minimum(edges[1:], thickness) - edges[:-1]) * n, 0.0, 1.0)
    return eps_out + (eps_in - eps_out) * fill


def _point_group(lattice: Lattice, n: int) -> list[np.ndarray]:
    """Pixel permutations (flat index maps) of the lattice's point group about the cell corner.

    A mirror ``u -> -u`` maps pixel ``[i/N, (i+1)/N)`` to pixel ``N-1-i``; a 90° rotation maps
    ``(i, j)`` to ``(N-1-j, i)``. These act exactly on the piecewise-constant map."""
    if lattice.symmetry == "C1v":
        i = np.arange(n)
        return [i, n - 1 - i]
    if lattice.symmetry == "C4v":
        i, j = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
        r = n - 1
        images = [(i, j), (r - i, j), (i, r - j), (r - i, r - j), (j, i), (r - j, i), (j, r - i), (r - j, r - i)]
        return [(a * n + b).ravel() for a, b in images]
    raise NotImplementedError(
        f"no pixel symmetry for {lattice.symmetry}: the C6v images of a pixel on an oblique grid are not "
        "pixels, so use symmetric=False (and a full-zone k sampling) on this lattice")


def orbits(lattice: Lattice, n: int) -> np.ndarray:
    """``orbit[pixel]``: index of the symmetry orbit of each pixel (flat, ``N^d`` entries), orbits
    numbered ``0 .. n_orbits-1`` in order of their smallest pixel."""
    images = np.stack(_point_group(lattice, n))
    rep = images.min(axis=0)
    return np.unique(rep, return_inverse=True)[1]


def gaussian_filter(x, radius: float):
    """Periodic Gaussian blur of a pixel map, standard deviation ``radius`` in fractional units
    (applied in Fourier space; ``radius = 0`` is the identity)."""
    if radius <= 0:
        return x
    n = x.shape[0]
    f = np.fft.fftfreq(n) * n
    kernel = np.exp(-2 * (np.pi * radius) ** 2 * sum(g**2 for g in np.meshgrid(*[f] * x.ndim, indexing="ij")))
    return jnp.real(jnp.fft.ifftn(jnp.fft.fftn(x) * kernel))


@dataclass(frozen=True)
class Design:
    """Design variables ``theta ∈ [0, 1]^p`` (flat) → permittivity map ``(N,)*d``.

    With ``symmetric=True`` there is one variable per symmetry orbit of pixels (about ``N²/8`` for
    C4v), so every design has the lattice's full point symmetry and the irreducible-zone path is
    valid; with ``symmetric=False`` one per pixel (then symmetry-protected doublets split under
    generic perturbations, which the tests use). ``eps = eps_lo + (eps_hi - eps_lo) * filter(rho)``
    with ``rho`` the pixel densities: linear, so ``eps ∈ [eps_lo, eps_hi]`` whenever ``theta`` is in
    the box.
    """

    lattice: Lattice
    n: int
    eps_lo: float = 1.0
    eps_hi: float = 12.0
    filter_radius: float = 0.0
    symmetric: bool = True

    @property
    def shape(self) -> tuple[int, ...]:
        return (self.n,) * self.lattice.dim

    @property
    def orbit(self) -> np.ndarray:
        """Flat pixel → variable index map."""
        if self.symmetric:
            return orbits(self.lattice, self.n)
        return np.arange(self.n**self.lattice.dim)

    @property
    def size(self) -> int:
        """Number of design variables ``p``."""
        return int(self.orbit.max()) + 1

    def density(self, theta):
        rho = jnp.asarray(theta)[self.orbit].reshape(self.shape)
        return gaussian_filter(rho, self.filter_radius)

    def eps(self, theta):
        return self.eps_lo + (self.eps_hi - self.eps_lo) * self.density(theta)

    def random_start(self, seed: int = 0, mean: float = 0.5, amplitude: float = 0.2,
                     smooth: float = 0.08) -> np.ndarray:
        """A generic start (flat variables): ``mean`` plus a smooth seeded random field of peak
        ``amplitude``, averaged over each symmetry orbit."""
        rng = np.random.default_rng(seed)
        field = np.asarray(gaussian_filter(jnp.asarray(rng.standard_normal(self.shape)), smooth)).ravel()
        per_orbit = np.bincount(self.orbit, field) / np.bincount(self.orbit)  # symmetric average
        return np.clip(mean + amplitude * per_orbit / np.max(np.abs(per_orbit)), 0.0, 1.0)
