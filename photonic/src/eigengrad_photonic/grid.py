"""Matrix-free plane-wave Maxwell operators applied by FFT on an ``n × n`` grid, ``O(n² log n)`` per
product, and the medium they see (with MPB's sub-pixel smoothing for TE).

Fields ``F(r) = e^{ik·r} Σ_G c_G e^{iG·r}`` with ``G = m_1 b_1 + m_2 b_2`` in the sphere
``|k+G| <= 2π gmax`` (centred on ``-k``, so it is invariant under the little group of ``k``, as in
:class:`lattice.PlaneWaves`). Products with a function of position are taken at the grid points
``r_ij = (i/n) a_1 + (j/n) a_2`` (the cell corners, which every point-group operation of the
lattice maps onto grid points, for the square and the triangular lattice alike):
``(f c)_G = Σ_G' f̂_{G-G'} c_G'`` with ``f̂_Δ = (1/n²) Σ_ij f(r_ij) e^{-2πi(Δ_1 i + Δ_2 j)/n}``
(MPB's discretisation, on a sphere rather than the full box). The sphere must fit in the grid
(index extent ``< n``) so distinct plane waves stay distinct on it.

* **TM** (``E_z``): ``A c = |k+G|² c``, ``B c = ε̄ ∗ c`` (the pencil, ``B`` Hermitian positive
  definite when ``ε̄ > 0``), ``ε̄`` the mean of ``ε`` over the cell of each grid point;
* **TE** (``H_z``): ``A c = Σ_de (k+G)_d [η'_de ∗ ((k+G')_e c)]`` with ``η`` the inverse of MPB's
  effective tensor ``ε̄ (1 - P) + ⟨ε⁻¹⟩⁻¹ P`` (``P = n nᵀ``, ``n`` the interface normal in the
  cell), i.e. ``η = (1 - P)/ε̄ + ⟨ε⁻¹⟩ P``, and ``η' = Rᵀ η R`` (``R`` the 90° rotation, since the
  in-plane ``E`` is ``ẑ × ∇H`` up to a factor).

Vectors at different wavevectors are padded to a common length with decoupled entries
(``A = λ_pad``, ``B = 1``, ``λ_pad = 4 (2π gmax)²``) above every physical band of ``ε >= 1``.
Eigenvalues ``λ = (ωa/c)²``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from .lattice import Lattice, PlaneWaves


class Medium(NamedTuple):
    """What the two polarisations see at the grid points: ``eps (n, n)`` the cell mean ``ε̄``
    (TM) and ``eta (n, n, 2, 2)`` the inverse effective permittivity tensor, Cartesian (TE)."""

    eps: jnp.ndarray
    eta: jnp.ndarray


def grid_medium(eps) -> Medium:
    """A map whose cells are uniform (``eps[i, j]`` on the cell of grid point ``r_ij``, e.g. a pixel
    design on the computational grid): ``η = I/ε`` (smoothing has nothing to average)."""
    eps = jnp.asarray(eps)
    return Medium(eps, eps[..., None, None] ** -1 * jnp.eye(2))


def smoothed_medium(fine, n: int, lattice: Lattice, delta: float = 1e-8) -> Medium:
    """MPB's sub-pixel smoothing of a finely sampled map onto the ``n × n`` grid.

    ``fine`` (``(s n, s n)``, ``s`` even) samples ``ε`` at the fractional points ``((a+½)/(sn), (b+½)/(sn))``;
    the cell of grid point ``r_ij`` holds the ``s × s`` samples nearest to it. Per cell:
    ``ε̄ = ⟨ε⟩``, ``⟨ε⁻¹⟩``, and the normal ``n ∝ g = Σ_{|r - r_ij| <= ρ} ε (r - r_ij) / s²`` (the
    first moment over the disk inscribed in the cell, radius ``ρ``, Cartesian: over a disk the moment of a
    planar interface is normal to it; over the cell's parallelogram it is not, which tilted the
    normals on the triangular lattice and made its TE bands converge slowly);
    ``η = I/ε̄ + (⟨ε⁻¹⟩ - 1/ε̄) g gᵀ / (|g|² + δ²)`` with ``δ = delta · max ε / n`` (so that a
    uniform cell, ``g = 0``, has a smooth ``η = I/ε``). Differentiable in ``fine``."""
    fine = jnp.asarray(fine)
    s = fine.shape[0] // n
    if fine.shape != (s * n, s * n) or s < 2 or s % 2:
        raise ValueError(f"fine must be (s·n, s·n) with s even >= 2 for n={n}, got shape {fine.shape}")
    cells = jnp.roll(fine, (s // 2, s // 2), axis=(0, 1)).reshape(n, s, n, s).transpose(0, 2, 1, 3)
    mean = cells.mean(axis=(2, 3))
    inv = (1.0 / cells).mean(axis=(2, 3))
    off = ((np.arange(s) + 0.5) / s - 0.5) / n
    frac = np.stack(np.meshgrid(off, off, indexing="ij"), -1)  # (s, s, 2) fractional offsets
    cart = frac @ lattice.vectors
    a1, a2 = lattice.vectors
    rho = abs(np.linalg.det(lattice.vectors)) / max(np.linalg.norm(a1), np.linalg.norm(a2)) / (2 * n)
    disk = np.linalg.norm(cart, axis=-1) <= rho * (1 + 1e-9)
    g = jnp.einsum("ijab,abd->ijd", cells, cart * disk[..., None]) / s**2
    d2 = (delta * jnp.max(fine) / n) ** 2
    P = g[..., :, None] * g[..., None, :] / (jnp.sum(g**2, -1) + d2)[..., None, None]
    eta = jnp.eye(2) / mean[..., None, None] + (inv - 1.0 / mean)[..., None, None] * P
    return Medium(mean, eta)


def disk_indicator(lattice: Lattice, n: int, radius: float, s: int = 8) -> np.ndarray:
    """1 inside the disks of ``radius`` about the lattice points, 0 outside, sampled at the points of
    the ``(s n)²`` fine grid that :func:`smoothed_medium` reads (e.g. ``1 + 11 · disk_indicator(...)``
    for rods of ε = 12 in air, ``12 − 11 · disk_indicator(...)`` for air holes in ε = 12)."""
    u = (np.arange(s * n) + 0.5) / (s * n)
    frac = np.stack(np.meshgrid(u, u, indexing="ij"), -1)
    inside = np.zeros(frac.shape[:2], bool)
    for du in (-1, 0, 1):
        for dv in (-1, 0, 1):
            inside |= np.linalg.norm((frac - np.array([du, dv])) @ lattice.vectors, axis=-1) < radius
    return inside.astype(float)


@dataclass(frozen=True)
class PlaneWaveGrid:
    """Plane-wave sets at wavevectors ``k (nk, 2)`` (Cartesian) on an ``n × n`` FFT grid.

    ``gmax`` (units of ``2π/a``) defaults to the largest sphere the grid holds. Use it: a sphere much
    smaller than the grid makes the TE product with ``η`` Laurent's rule on a truncated basis, which
    converges slowly; near the full box the grid product is also the inverse rule (on the whole box
    ``[η]`` is exactly ``[1/η]⁻¹``), as in MPB.

    ``idx (nk, npw)``: flat grid index of each plane wave; ``q (nk, npw, 2)``: ``k + G`` (zero on
    padding); ``mask (nk, npw)``: real entries. ``npw`` is the largest set; :attr:`nbands` the
    smallest (the number of physical bands at every wavevector)."""

    lattice: Lattice
    n: int
    k: np.ndarray
    gmax: float | None = None
    idx: np.ndarray = field(init=False, repr=False)
    q: np.ndarray = field(init=False, repr=False)
    mask: np.ndarray = field(init=False, repr=False)

    def __post_init__(self):
        if self.lattice.dim != 2:
            raise ValueError(f"lattice: the FFT operators are two-dimensional, got a {self.lattice.dim}-D lattice")
        k = np.atleast_2d(np.asarray(self.k, float))
        if self.gmax is None:  # the largest sphere the grid holds (close to MPB's full box)
            gmax = self.n / 2
            while _extent(self.lattice, gmax, k) >= self.n:
                gmax -= 0.125
            object.__setattr__(self, "gmax", gmax)
        extent = _extent(self.lattice, self.gmax, k)
        if extent >= self.n:
            raise ValueError(f"gmax={self.gmax} needs a grid of more than {extent} points per side, got n={self.n}")
        m, mask = PlaneWaves(self.lattice, self.gmax).at(k)
        idx = np.mod(m[..., 0], self.n) * self.n + np.mod(m[..., 1], self.n)
        q = np.where(mask[..., None], k[:, None, :] + m @ self.lattice.reciprocal, 0.0)
        for name, value in (("k", k), ("idx", np.where(mask, idx, 0)), ("q", q), ("mask", mask)):
            object.__setattr__(self, name, value)

    @property
    def npw(self) -> int:
        return self.idx.shape[1]

    @property
    def nbands(self) -> int:
        return int(self.mask.sum(axis=1).min())

    @property
    def lam_pad(self) -> float:
        return 4 * (2 * np.pi * self.gmax) ** 2

    def at(self, i: int) -> "Bloch":
        """The operators at wavevector ``i``."""
        return Bloch(self.n, jnp.asarray(self.idx[i]), jnp.asarray(self.q[i]), jnp.asarray(self.mask[i], float),
                     self.lam_pad)


def _extent(lattice: Lattice, gmax: float, k: np.ndarray) -> int:
    """Largest index span ``max m_d - min m_d`` of the plane-wave sets at ``k``."""
    m, mask = PlaneWaves(lattice, gmax).at(k)
    return max(int(np.ptp(m[i][mask[i]][:, d])) for i in range(len(k)) for d in range(2))


class Bloch(NamedTuple):
    """Products at one wavevector on blocks ``X (npw, w)``; arrays may be traced (``jax.lax.map``)."""

    n: int
    idx: jnp.ndarray
    q: jnp.ndarray
    mask: jnp.ndarray
    lam_pad: float

    def _to_grid(self, X):
        w = X.shape[1]
        g = jnp.zeros((self.n * self.n, w), X.dtype).at[self.idx].add(X * self.mask[:, None])
        return jnp.fft.ifft2(g.reshape(self.n, self.n, w), axes=(0, 1))

    def _from_grid(self, F):
        return jnp.fft.fft2(F, axes=(0, 1)).reshape(self.n * self.n, -1)[self.idx] * self.mask[:, None]

    def _pad(self, X, scale):
        return (1.0 - self.mask)[:, None] * scale * X

    def q2(self):
        return jnp.sum(self.q**2, -1)

    def tm_a(self, X):
        """``A X = |k+G|² X`` (``λ_pad`` on padding)."""
        return self.q2()[:, None] * X + self._pad(X, self.lam_pad)

    def tm_b(self, medium: Medium, X):
        """``B X = ε̄ ∗ X`` (identity on padding)."""
        return self._from_grid(medium.eps[..., None] * self._to_grid(X)) + self._pad(X, 1.0)

    def te_a(self, medium: Medium, X):
        """``A X = Σ_de (k+G)_d [η'_de ∗ ((k+G)_e X)]`` (``λ_pad`` on padding), ``η' = Rᵀ η R`` with
        ``R`` the 90° rotation: ``E = ẑ × ∇H / (iωε)``, so ``η`` acts on the rotated gradient (and the
        tangential, arithmetic-mean part of the tensor multiplies the normal derivative of ``H``)."""
        eta = medium.eta
        rot = ((eta[..., 1, 1], -eta[..., 0, 1]), (-eta[..., 1, 0], eta[..., 0, 0]))
        F = [self._to_grid(self.q[:, e, None] * X) for e in range(2)]
        out = sum(self.q[:, d, None] * self._from_grid(rot[d][0][..., None] * F[0] + rot[d][1][..., None] * F[1])
                  for d in range(2))
        return out + self._pad(X, self.lam_pad)

    def kinetic(self, medium: Medium, polarization: str, floor: float = (2 * np.pi) ** 2 / 16):
        """MPB's kinetic-energy preconditioner ``X -> X / (s |k+G|² + floor)`` (``1/λ_pad`` on padding),
        ``s = 1`` (TM pencil) or the mean of ``tr η / 2`` (TE): Hermitian positive definite, ``≈ A⁻¹``."""
        eta = jax.lax.stop_gradient(medium.eta)
        s = 1.0 if polarization == "tm" else jnp.mean(jnp.trace(eta, axis1=-2, axis2=-1)) / 2
        t = self.mask / (s * self.q2() + floor) + (1.0 - self.mask) / self.lam_pad
        return lambda X: t[:, None] * X
