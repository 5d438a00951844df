"""ARPACK for ``k`` Hermitian pairs, confirmed: no copy of a multiple eigenvalue missed, and the
next eigenvalue found (the gap, for cut-cluster detection).

A single-vector Krylov run can miss the second copy of a (numerically) multiple eigenvalue: it
only ever misses extra copies of eigenvalues it has found. So after the forward run (``k`` pairs,
as a user's SciPy call) a second, cheap run (2 pairs, tolerance ``sqrt(tol)``, fresh random start)
looks at the pencil with the converged B-orthonormal ``V`` moved out of the way:

- ``which``: ``A' = A ± s (BV)(BV)^H``, which moves each ``λ_i`` by ``±s`` away from the wanted end
  (``s = (spread of w) + max|w|``) and leaves every eigenpair B-orthogonal to ``V`` unchanged;
- ``sigma``: ``(A - σB)^{-1} - V diag(1/(λ_i - σ)) V^H``, which maps them to zero magnitude.

Its nearest value ``μ`` is the next eigenvalue, unless it lies inside the window (within a
tolerance margin of the ``k``-th): then it is a missed copy, recomputed to ``tol``, locked in with
the others and the check repeats. The nearest value of the final check is returned as the guard.
"""

from __future__ import annotations

import math

import numpy as np
import scipy.linalg as la
import scipy.sparse.linalg as sla

from ..errors import ConvergenceError
from . import arpack

CHECK_PAIRS = 2  # values found per confirmation run
MAX_ROUNDS = 16  # missed copies locked in, at least one per round


def _key(w: np.ndarray, which: str, sigma) -> np.ndarray:
    """Distance into the spectrum from the target: the window is the ``k`` smallest keys."""
    if sigma is not None:
        return np.abs(w - sigma)
    return w if which == "smallest" else -w


def eigsh(A, k: int, *, which: str, sigma=None, B=None, v0=None, tol: float, maxiter: int):
    """``(w, V)``: at least ``k`` pairs nearest the target (the ``k`` wanted, copies locked in beyond
    them) and, last, the nearest uncomputed eigenvalue's estimate (its vector to ``sqrt(tol)``);
    order them with ``window.split``. Small problems (``n <= 2k + 24``) are solved densely."""
    n = A.shape[0]
    dt = arpack.dtype_of(A, B)
    if n <= 2 * k + 24:
        return la.eigh(arpack.dense(A, n, dt), None if B is None else arpack.dense(B, n, dt))
    inverse = arpack.factor(A, B, sigma)
    if sigma is not None and inverse is None:  # no matrix to factor: SciPy's iterative inverse, a guard pair
        return arpack.run_eigsh(A, min(k + 1, n - 1), which=which, sigma=sigma, B=B, v0=v0, tol=tol,
                                maxiter=maxiter)
    w, V = arpack.run_eigsh(A, k, which=which, sigma=sigma, B=B, inverse=inverse, v0=v0, tol=tol, maxiter=maxiter)
    for r in range(MAX_ROUNDS):
        key = _key(w, which, sigma)
        edge = np.sort(key)[k - 1]
        margin = math.sqrt(tol) * (edge if sigma is not None else np.max(np.abs(w)))
        start = np.random.default_rng(r + 1).standard_normal(n).astype(dt)
        run = _deflated(A, B, w, V, which, sigma, inverse, start, maxiter)
        mu, U = run(math.sqrt(tol))
        if np.all(_key(mu, which, sigma) > edge + margin):
            return np.concatenate([w, mu]), np.concatenate([V, U], axis=1)
        mu, U = run(tol)  # a missed copy: to full accuracy
        inside = _key(mu, which, sigma) <= edge + margin
        if not np.any(inside):
            return np.concatenate([w, mu]), np.concatenate([V, U], axis=1)
        w, V = np.concatenate([w, mu[inside]]), np.concatenate([V, U[:, inside]], axis=1)
    raise ConvergenceError(
        f"eigsh: more than {MAX_ROUNDS} copies of eigenvalues at the edge of the window were missed by "
        "ARPACK and locked in one by one; pass solver='lanczos' (block restarts) or a larger k.")


def _deflated(A, B, w, V, which, sigma, inverse, start, maxiter):
    """``tol -> (μ, U)``: the pairs nearest the target of the pencil with ``V`` moved away (module
    docstring), B-orthonormal."""
    n = A.shape[0]
    dt = arpack.dtype_of(A, B)
    nev = min(CHECK_PAIRS, n - 2)
    ncv = min(n - 1, 20)
    if sigma is not None:
        theta = (1.0 / (w - sigma)).astype(dt)

        def op_inv(y):
            Y = y.reshape(n, -1)
            return (inverse(Y) - V @ (theta[:, None] * (V.conj().T @ Y))).astype(dt, copy=False).reshape(y.shape)

        return lambda tol: arpack.run_eigsh(A, nev, which=which, sigma=sigma, B=B, inverse=op_inv, v0=start,
                                            tol=tol, maxiter=maxiter, ncv=ncv)
    BV = V if B is None else B @ V
    s = (np.max(w) - np.min(w)) + np.max(np.abs(w))
    s = (s if s > 0 else 1.0) * (1.0 if which == "smallest" else -1.0)

    def moved(x):
        X = x.reshape(n, -1)
        return (A @ X + s * (BV @ (BV.conj().T @ X))).astype(dt, copy=False).reshape(x.shape)

    op = sla.LinearOperator((n, n), matvec=moved, matmat=moved, dtype=dt)
    return lambda tol: arpack.run_eigsh(op, nev, which=which, B=B, inverse=inverse, v0=start, tol=tol,
                                        maxiter=maxiter, ncv=ncv)
