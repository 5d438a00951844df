"""A preconditioner built on the host from a concrete sparse matrix: ``T = (s (A - σB))^{-1}``, ``s = ±1``,
by an exact sparse LU (SuperLU), used where the caller gave none. NumPy/SciPy only; it knows no
derivatives.

Why an exact factorisation (issue 10, 2-D well, k = 8, tol 1e-10, CG on the k shifted systems
``P^H (A - λ_i) P z = r`` with ``σ = λ_1 - 0.1 (λ_k - λ_1)``; 2 shared cores, load 0.6 at n = 4096
and 16384, 6.4 at 65536):

==========  ===========  ====================  =============================  ===============================
n           ARPACK fwd   CG, no preconditioner  CG + exact LU (fill, factor)   CG + ILU (drop 1e-3, fill 10)
==========  ===========  ====================  =============================  ===============================
4 096       0.052 s      0.31 s, 194 steps      0.13 s, 40 steps (6.3x)        0.12 s, 41 steps
16 384      0.60 s       2.41 s, 365 steps      0.69 s, 39 steps (8.2x)        diverged: 20000 steps, res 1e-3
65 536      16.8 s       (3.5x fwd, issue 10)   15.2 s, 40 steps (10.4x, 4.4s)  not tried
==========  ===========  ====================  =============================  ===============================

The preconditioned spectrum on the complement is ``(μ - λ_i)/(μ - σ)``, ``μ >= λ_{k+1}``: condition
``(λ_{k+1} - σ)/(λ_{k+1} - λ_i)``, independent of the mesh, so the step count stays ~40 while
ARPACK's grows with the mesh. The incomplete factorisation of the shifted (not diagonally dominant)
matrix is not positive definite and CG diverges on it; the exact one is checked definite for free:
with a symmetric permutation and no off-diagonal pivots, the signs of ``U``'s diagonal are the
inertia of ``s (A - σB)`` (Sylvester), so a wrong shift (a forward solve that missed the lowest
eigenvalue) or an indefinite matrix gives no preconditioner rather than a wrong one. Orderings at
n = 65536: minimum degree on ``A^T + A`` fill 10.4x, COLAMD 19.1x, natural 103x. Through the front
ends (benchmarks/results/adjoint.md, load ~15): backward 0.35-0.48x SciPy ARPACK's forward at
n = 65536 (JAX: 14.1 s against 26.3 s for its jitted unpreconditioned CG), about 1x at 16384.
"""

from __future__ import annotations

import warnings
from typing import Any, Callable

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as sla

# Above this size SuperLU's minimum-degree fill (no nested dissection) is unmeasured: a 3-D
# Laplacian's factor grows like n^{4/3}, past the memory an O(nk) solve may use.
MAX_N = 300_000


def shift(w: np.ndarray, sign: float) -> float:
    """A shift ``σ`` beyond the wanted end of the spectrum (``w`` ascending, the k computed
    eigenvalues; ``sign`` +1: lowest, -1: highest), by a tenth of their spread, at least
    ``1e-4 max|λ|``: close enough that the shifted systems are well conditioned, far enough that
    ``s (A - σB)`` stays definite in rounding."""
    w = np.asarray(w, dtype=float)
    spread = max(float(w[-1] - w[0]), 1e-3 * float(np.max(np.abs(w))), np.finfo(float).tiny)
    end = w[0] if sign > 0 else w[-1]
    return float(end - sign * 0.1 * spread)


def sparse(A: Any, B: Any = None) -> bool:
    """``A`` and ``B`` (None: the identity) are SciPy sparse matrices."""
    return sp.issparse(A) and (B is None or sp.issparse(B))


def shifted_inverse(A: Any, B: Any, sigma: float, sign: float) -> Callable[[np.ndarray], np.ndarray] | None:
    """``X -> (s (A - σB))^{-1} X`` on NumPy blocks, or None where none is built: ``A`` (and ``B``)
    not SciPy sparse matrices (functions, dense arrays), ``n > MAX_N``, a singular or not positive
    definite ``s (A - σB)``."""
    if not sparse(A, B) or A.shape[0] > MAX_N:
        return None
    n = A.shape[0]
    M = sign * (A - sigma * (sp.eye(n, format="csc") if B is None else B))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", sp.SparseEfficiencyWarning)
            lu = sla.splu(sp.csc_matrix(M), permc_spec="MMD_AT_PLUS_A", diag_pivot_thresh=0.0,
                          options=dict(SymmetricMode=True))
    except (RuntimeError, MemoryError):  # exactly singular, or too large to factor here
        return None
    d = lu.U.diagonal()
    if not (np.array_equal(lu.perm_r, lu.perm_c) and np.all(np.real(d) > 0) and np.all(np.isfinite(d))):
        return None

    def solve(X: np.ndarray) -> np.ndarray:
        return lu.solve(np.asarray(X, dtype=np.result_type(X.dtype, M.dtype))).astype(X.dtype, copy=False)

    return solve
