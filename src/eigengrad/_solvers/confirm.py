"""ARPACK for ``k`` Hermitian pairs, confirmed: no copy of a multiple eigenvalue missed, and the
next eigenvalue found (the gap, for cut-cluster detection).

A single-vector Krylov run can miss the second copy of a (numerically) multiple eigenvalue: it
only ever misses extra copies of eigenvalues it has found. So after the forward run (``k`` pairs,
as a user's SciPy call) a second, cheap run (one pair, tolerance 1e-2 relative to the window's
scale, tightened only when the value lands near the window's edge; fresh random start) looks at
the pencil with the converged B-orthonormal ``V`` moved out of the way:

- ``which``: ``A' = A ± s (BV)(BV)^H``, which moves each ``λ_i`` by ``±s`` away from the wanted end
  (``s = 10 ((spread of w) + max|w|)``, 100 times more if a moved pair still comes out nearest)
  and leaves every eigenpair B-orthogonal to ``V`` unchanged;
- ``sigma``: ``P (A - σB)^{-1} P^H`` with ``P = I - V V^H B``, which maps them to zero magnitude.
  Projected on both sides, not ``(A - σB)^{-1} - V diag(1/(λ_i - σ)) V^H``: with ``σ`` at an
  eigenvalue ``1/(λ_i - σ) ~ 1/eps`` and that subtraction leaves an O(1) copy of ``v_i``, which the
  check then reported as a missed copy (a duplicated pair).

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
from . import arpack, factor, window

CHECK_PAIRS = 1  # one value per confirmation run: a second one near it costs 5-30x the products
LOOSE = 1e-2  # first tolerance of a confirmation run, relative to the window's scale
MAX_ROUNDS = 16  # missed copies locked in, one per round
MOVES = (10.0, 1e3)  # the converged pairs are moved by this times the window's scale (more if they come back)
# last tolerance of a confirmation run, times tol: ARPACK bounds its residual relative to the moved
# pencil's value (up to ~2x the window's scale), the returned pairs are checked relative to max|λ|
TIGHT = 0.25
SHIFT_INVERT_TOL = 1e-3


def eigsh(A, k: int, *, which: str, sigma=None, B=None, v0=None, tol: float, maxiter: int):
    """``(w, V)``: at least ``k`` pairs nearest the target (the ``k`` wanted, copies locked in beyond
    them) and, last, the nearest uncomputed eigenvalue's estimate (its vector less accurate);
    order them with ``window.split``. Small problems (``n <= 2k + 24``) are solved densely. Without
    ``sigma``, in shift-invert mode at a shift proven beyond the wanted end where that pays
    (``factor.end_inverse``: large sparse planar problems), else ARPACK's regular mode. In
    shift-invert mode ARPACK converges ``(λ - σ)^{-1}`` to its tolerance: it is asked for
    ``SHIFT_INVERT_TOL`` times ``tol`` so that ``A v - λ B v`` meets ``tol``."""
    n = A.shape[0]
    dt = arpack.dtype_of(A, B)
    if n <= 2 * k + 24:
        return la.eigh(arpack.dense(A, n, dt), None if B is None else arpack.dense(B, n, dt))
    end = factor.end_inverse(A, B, 1.0 if which == "smallest" else -1.0) if sigma is None else None
    if end is not None:
        sigma, inverse = end.sigma, end.inverse
    else:
        inverse = arpack.factor(A, B, sigma)
    if sigma is not None:
        tol = tol * SHIFT_INVERT_TOL
    if sigma is not None and inverse is None:  # no matrix to factor: SciPy's iterative inverse, a guard pair
        return arpack.run_eigsh(A, min(k + 1, n - 1), which=which, sigma=sigma, B=B, v0=v0, tol=tol,
                                maxiter=maxiter)
    w, V = arpack.run_eigsh(A, k, which=which, sigma=sigma, B=B, inverse=inverse, v0=v0, tol=tol, maxiter=maxiter)
    for r in range(MAX_ROUNDS):
        mu, U, edge, margin = _confirm(A, B, w, V, k, which, sigma, inverse, tol, maxiter, seed=r + 1)
        inside = window.key(np, mu, which, sigma) <= edge + margin
        if not np.any(inside):
            if end is not None:
                factor.keep(end, w)
            return np.concatenate([w, mu]), np.concatenate([V, U], axis=1)
        w, V = np.concatenate([w, mu[inside]]), np.concatenate([V, U[:, inside]], axis=1)
    raise ConvergenceError(
        f"eigsh: more than {MAX_ROUNDS} copies of eigenvalues at the edge of the window were missed by "
        "ARPACK and locked in one by one; pass solver='lanczos' (block restarts) or a larger k.")


def eigs(A, k: int, *, which: str, sigma=None, v0=None, tol: float, maxiter: int):
    """``eigs``'s host solve, confirmed: ``(w, V)``, the ``k`` wanted right eigenpairs (unit norm),
    missed copies locked in, and estimates of the next eigenvalues; order with ``window.split``.
    ARPACK's ``k + 1`` pairs (:func:`.arpack.eigs`), then, as for :func:`eigsh`, one-pair runs from
    fresh random starts on the operator with the computed pairs moved away: with ``Q`` an orthonormal
    basis of their (invariant) span and ``T = Q^H A Q``, ``A' = A + Q (f I - T) Q^H`` has the eigenvalue
    ``f`` (chosen far on the unwanted side) on ``span Q`` and the others of ``A`` unchanged (Schur
    deflation; no left eigenvectors needed); with ``sigma``, ``(A - σI)^{-1}`` is deflated to 0
    alike. A value within the margin of the window's edge is a missed copy, recomputed to
    ``TIGHT tol`` and locked in (its conjugate too, for a real ``A``). For non-normal matrices the
    residual bounds the eigenvalue's error only up to its condition number. Small problems
    (``n <= 2k + 24``): dense."""
    n = A.shape[0]
    if n <= 2 * k + 24:
        w, V = la.eig(arpack.dense(A, n, arpack.dtype_of(A)))
        return w, V / np.linalg.norm(V, axis=0)[None, :]
    w, V = arpack.eigs(A, k, which=which, sigma=sigma, v0=v0, tol=tol, maxiter=maxiter)
    inverse = None if sigma is None else arpack.factor(A, None, sigma)
    if sigma is not None and inverse is None:  # no matrix to factor (SciPy inverts iteratively): unconfirmed
        return w, V
    for r in range(MAX_ROUNDS):
        keys = window.key(np, w, which, sigma)
        edge = np.sort(keys)[k - 1]
        scale = float(np.max(np.abs(w - (0 if sigma is None else sigma)))) or 1.0
        margin = math.sqrt(tol) * scale
        mu, u = _confirm_general(A, w, V, which, sigma, inverse, tol, maxiter, edge, margin, seed=r + 1)
        if window.key(np, mu, which, sigma)[0] > edge + margin:
            return np.concatenate([w, mu]), np.concatenate([V, u], axis=1)
        if not np.issubdtype(A.dtype, np.complexfloating) and abs(mu[0].imag) > margin:  # a real A: its conjugate too
            mu, u = np.concatenate([mu, mu.conj()]), np.concatenate([u, u.conj()], axis=1)
        w, V = np.concatenate([w, mu]), np.concatenate([V, u], axis=1)
    raise ConvergenceError(
        f"eigs: more than {MAX_ROUNDS} copies of eigenvalues at the edge of the window were missed by "
        "ARPACK and locked in one by one; pass solver='arnoldi' (restarts from fresh vectors) or a larger k.")


def _confirm_general(A, w, V, which, sigma, inverse, tol, maxiter, edge, margin, seed):
    """``(μ, u)``: the wanted end of the deflated operator (:func:`eigs`), from a fresh start, to
    ``LOOSE`` while clearly beyond the window's edge, else to ``TIGHT tol``."""
    n = A.shape[0]
    Q, _ = np.linalg.qr(V)
    dt = np.result_type(A.dtype, V.dtype, np.complex64)
    start = np.random.default_rng(seed).standard_normal(n).astype(dt)
    apply_A = _complex_apply(lambda X: A @ X, A.dtype)
    if sigma is not None:
        base = _complex_apply(inverse, A.dtype)
        T, f = Q.conj().T @ base(Q), 0.0
    else:
        base = apply_A
        T = Q.conj().T @ base(Q)
        spread = float(np.max(np.abs(w - w[0]))) + float(np.max(np.abs(w)))
        f = _far(which, w, 10 * (spread or 1.0))
    for move in (1.0, 100.0):
        F = f * move if sigma is None and which != "largest_magnitude" else f

        def op(x, F=F):
            X = x.reshape(n, -1).astype(dt, copy=False)
            Y = base(X) + Q @ (F * (Q.conj().T @ X) - T @ (Q.conj().T @ X))
            return Y.reshape(x.shape)

        L = sla.LinearOperator((n, n), matvec=op, matmat=op, dtype=dt)
        target = "largest_magnitude" if sigma is not None else which
        v0 = start
        for t in _schedule(tol, exact=False):  # non-normal: a residual is no bound
            with arpack._converged("eigs"):
                nu, u = sla.eigs(L, k=1, which=arpack._GENERAL_WHICH[target], v0=v0, tol=t, maxiter=maxiter,
                                 ncv=min(n - 1, 20))
            mu = nu if sigma is None else sigma + 1 / nu
            u = u / np.linalg.norm(u, axis=0)[None, :]
            rho = np.linalg.norm(apply_A(u) - u * mu[None, :], axis=0)
            if window.key(np, mu, which, sigma)[0] - rho[0] > edge + margin:
                break
            v0 = u[:, 0]
        if np.linalg.norm(Q.conj().T @ u[:, 0]) < 0.5:
            break  # not one of the moved pairs
    if sigma is None:  # A u = μ u - Q (F - T) Q^H u: back to A's eigenvector u + Q y
        rhs = (F * (Q.conj().T @ u) - T @ (Q.conj().T @ u))
        y = np.linalg.lstsq(T - mu[0] * np.eye(T.shape[0]), rhs, rcond=None)[0]
    else:  # (A - σ)^{-1} u = ν u - Q T Q^H u (F = 0): the same with T and ν
        y = np.linalg.lstsq(T - nu[0] * np.eye(T.shape[0]), -(T @ (Q.conj().T @ u)), rcond=None)[0]
    u = u + Q @ y
    return mu, u / np.linalg.norm(u, axis=0)[None, :]


def _complex_apply(f, dtype):
    """``f`` on complex blocks for an operator of a real ``dtype`` (real and imaginary parts apart: a
    real operator may drop the imaginary part of its input)."""
    if np.issubdtype(dtype, np.complexfloating):
        return f
    return lambda X: f(X.real.copy()) + 1j * f(X.imag.copy()) if np.iscomplexobj(X) else f(X)


def _far(which: str, w, d: float) -> complex:
    """A value beyond the computed ones on the unwanted side of ``which``, ``d`` away."""
    return {"largest_magnitude": 0.0, "smallest_magnitude": float(np.max(np.abs(w))) + d,
            "largest_real": float(np.min(w.real)) - d, "smallest_real": float(np.max(w.real)) + d,
            "largest_imag": 1j * (float(np.min(w.imag)) - d), "smallest_imag": 1j * (float(np.max(w.imag)) + d)}[which]


def _confirm(A, B, w, V, k, which, sigma, inverse, tol, maxiter, seed):
    """``(μ, U, edge, margin)``: the nearest pair of the deflated pencil, to a tolerance loose while
    ``μ`` is clearly beyond the window's edge (``key(μ) - ρ > edge + margin``, ``ρ`` the run's
    residual bound) and tightened (by 1e-3 per run, restarted from its Ritz vector) up to ``TIGHT tol``
    otherwise; ``margin = sqrt(tol)`` times the window's scale."""
    keys = window.key(np, w, which, sigma)
    order = np.argsort(keys)
    edge = keys[order[k - 1]]
    n = A.shape[0]
    start = np.random.default_rng(seed).standard_normal(n).astype(arpack.dtype_of(A, B))
    for move in MOVES:
        run, scale = _deflated(A, B, w, V, w[order[k - 1]], which, sigma, inverse, maxiter, move)
        margin = math.sqrt(tol) * scale
        v0 = start
        for t in _schedule(tol, exact=B is None or (sigma is None and inverse is not None)):
            mu, U, rho = run(t, v0)
            if np.all(window.key(np, mu, which, sigma) - rho > edge + margin):
                break
            v0 = U[:, 0]
        BU = U if B is None else B @ U
        if sigma is not None or np.linalg.norm(V.conj().T @ BU[:, 0]) < 0.5:
            break  # not one of the moved pairs (those are only a lower bound on the next eigenvalue)
    return mu, U, edge, margin


def _schedule(tol: float, exact: bool) -> tuple[float, ...]:
    """The tolerances of one confirmation: ``LOOSE``, then at once ``TIGHT tol`` (a copy, recomputed
    to the window's accuracy) where the true residual bounds the error (``exact``, :func:`_residual`:
    the loose run then decides a value beyond the window's edge; steps between cost 15-25 % of the
    forward on the 3-D well at 30^3 and 40^3, whose edge pair is 1.6e-7 apart, and decided nothing);
    else with ``1e-3 LOOSE`` between, where ARPACK's own test is the bound (shift-invert with ``B``:
    on the FEM pair at 128^2 the loose value was 0.4 off, and a tight run to tell it from a copy
    cost 1.3x the forward run)."""
    steps = (LOOSE, LOOSE * 1e-3) if not exact else (LOOSE,)
    return tuple(max(t, tol * TIGHT) for t in steps) + (tol * TIGHT,)


def _deflated(A, B, w, V, w_edge, which, sigma, inverse, maxiter, move):
    """``(run, scale)``: ``run(tol, v0) -> (μ, U, ρ)`` the pairs nearest the target of the pencil with
    ``V`` moved away (module docstring), B-orthonormal, with ``ρ`` a bound on ``|μ - λ|`` for an
    eigenvalue ``λ`` of the pencil; ``scale``: the window's (``|λ - σ|`` or spread plus ``max|w|``).
    Without ``sigma`` the pencil is also shifted by ``c B`` so that ``|μ + c| >= scale``: ARPACK's
    test ``||r|| <= tol |θ|`` then bounds ``||r||`` relative to the window, not to ``|μ|``."""
    n = A.shape[0]
    dt = arpack.dtype_of(A, B)
    nev = min(CHECK_PAIRS, n - 2)
    ncv = min(n - 1, 20)
    BV = V if B is None else B @ V
    if sigma is not None:

        def op_inv(y):  # P (A - σB)^{-1} P^H y, P = I - V V^H B: both sides, see the module docstring
            Y = y.reshape(n, -1)
            Z = inverse(Y - BV @ (V.conj().T @ Y))
            return (Z - V @ (BV.conj().T @ Z)).astype(dt, copy=False).reshape(y.shape)

        def run_sigma(tol, v0):
            mu, U = arpack.run_eigsh(A, nev, which=which, sigma=sigma, B=B, inverse=op_inv, v0=v0, tol=tol,
                                     maxiter=maxiter, ncv=ncv)
            rho = 2 * tol * np.abs(mu - sigma)
            return mu, U, rho if B is not None else np.minimum(rho, _residual(A, None, mu, U, None))

        return run_sigma, abs(w_edge - sigma)
    sgn = 1.0 if which == "smallest" else -1.0
    scale = (np.max(w) - np.min(w)) + np.max(np.abs(w))
    scale = float(scale) if scale > 0 else 1.0
    c = sgn * scale - float(w_edge)  # moves the window's edge to ±scale

    def moved(x):
        X = x.reshape(n, -1)
        Y = A @ X + sgn * move * scale * (BV @ (BV.conj().T @ X)) + c * (X if B is None else B @ X)
        return Y.astype(dt, copy=False).reshape(x.shape)

    op = sla.LinearOperator((n, n), matvec=moved, matmat=moved, dtype=dt)

    def run(tol, v0):
        mu, U = arpack.run_eigsh(op, nev, which=which, B=B, inverse=inverse, v0=v0, tol=tol, maxiter=maxiter, ncv=ncv)
        rho = tol * np.abs(mu)  # ARPACK's test; mode 2 (B): the residual is measured in the B-norm
        return mu - c, U, np.minimum(rho, _residual(op, B, mu, U, inverse))

    return run, scale


def _residual(A, B, mu, U, inverse_B) -> np.ndarray:
    """``||A u - μ B u||_{B^{-1}}`` for unit-B-norm ``u``: some eigenvalue of the Hermitian pencil lies
    this close to ``μ`` (Kato); ARPACK's own test bounds it, usually 10-1000x too high, and a value a
    little beyond the window's edge then needed another, tighter run to be told from a copy. ``inf``
    where ``B^{-1}`` is not at hand."""
    R = A @ U - (U if B is None else B @ U) * mu[None, :]
    if B is None:
        return np.linalg.norm(R, axis=0)
    if inverse_B is None:
        return np.full(mu.shape, np.inf)
    return np.sqrt(np.abs(np.sum(np.conj(R) * inverse_B(R), axis=0)))
