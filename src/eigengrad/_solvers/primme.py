"""PRIMME on the host (``solver="primme"``): Davidson-type (GD+k / JDQMR) for ``k`` extreme or
shift-nearest pairs of a Hermitian(-definite) pencil ``A v = λ B v``, optional package
(``pip install primme``), imported on first use. Inputs are NumPy arrays, SciPy sparse matrices or
LinearOperators; no gradients here (the front ends wrap it).

Convergence is ARPACK's and the driver's: ``||A v - θ B v|| <= tol/2 · max(|θ|, |θ| of the pairs
already accepted)`` (PRIMME's own test is relative to its estimate of ``||A||``, looser by
``||A|| / |λ|`` for the smallest pairs of a Laplacian). PRIMME's soft locking can miss a copy of a
multiple eigenvalue (the second 1 of ``{1, 1, 3, ...}`` with ``k = 1`` or ``2``), so, as
:mod:`.confirm` does for ARPACK, a one-pair run B-orthogonal to the converged vectors (PRIMME's
``lock=``) from a fresh random start (the forward run's start has no component along the missed
copy once the found one is removed) finds either a missed copy (inside the window: recomputed to
``tol``, locked in, the check repeated) or the next eigenvalue (the gap). With ``sigma`` the
factorisation of ``A - σB`` (made once, :func:`.arpack.factor`) is PRIMME's preconditioner, unless
the caller gave one.
"""

from __future__ import annotations

import math
from contextlib import contextmanager
from typing import Callable

import numpy as np
import scipy.linalg as la

from ..errors import ConvergenceError
from . import arpack, window
from .confirm import LOOSE, MAX_ROUNDS

_WHICH = {"smallest": "SA", "largest": "LA"}
_MAXITER = -3  # PRIMME's error code for "maximum iterations or matvecs reached"


def load():
    """The ``primme`` module, or an ImportError saying how to get it."""
    try:
        import primme
    except ImportError:
        raise ImportError(
            "solver='primme' needs the optional PRIMME package: `pip install primme` (it builds from "
            "source against a BLAS/LAPACK, e.g. `pip install scipy-openblas32` first); or use "
            "solver='arpack' (the default on the host).") from None
    return primme


def eigsh(A, k: int, *, which: str, sigma=None, B=None, v0=None, tol: float, maxiter: int,
          preconditioner: Callable[[np.ndarray], np.ndarray] | None = None):
    """``(w, V)``: the ``k`` pairs nearest the target, copies of an edge eigenvalue locked in beyond
    them, and last the next eigenvalue's estimate (as :func:`.confirm.eigsh`; order them with
    ``window.split``), unit B-norm. Small problems (``n <= 2k + 24``) are solved densely."""
    lib = load()
    n = A.shape[0]
    dt = arpack.dtype_of(A, B)
    if n <= 2 * k + 24:
        return la.eigh(arpack.dense(A, n, dt), None if B is None else arpack.dense(B, n, dt))
    if preconditioner is None and sigma is not None:
        preconditioner = arpack.factor(A, B, sigma)
    run = _runner(lib, A, B, which, sigma, preconditioner, maxiter, n, dt)
    w, V = run(k, tol, None if v0 is None else np.asarray(v0).reshape(n, -1), None)
    for r in range(MAX_ROUNDS):
        edge = np.sort(window.key(np, w, which, sigma))[k - 1]
        scale = float(np.ptp(w) + np.max(np.abs(w))) or 1.0  # the window's, as confirm's
        margin = math.sqrt(tol) * ((scale if sigma is None else edge) or 1.0)
        start = np.random.default_rng(r + 1).standard_normal((n, 1)).astype(dt)  # fresh: see the docstring
        mu, U = run(1, LOOSE, start, V, scale)  # |μ - λ| <= ||r|| <= LOOSE/2 · scale
        if window.key(np, mu, which, sigma)[0] - LOOSE * scale <= edge + margin:
            mu, U = run(1, tol, U, V)  # maybe inside the window: decide (and keep it) at full accuracy
        if window.key(np, mu, which, sigma)[0] > edge + margin:
            return np.concatenate([w, mu]), np.concatenate([V, U], axis=1)
        w, V = np.concatenate([w, mu]), np.concatenate([V, U], axis=1)
    raise ConvergenceError(
        f"eigsh: more than {MAX_ROUNDS} copies of eigenvalues at the edge of the window were missed by "
        "PRIMME and locked in one by one; pass a larger k or solver='lanczos' (block restarts).")


def _runner(lib, A, B, which, sigma, T, maxiter, n, dt):
    """``run(nev, tol, v0, lock, floor) -> (w, V)``: one PRIMME call, B-orthogonal to ``lock``'s
    columns, converged as :func:`_test` says."""
    target = _WHICH[which] if sigma is None else sigma
    precond = None if T is None else arpack.as_operator(T, n, dt)

    def run(nev, tol, v0, lock, floor=0.0):
        with _converged():
            w, V = lib.eigsh(A, nev, M=B, which=target, v0=v0, lock=lock, OPinv=precond, maxiter=maxiter,
                             convtest=_test(tol, floor))
        return w, arpack.normalise(V, B)

    return run


def _test(tol: float, floor: float = 0.0):
    """PRIMME's ``convtest``: residual within ``tol / 2`` of the largest of ``|θ|``, the ``|θ|`` accepted
    so far and ``floor``."""
    scale = [floor]

    def converged(theta, _v, rnorm):
        ok = rnorm <= 0.5 * tol * max(abs(theta), scale[0])
        if ok:
            scale[0] = max(scale[0], abs(theta))
        return bool(ok)

    return converged


@contextmanager
def _converged():
    lib = load()
    try:
        yield
    except lib.PrimmeError as e:
        if e.err != _MAXITER:
            raise ConvergenceError(f"eigsh: PRIMME failed ({e}); use solver='arpack'.") from None
        raise ConvergenceError(
            f"eigsh: PRIMME did not converge ({e}). Increase maxiter, pass a preconditioner "
            "(an approximation of (A - σB)^{-1}), sigma for interior eigenvalues, or solver='arpack'.") from None
