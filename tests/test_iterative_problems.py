"""Test operators for the iterative eigensolvers (builders only; the tests live in the other
test_iterative_* files): Schrödinger-type grids, Bloch (complex Hermitian) operators, a FEM mass
matrix, an advection–diffusion operator. All NumPy / SciPy."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp


def laplacian_1d(n: int, periodic: bool = False, phase: float = 0.0) -> sp.csr_matrix:
    """``-d²/dx²`` (unit spacing); ``phase`` twists the periodic boundary (Bloch wavevector)."""
    L = sp.diags([-np.ones(n - 1), 2 * np.ones(n), -np.ones(n - 1)], [-1, 0, 1], format="lil").astype(complex)
    if periodic:
        L[0, n - 1] = -np.exp(-1j * phase)
        L[n - 1, 0] = -np.exp(1j * phase)
    L = L.tocsr()
    return L if phase else L.real.tocsr()


def grid(nx: int, depth: float = 4.0, phase: tuple[float, float] | None = None) -> sp.csr_matrix:
    """``-Δ + V₀`` on an ``nx × nx`` grid (spacing 1), ``V₀`` a Gaussian well off-centre (so no exact
    symmetry); with ``phase`` periodic with twisted boundaries, complex Hermitian."""
    per = phase is not None
    px, py = phase or (0.0, 0.0)
    Lx, Ly = laplacian_1d(nx, per, px), laplacian_1d(nx, per, py)
    I = sp.eye(nx)
    x = np.arange(nx) - 0.42 * nx
    y = np.arange(nx) - 0.55 * nx
    r2 = (x[:, None] ** 2 + 0.7 * y[None, :] ** 2) / (0.2 * nx) ** 2
    V0 = -depth * np.exp(-r2).ravel()
    return (sp.kron(Lx, I) + sp.kron(I, Ly) + sp.diags(V0)).tocsr()


def mass_1d(n: int) -> sp.csr_matrix:
    """Linear-FEM mass matrix ``(1/6)[1 4 1]``: symmetric positive definite."""
    return sp.diags([np.ones(n - 1), 4 * np.ones(n), np.ones(n - 1)], [-1, 0, 1], format="csr") / 6


def advection_diffusion(n: int, c: float = 0.3) -> sp.csr_matrix:
    """``Δ - c ∂x + potential`` in 1D, central differences: real, non-normal; its eigenvalues with
    largest real part are the slowest-decaying modes."""
    D = -laplacian_1d(n)
    C = sp.diags([-np.ones(n - 1), np.ones(n - 1)], [-1, 1]) / 2
    pot = 0.5 * np.sin(np.linspace(0, 3, n)) ** 2
    return (D - c * C - sp.diags(pot)).tocsr()


def loss_weights(rng, n: int, k: int, groups: list[list[int]] | None = None):
    """Weights ``c (k,)`` and ``M (n, k)`` of ``L = Σ c_i λ_i + Σ M_pi |V_pi|²`` (gauge invariant);
    with ``groups`` (clusters), equal weights inside each group (invariant to rotations within)."""
    c = rng.standard_normal(k)
    M = rng.standard_normal((n, k))
    for g in groups or []:
        c[g] = c[g[0]]
        M[:, g] = M[:, [g[0]]]
    return c, M
