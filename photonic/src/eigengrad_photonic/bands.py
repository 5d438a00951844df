"""Band structures through eigengrad: eigenvalues ``λ = (ωa/c)²`` and eigenvectors per wavevector.

``solve`` returns eigengrad's differentiable ``(λ, V)`` (``V`` is ``B``-orthonormal for TM), batched
over wavevectors; ``frequencies`` converts to ``ω a / 2πc``. Exact degeneracies (high-symmetry
points, the 1D stack at k = 0) are fine for any loss that depends on a degenerate cluster only
through its subspace — eigengrad drops the ``1/(λ_j - λ_i)`` terms inside clusters.
"""

from __future__ import annotations

import jax.numpy as jnp

import eigengrad.jax as ej

from .operators import BlochOperators

POLARIZATIONS = ("tm", "te")


def pencil(ops: BlochOperators, eps, polarization: str):
    """``(A, B)`` of the Bloch problem (``B`` is ``None`` for TE)."""
    if polarization == "tm":
        return ops.tm(eps)
    if polarization == "te":
        return ops.te(eps), None
    raise ValueError(f"polarization must be one of {POLARIZATIONS}, got {polarization!r}")


def solve(ops: BlochOperators, eps, polarization: str, *, gauge: str = "raise"):
    """Ascending ``λ (nk, nb)`` and eigenvectors ``V (nk, n, nb)`` (columns; ``B``-orthonormal for
    TM) of the physical bands (``nb = ops.nbands``) at every wavevector of ``ops``."""
    A, B = pencil(ops, eps, polarization)
    lam, V = ej.eigh(A, B, gauge=gauge)
    return lam[:, : ops.nbands], V[:, :, : ops.nbands]


def eigenvalues(ops: BlochOperators, eps, polarization: str):
    """``λ`` only (``ej.eigvalsh``)."""
    A, B = pencil(ops, eps, polarization)
    return ej.eigvalsh(A, B)[:, : ops.nbands]


def frequencies(lam):
    """``ω a / 2πc = √λ / 2π``; the zero mode at Γ stays 0 with a finite (zero) derivative."""
    pos = lam > 0
    return jnp.where(pos, jnp.sqrt(jnp.where(pos, lam, 1.0)), 0.0) / (2 * jnp.pi)
