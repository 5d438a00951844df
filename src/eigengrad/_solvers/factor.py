"""The exact sparse LU (SuperLU) of ``s (A - σB)``, ``s = ±1``, ``σ`` beyond the wanted end of the
spectrum, on the host from a concrete sparse matrix: the operator of the forward solve in
shift-invert mode (:func:`end_inverse`, ``σ`` a Gershgorin bound) and the preconditioner
``T = (s (A - σB))^{-1}`` of the backward's solves where the caller gave none (:func:`shifted_inverse`;
the forward's factorisation serves again, :func:`keep`). NumPy/SciPy only; it knows no derivatives.

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

import hashlib
import warnings
from typing import Any, Callable, NamedTuple

import numpy as np
import scipy.sparse as sp
import scipy.sparse.csgraph as csgraph
import scipy.sparse.linalg as sla

# Where the factorisation pays (2 shared cores, benchmarks/results/iterative.md). A planar sparsity
# graph (mesh_dimension <= PLANAR) fills like n log n: at n = 10^6 (2-D well) factor 25 s, 1.9 GiB,
# 1.8 s per 8-column solve, 40 CG steps, against ~3000 unpreconditioned steps. A volume mesh fills
# like n^{4/3} at a cost ~ n^2: 3-D well 20^3 0.8 s, 27^3 3.9 s, 40^3 52 s and 1.0 GiB (1.0 s per
# solve), so past MAX_N_VOLUME it is not factorised and its (milder) systems run unpreconditioned.
MAX_N = 1_500_000
MAX_N_VOLUME = 10_000
PLANAR = 2.4
# From this size a planar problem's forward is solved in shift-invert mode (:func:`end_inverse`):
# 2-D well, k = 8, tol 1e-10, load 0.5: 0.2 s against SciPy's plain 0.54 s at 16384, 1.1 s against
# 6.2 s at 65536, 27 s at 10^6 (plain: > 24 CPU-minutes, unfinished); at 4096 a tie (0.04 s / 0.05 s).
MIN_N_SHIFT_INVERT = 10_000
BELOW = 1e-6  # the shift is moved this far (relative to the spectrum's width) past the bound


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


def mesh_dimension(M: Any) -> float:
    """Growth exponent ``d`` of the balls ``#{j : dist(i, j) <= r} ~ r^d`` of the sparsity graph of
    ``M`` (square, structurally symmetric), from a peripheral vertex ``i`` between the radii ``R/8``
    and ``R/4`` (``R`` its eccentricity): 2 for a planar mesh, 3 for a volume mesh (2.7 from a
    corner), ``inf`` where ``R < 16`` (no mesh: an expander-like graph, whose factor fills in). Two
    breadth-first searches, O(nnz)."""
    M = sp.csr_matrix(M)
    G = sp.csr_matrix((np.ones(M.nnz), M.indices, M.indptr), shape=M.shape)
    d = csgraph.shortest_path(G, indices=0, unweighted=True, directed=False)
    d = csgraph.shortest_path(G, indices=int(np.argmax(np.where(np.isfinite(d), d, -1))), unweighted=True,
                              directed=False)
    R = int(np.max(d[np.isfinite(d)]))
    if R < 16:
        return float("inf")
    return float(np.log(np.count_nonzero(d <= R // 4) / np.count_nonzero(d <= R // 8)) / np.log((R // 4) / (R // 8)))


def gershgorin(M: Any) -> tuple[float, float]:
    """``(lo, hi)`` enclosing the spectrum of the Hermitian sparse ``M``: the union of the discs
    ``|z - m_ii| <= sum_{j != i} |m_ij|`` (Gershgorin), O(nnz)."""
    M = sp.csr_matrix(M)
    c = np.real(M.diagonal())
    r = np.asarray(abs(M).sum(axis=1)).ravel() - np.abs(c)
    return float(np.min(c - r)), float(np.max(c + r))


def _mass_bounds(B: Any) -> tuple[float, float]:
    """``(b, b')`` with ``b'`` above ``B``'s spectrum (Gershgorin) and ``b`` below it where the discs
    show it; else (a consistent mass matrix: Q1's rows are not diagonally dominant) ``b`` is half the
    Rayleigh–Ritz estimate of ``λ_min(B)`` (a mass matrix is well conditioned: a few dozen products),
    not a proof: the factorisation's inertia decides (:func:`end_inverse`); ``b <= 0``: none found."""
    b, b2 = gershgorin(B)
    if b > 0:
        return b, b2
    try:
        theta = float(sla.eigsh(B, 1, which="SA", tol=1e-2, maxiter=200)[0][0])
    except sla.ArpackNoConvergence:
        return 0.0, b2
    return 0.5 * theta, b2


def end_bound(A: Any, B: Any, sign: float) -> float | None:
    """A bound of the spectrum of the pencil ``(A, B)`` at its wanted end (``sign`` +1: below the
    lowest eigenvalue, -1: above the highest) from :func:`gershgorin`, moved ``BELOW`` times the
    width past it (a bound attained, e.g. 0 for a graph Laplacian, would make ``A - σB`` singular);
    None where no positive lower bound of ``B`` is found (:func:`_mass_bounds`). With ``xᴴAx`` in
    ``[a, a']||x||²`` and ``xᴴBx`` in ``[b, b']||x||²``, ``0 < b``: ``λ >= a/b'`` if ``a >= 0``, else
    ``a/b`` (mirrored for the top)."""
    a, a2 = gershgorin(A)
    b, b2 = (1.0, 1.0) if B is None else _mass_bounds(B)
    if not (b > 0 and np.isfinite([a, a2, b2]).all()):
        return None
    lo = a / b2 if a >= 0 else a / b
    hi = a2 / b if a2 >= 0 else a2 / b2
    return (lo if sign > 0 else hi) - sign * BELOW * max(hi - lo, abs(hi), abs(lo), np.finfo(float).tiny)


class EndInverse(NamedTuple):
    """A factorisation at a shift ``σ`` proven beyond the wanted end of the spectrum."""

    sigma: float
    inverse: Callable[[np.ndarray], np.ndarray]  # X -> (A - σB)^{-1} X
    key: tuple  # the matrices' fingerprint and the end (:func:`_fingerprint`)
    solve: Callable[[np.ndarray], np.ndarray]  # X -> (s (A - σB))^{-1} X


def end_inverse(A: Any, B: Any, sign: float) -> EndInverse | None:
    """The factorisation for a forward solve in shift-invert mode at ``σ`` beyond the wanted end
    (``sign`` +1: lowest), where it pays: sparse ``A``, ``B``, ``MIN_N_SHIFT_INVERT <= n``, a planar
    sparsity graph, a Gershgorin bound (:func:`end_bound`) and ``s (A - σB)`` proven definite by the
    factorisation (:func:`_factor`: so no eigenvalue lies beyond ``σ``, and the ``k`` nearest ``σ`` are
    the ``k`` wanted, whatever the bound's quality). None otherwise: the plain (regular-mode) solve."""
    if not sparse(A, B) or not MIN_N_SHIFT_INVERT <= A.shape[0] <= MAX_N:
        return None
    if not mesh_dimension(A if B is None else abs(A) + abs(B)) <= PLANAR:
        return None
    sigma = end_bound(A, B, sign)
    solve = None if sigma is None else _factor(A, B, sigma, sign)
    if solve is None:
        return None
    return EndInverse(sigma, lambda X: sign * solve(X), _fingerprint(A, B, sign), solve)


def keep(end: EndInverse, w: np.ndarray) -> None:
    """Keep the forward's factorisation with the eigenvalues ``w`` it found nearest ``σ`` (one kept at
    a time): it then preconditions the backward's solves of the same window (:func:`shifted_inverse`),
    which would otherwise factor the same matrix again at a nearer shift (2-D well, n = 10^6: 9 s). A
    factorisation further beyond the end is still definite; the preconditioned solves' condition
    grows like ``(λ_{k+1} - σ')/(λ_{k+1} - σ)``, at most 2 where it is used."""
    global _kept
    _kept = (end, np.sort(np.abs(np.asarray(w, dtype=float) - end.sigma)))


_kept: tuple[EndInverse, np.ndarray] | None = None


def shifted_inverse(A: Any, B: Any, sigma: float, sign: float, w: np.ndarray | None = None
                    ) -> Callable[[np.ndarray], np.ndarray] | None:
    """``X -> (s (A - σB))^{-1} X`` on NumPy blocks, or None where none is built: ``A`` (and ``B``)
    not SciPy sparse matrices (functions, dense arrays), ``n > MAX_N``, ``n > MAX_N_VOLUME`` for a
    sparsity graph that is not planar (:func:`mesh_dimension`), a singular or not positive definite
    ``s (A - σB)``. With ``w`` (the window's eigenvalues), the kept forward factorisation (:func:`keep`)
    serves instead where it is of the same matrices, its window's nearest values are ``w`` (so none
    was missed at the end: the inertia check it replaces) and its ``σ'`` is at most twice as far
    from ``w`` as ``σ``."""
    if not sparse(A, B) or A.shape[0] > MAX_N:
        return None
    if w is not None and _kept is not None and _kept[0].key == _fingerprint(A, B, sign):
        end, dist = _kept
        w = np.asarray(w, dtype=float)
        d = np.sort(np.abs(w - end.sigma))
        near = dist[:d.size]
        if (d.size == near.size and np.allclose(d, near, rtol=1e-5, atol=0)
                and 0 <= sign * (sigma - end.sigma) <= np.max(np.abs(w - sigma))):
            return end.solve
    if A.shape[0] > MAX_N_VOLUME and not mesh_dimension(A if B is None else abs(A) + abs(B)) <= PLANAR:
        return None
    return _factor(A, B, sigma, sign)


def _factor(A: Any, B: Any, sigma: float, sign: float) -> Callable[[np.ndarray], np.ndarray] | None:
    """The factorisation of :func:`shifted_inverse` and :func:`end_inverse` (symmetric mode; its
    pivots give the inertia), the callers having checked where it pays."""
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
        """Zero columns (converged ones of a block solve, ``krylov.cg``) are not solved."""
        Y = np.asarray(X, dtype=np.result_type(X.dtype, M.dtype))
        live = np.flatnonzero(np.any(Y != 0, axis=0)) if Y.ndim == 2 else None
        if live is None or live.size == Y.shape[1]:
            return lu.solve(Y).astype(X.dtype, copy=False)
        Z = np.zeros_like(Y)
        if live.size:
            Z[:, live] = lu.solve(np.ascontiguousarray(Y[:, live]))
        return Z.astype(X.dtype, copy=False)

    return solve


def _fingerprint(A, B, sign: float) -> tuple:
    """Identifies the matrices by content (the front ends build new SciPy objects per call)."""
    def one(M):
        if M is None:
            return None
        M = sp.csr_matrix(M)
        h = hashlib.blake2b(digest_size=16)
        for x in (M.indptr, M.indices, M.data):
            h.update(np.ascontiguousarray(x).view(np.uint8))
        return M.shape, M.dtype.str, h.hexdigest()
    return one(A), one(B), sign
