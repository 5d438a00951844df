"""Plane-wave Maxwell operators of a 2D (or 1D) photonic crystal, as functions of the pixel map.

With fields ``F(r) = Σ_G c_G e^{i(k+G)·r}`` (``G`` from :class:`lattice.PlaneWaves`) and ``ε_{G-G'}``
the exact Fourier coefficients of the piecewise-constant pixel map:

* **TM** (E out of plane, ``E_z``): ``-∇_k² E = (ω/c)² ε E`` is the generalized Hermitian pencil
  ``A c = λ B c`` with ``A = diag|k+G|²``, ``B = [ε]`` (the Toeplitz matrix ``ε_{G-G'}``, Hermitian
  positive definite for ``ε > 0``; Laurent's rule is the right one since ``E_z`` is continuous).
* **TE** (H out of plane, ``H_z``): ``-∇_k·(1/ε)∇_k H = (ω/c)² H`` is the standard problem
  ``A_{GG'} = (k+G)·(k+G') [ε]⁻¹_{GG'}``, with the inverse of the Toeplitz matrix of ``ε``
  (Ho–Chan–Soukoulis / Li's inverse rule), which converges much faster than ``[1/ε]``.

Eigenvalues ``λ = (ω a/c)²`` (``a = 1``); the reduced frequency is ``ω a/2πc = √λ / 2π``.
Plane-wave sets differ between wavevectors; padded entries are decoupled (``A = λ_pad``,
``B = 1``), so their eigenvalues sit at ``λ_pad = 4 (2π gmax)²``, above every physical band of a map
with ``ε >= 1``, and :attr:`BlochOperators.nbands` counts the physical ones.
Everything is a JAX function of the pixel map, so eigengrad's ``eigh`` differentiates the bands.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import jax.numpy as jnp
import numpy as np

from .lattice import PlaneWaves


def pixel_fourier(eps, diffs: np.ndarray):
    """Exact Fourier coefficients ``ε_Δ = ∫_cell ε(r) e^{-i G_Δ·r} d²r / |cell|`` of the
    piecewise-constant pixel map ``eps`` (shape ``(N,)*d``) at integer indices ``diffs (..., d)``.

    ``ε_Δ = DFT[eps]_{Δ mod N} / N^d · Π_i e^{-iπΔ_i/N} sinc(Δ_i/N)``: the DFT samples the pixel
    values, the sinc and phase are the transform of one pixel ``[0, 1/N)^d``.
    """
    n = eps.shape[0]
    d = eps.ndim
    spec = jnp.fft.fftn(eps) / n**d
    idx = tuple(np.mod(diffs[..., i], n) for i in range(d))
    shape = np.prod([np.exp(-1j * np.pi * diffs[..., i] / n) * np.sinc(diffs[..., i] / n) for i in range(d)], axis=0)
    return spec[idx] * shape


@dataclass(frozen=True)
class BlochOperators:
    """Builds the TM pencil or the TE matrix at wavevectors ``k (nk, d)`` from a pixel map."""

    basis: PlaneWaves
    k: np.ndarray
    m: np.ndarray = field(init=False, repr=False)
    mask: np.ndarray = field(init=False, repr=False)

    def __post_init__(self):
        object.__setattr__(self, "k", np.atleast_2d(np.asarray(self.k, float)))
        m, mask = self.basis.at(self.k)
        object.__setattr__(self, "m", m)
        object.__setattr__(self, "mask", mask)

    @property
    def nbands(self) -> int:
        """Number of physical bands at every wavevector (the smallest plane-wave set)."""
        return int(self.mask.sum(axis=1).min())

    @property
    def lam_pad(self) -> float:
        return 4 * (2 * np.pi * self.basis.gmax) ** 2

    def kG(self) -> np.ndarray:
        """``k + G`` (zero on padded entries), shape ``(nk, n, d)``."""
        q = self.k[:, None, :] + self.m @ self.basis.lattice.reciprocal
        return np.where(self.mask[..., None], q, 0.0)

    def toeplitz(self, eps):
        """``[ε]_{GG'} = ε_{G-G'}`` per wavevector, ``(nk, n, n)``, identity on padded entries."""
        pair = self.mask[:, :, None] & self.mask[:, None, :]
        T = pixel_fourier(eps, self.m[:, :, None, :] - self.m[:, None, :, :])
        T = (T + jnp.conj(jnp.swapaxes(T, -1, -2))) / 2
        return jnp.where(pair, T, np.eye(self.m.shape[1]))

    def tm(self, eps):
        """TM pencil ``(A, B)``: ``A = diag|k+G|²``, ``B = [ε]``, both ``(nk, n, n)``."""
        q2 = np.where(self.mask, np.sum(self.kG() ** 2, axis=-1), self.lam_pad)
        A = jnp.asarray(q2[:, :, None] * np.eye(self.m.shape[1]), dtype=jnp.complex128)
        return A, self.toeplitz(eps)

    def te(self, eps):
        """TE matrix ``A_{GG'} = (k+G)·(k+G') [ε]⁻¹_{GG'}`` (``λ_pad`` on padded entries)."""
        eta = jnp.linalg.inv(self.toeplitz(eps))
        eta = (eta + jnp.conj(jnp.swapaxes(eta, -1, -2))) / 2
        q = self.kG()
        pad = np.where(self.mask, 0.0, self.lam_pad)[:, :, None] * np.eye(self.m.shape[1])
        return jnp.einsum("kad,kbd->kab", q, q) * eta + pad
