"""Permittivity maps on the unit cell: pixel grids in fractional coordinates.

A map ``eps[i, j]`` (shape ``(N,) * d``) is the piecewise-constant function equal to ``eps[i, j]`` on
the pixel ``[i/N, (i+1)/N) × [j/N, (j+1)/N)`` of fractional coordinates ``r = u a_1 + v a_2``.
:mod:`operators` uses the exact Fourier coefficients of that function, so a layer whose interfaces
fall on pixel edges is represented exactly. Shapes (disks) are drawn with sub-pixel averaging
(the fill fraction of each pixel), which is what makes a coarse grid agree with MPB.

Designs: a density ``rho ∈ [0, 1]`` per pixel, symmetrised over the lattice's point group (so the
irreducible-zone path stays valid), optionally smoothed by a Gaussian filter, mapped linearly to
``eps = eps_lo + (eps_hi - eps_lo) rho``.
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


def _square_ops(x):
    """The eight C4v images of a pixel array about the cell corner (pixel ``i`` ↔ ``N-1-i``)."""
    flip = lambda a, ax: jnp.flip(a, axis=ax)  # noqa: E731  mirror u -> -u maps pixel i to N-1-i
    xt = jnp.swapaxes(x, 0, 1)
    return [x, flip(x, 0), flip(x, 1), flip(flip(x, 0), 1), xt, flip(xt, 0), flip(xt, 1), flip(flip(xt, 0), 1)]


def symmetrize(x, lattice: Lattice):
    """Average of ``x`` over the lattice's point group (exact for the square lattice's C4v; the 1D
    chain gets its mirror). Triangular lattices are not symmetrised here: the C6v images of a pixel
    on an oblique grid are not pixels, so designs there must be symmetric by construction."""
    if lattice.symmetry == "C4v":
        return sum(_square_ops(x)) / 8
    if lattice.symmetry == "C1v":
        return (x + jnp.flip(x, 0)) / 2
    raise NotImplementedError(f"no pixel symmetrisation for {lattice.symmetry}")


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
    """Design variables ``theta ∈ [0, 1]^(N^d)`` → permittivity map.

    ``eps(theta) = eps_lo + (eps_hi - eps_lo) * filter(symmetrize(theta))``: linear, so ``eps``
    stays within ``[eps_lo, eps_hi]`` whenever ``theta`` is in the box. ``symmetric=False`` skips
    the symmetrisation (then the irreducible-zone path no longer samples the whole zone, and
    symmetry-protected doublets split under generic perturbations, which the tests use).
    """

    lattice: Lattice
    n: int
    eps_lo: float = 1.0
    eps_hi: float = 12.0
    filter_radius: float = 0.0
    symmetric: bool = True

    def density(self, theta):
        rho = symmetrize(theta, self.lattice) if self.symmetric else theta
        return gaussian_filter(rho, self.filter_radius)

    def eps(self, theta):
        return self.eps_lo + (self.eps_hi - self.eps_lo) * self.density(theta)

    def random_start(self, seed: int = 0, mean: float = 0.5, amplitude: float = 0.2,
                     smooth: float = 0.08) -> np.ndarray:
        """A generic start: ``mean`` plus a smooth seeded random field of peak ``amplitude``."""
        rng = np.random.default_rng(seed)
        field = np.asarray(gaussian_filter(jnp.asarray(rng.standard_normal((self.n,) * self.lattice.dim)), smooth))
        field = np.asarray(symmetrize(jnp.asarray(field), self.lattice))
        return np.clip(mean + amplitude * field / np.max(np.abs(field)), 0.0, 1.0)
