"""Forward computations shared by the front ends (no derivatives here)."""

from __future__ import annotations

from ._backend import Array, herm, mH, namespace, solve_triangular


def eigh(A: Array) -> tuple[Array, Array]:
    """Ascending eigenvalues and orthonormal eigenvectors (columns) of Hermitian ``A``."""
    w, V = namespace(A).linalg.eigh(A)
    return w, V


def geigh(A: Array, B: Array) -> tuple[Array, Array]:
    """``A V = B V diag(w)``, ``V^H B V = I``, via ``B = L L^H`` and ``eigh(L^{-1} A L^{-H})``."""
    xp = namespace(A, B)
    L = xp.linalg.cholesky(B)
    C = solve_triangular(L, A, lower=True)
    C = mH(solve_triangular(L, mH(C), lower=True))
    w, Y = xp.linalg.eigh(herm(C))
    return w, solve_triangular(mH(L), Y, lower=False)
