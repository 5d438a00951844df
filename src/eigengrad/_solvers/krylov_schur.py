"""Krylov–Schur (Stewart 2001) for ``k`` eigenpairs of a Hermitian or general operator at one end of
its spectrum, with fixed shapes so that it runs under ``jax.jit``; for Hermitian operators it is
thick-restart Lanczos (Wu & Simon 2000). No ``B`` and no shift: generalized problems need LOBPCG.

The solver keeps a Krylov decomposition ``A Q_m = Q_m H + q_m h^H`` (``Q = [Q_m, q_m]``, ``n × (m+1)``,
orthonormal; ``H`` ``m × m``; ``h^H`` the coupling row, ``H``'s last row in the code). A cycle
extends it column by column to ``m = ncv`` by Arnoldi steps with full re-orthogonalisation
(classical Gram–Schmidt twice), computes the Ritz pairs ``(θ_i, Q_m y_i)`` of ``H``, and restarts:
``Y`` = an orthonormal basis of the ``p`` wanted Ritz vectors of ``H`` (an invariant subspace of
``H``), ``Q_m <- Q_m Y``, ``H <- Y^H H Y``, ``h^H <- h^H Y``. Ritz pair ``i`` has residual norm
``|h^H y_i|`` (unit ``y_i``). When the Krylov space is exhausted (``A q_j`` in the span of ``Q``)
the coupling is set to zero and the basis continues with a pseudo-random vector (deterministic).

A single vector's Krylov space holds one vector per distinct eigenvalue, so the second copy of a
multiple eigenvalue only appears through rounding and is easily missed. Hence a confirmation: once
the ``k`` wanted pairs have converged they are locked (coupling set to zero) and the rest of the
basis restarts from a pseudo-random vector; the solver stops when, after such a restart, the
wanted values are unchanged and the next Ritz pair (the guard) has converged too (for a Hermitian
operator to residual ``sqrt(tol)``, which makes its value accurate to ``O(tol)``).

General problems run in complex arithmetic. A real ``x0`` means a real operator: ``A`` is then only
ever called on real blocks (real and imaginary parts side by side). Otherwise ``A`` is called on
blocks of ``x0``'s dtype: a complex Hermitian operator needs a complex ``x0``.
"""

from __future__ import annotations

from typing import Any, Callable, NamedTuple

from array_api_compat import device

from .._backend import Array, diag_embed, eps, herm, is_complex, mH, namespace
from .comm import cnorm, inner
from .loop import branch, column, noise, safe_div, set_column, while_loop
from .window import GENERAL_WHICH, HERMITIAN_WHICH, key

Op = Callable[[Array], Array]


class Result(NamedTuple):
    w: Array  # (m,) all Ritz values, the wanted end first (window order); real for Hermitian A
    X: Array  # (n, m) unit-norm Ritz vectors
    res: Array  # (m,) true residual norms ||A x - θ x|| / max|θ| over the k wanted
    iters: Array  # restarts (cycles after the first); products with A: at most m + iters (m - k)
    # single columns, then one block of m columns for ``res``


def _real_split(xp: Any, A: Op) -> Op:
    """``A`` on complex blocks for a real operator that accepts real blocks only: one call on
    ``[Re V, Im V]``."""
    def op(V: Array) -> Array:
        c = V.shape[1]
        AV = A(xp.concat([xp.real(V), xp.imag(V)], axis=1))
        return xp.astype(AV[:, :c], V.dtype) + 1j * xp.astype(AV[:, c:], V.dtype)
    return op


def default_ncv(n: int, k: int) -> int:
    """The Krylov basis size used when ``ncv`` is not given."""
    return min(n - 1, max(5 * k, 40))


def krylov_schur(
    A: Op, x0: Array, k: int, *, which: str, hermitian: bool, ncv: int | None = None,
    tol: float, maxiter: int,
) -> Result:
    """All ``ncv`` Ritz pairs of ``A`` from the Krylov space of ``x0`` (``(n, 1)``), the ``k`` wanted
    first (``which``: ``window.HERMITIAN_WHICH`` or ``GENERAL_WHICH``). Stops when the residual
    estimates ``|h^H y_i| / max|θ|`` of the ``k`` wanted are ``<= tol``, and of the next pair ``<= tol``
    (general) or ``<= sqrt(tol)`` (Hermitian), after a confirmation restart (module docstring), or after ``maxiter`` restarts: check ``res``."""
    xp = namespace(x0)
    n = x0.shape[0]
    whiches = HERMITIAN_WHICH if hermitian else GENERAL_WHICH
    if which not in whiches:
        raise ValueError(f"krylov_schur: which must be one of {whiches}, got {which!r}")
    m = default_ncv(n, k) if ncv is None else ncv
    if not 0 < k < m < n:
        raise ValueError(f"krylov_schur: need 0 < k < ncv < n, got k={k}, ncv={m}, n={n}")
    p = k + (m - k) // 2  # Ritz vectors kept at a restart, k <= p < m
    # The guard is used as a value only (the gap to the next eigenvalue). A Hermitian Ritz value with
    # residual r is within r^2 / δ of an eigenvalue (δ: the distance to the others), so a residual
    # sqrt(tol) makes it as accurate as the wanted values; a general Ritz value needs r <= tol.
    gtol = tol ** 0.5 if hermitian else tol

    Aop = A
    x = x0
    if not hermitian and not is_complex(x0):
        Aop = _real_split(xp, A)
        x = xp.astype(x0, xp.result_type(x0.dtype, xp.complex64))
    dt = x.dtype
    dev = device(x)
    small = m * eps(x)  # relative size of a vector that lies in span(Q) up to rounding
    rows = xp.arange(m + 1, device=dev)
    cols = xp.arange(m, device=dev)

    def normalize(v: Array) -> Array:
        return v * xp.astype(safe_div(xp, xp.ones_like(cnorm(xp, v)), cnorm(xp, v)), dt)[None, :]

    def expand(Q: Array, H: Array, j0: int | Array, seed: Array) -> tuple[Array, Array]:
        """Arnoldi steps ``j = j0 .. m-1``: column ``j + 1`` of ``Q`` and column ``j`` of ``H``."""
        def fresh(Q: Array, j: Array) -> Array:
            """A unit pseudo-random vector orthogonal to ``Q``'s first ``j + 1`` columns, or zero."""
            low = xp.astype(rows <= j, dt)[None, :]
            r = noise(xp, n, seed * (m + 1) + j, Q)
            v = r
            for _ in range(2):
                v = v - (Q * low) @ inner(xp, Q * low, v)
            return xp.where((cnorm(xp, v) > small * cnorm(xp, r))[None, :], normalize(v), xp.zeros_like(v))

        def body(s):
            Q, H, j = s
            low = xp.astype(rows <= j, dt)[:, None]
            w = Aop(column(xp, Q, j))
            C1 = inner(xp, Q, w) * low
            W = w - Q @ C1
            C2 = inner(xp, Q, W) * low
            W = W - Q @ C2
            beta = cnorm(xp, W)
            exhausted = beta <= small * cnorm(xp, w)
            # an exhausted Krylov space: zero coupling, continue with orthogonalised noise
            q = branch(xp, exhausted[0], lambda: fresh(Q, j), lambda: normalize(W))
            beta = xp.where(exhausted, xp.zeros_like(beta), beta)
            hcol = (C1 + C2)[:, 0] + xp.astype(rows == j + 1, dt) * xp.astype(beta, dt)
            Q = set_column(xp, Q, j + 1, q)
            H = xp.where((cols == j)[None, :], hcol[:, None], H)
            return Q, H, j + 1

        Q, H, _ = while_loop(xp, lambda s: s[2] < m, body, (Q, H, xp.asarray(j0, device=dev)))
        return Q, H

    def ritz(H: Array) -> tuple[Array, Array, Array, Array]:
        """Ritz values and unit vectors of ``H``, residual estimates ``|h^H y| / max|θ_wanted|`` (the
        scale the front ends test residuals against), and the order with the wanted end first."""
        if hermitian:
            theta, U = xp.linalg.eigh(herm(H[:m, :]))
        else:
            theta, U = xp.linalg.eig(H[:m, :])
            U = normalize(U)
        order = xp.argsort(key(xp, theta, which, None), stable=True)
        scale = xp.max(xp.abs(xp.take(theta, order[:k], axis=0)))
        est = xp.abs(H[m:, :] @ U)[0, :] / xp.where(scale > 0, scale, xp.ones_like(scale))
        return theta, U, est, order

    def restart(Q: Array, H: Array, theta: Array, U: Array, order: Array, inject: Array, seed: Array
                ) -> tuple[Array, Array, Array]:
        """Truncate the decomposition to the ``p`` wanted Ritz directions, continued by ``q_m``; or,
        when ``inject``, lock the ``k`` wanted ones (coupling set to zero) and continue with noise
        orthogonal to them. Returns ``Q, H`` and the column where the expansion resumes."""
        sel = order[:p]
        if hermitian:
            Y = xp.take(U, sel, axis=1)
            S = diag_embed(xp.astype(xp.take(theta, sel, axis=0), dt))
        else:
            Y = xp.linalg.qr(xp.take(U, sel, axis=1))[0]  # leading k columns span the wanted k
            S = mH(Y) @ H[:m, :] @ Y
        QY = Q[:, :m] @ Y

        def locked() -> Array:
            v = noise(xp, n, -1 - seed, Q)
            for _ in range(2):
                v = v - QY[:, :k] @ inner(xp, QY[:, :k], v)
            return xp.concat([QY[:, :k], normalize(v), xp.zeros((n, m - k), dtype=dt, device=dev)], axis=1)

        Q = branch(xp, inject, locked,
                   lambda: xp.concat([QY, Q[:, m:], xp.zeros((n, m - p), dtype=dt, device=dev)], axis=1))
        top = xp.concat([S, H[m:, :] @ Y], axis=0)
        H = xp.concat([xp.concat([top, xp.zeros((m - p, p), dtype=dt, device=dev)], axis=0),
                       xp.zeros((m + 1, m - p), dtype=dt, device=dev)], axis=1)
        block = xp.astype((rows[:, None] < k) & (cols[None, :] < k), dt)
        return (Q, xp.where(inject, H * block, H),
                xp.where(inject, xp.asarray(k, device=dev), xp.asarray(p, device=dev)))

    def status(theta: Array, est: Array, order: Array, lock: Array, phase: Array) -> tuple[Array, Array]:
        """``(finished, inject)``: the confirmation of the module docstring. ``lock`` holds the
        wanted values at the last confirmation restart, ``phase`` counts those restarts; the wanted
        values are unchanged when the two sets match within ``4 tol max|θ|``, in either direction."""
        wanted = xp.take(theta, order[:k], axis=0)
        conv = xp.max(xp.take(est, order[:k], axis=0)) <= tol
        guard = xp.take(est, order[k:k + 1], axis=0)[0] <= gtol
        d = safe_div(xp, xp.abs(wanted[:, None] - lock[None, :]), xp.max(xp.abs(theta)))
        same = xp.maximum(xp.max(xp.min(d, axis=0)), xp.max(xp.min(d, axis=1))) <= 4 * max(tol, small)
        finished = conv & guard & same & (phase > 0)
        return finished, conv & xp.logical_not(finished) & ((phase == 0) | guard)

    x = xp.where(cnorm(xp, x)[None, :] > 0, x, noise(xp, n, xp.asarray(-1, device=dev), x))
    Q = xp.concat([normalize(x), xp.zeros((n, m), dtype=dt, device=dev)], axis=1)
    zero = xp.asarray(0, device=dev)
    Q, H = expand(Q, xp.zeros((m + 1, m), dtype=dt, device=dev), 0, zero)
    theta, U, est, order = ritz(H)

    def cond(s):
        Q, H, theta, U, est, order, lock, phase, it = s
        return (it < maxiter) & xp.logical_not(status(theta, est, order, lock, phase)[0])

    def body(s):
        Q, H, theta, U, est, order, lock, phase, it = s
        inject = status(theta, est, order, lock, phase)[1]
        lock = xp.where(inject, xp.take(theta, order[:k], axis=0), lock)
        Q, H, j0 = restart(Q, H, theta, U, order, inject, it + 1)
        Q, H = expand(Q, H, j0, it + 1)
        return (Q, H, *ritz(H), lock, phase + xp.astype(inject, phase.dtype), it + 1)

    state = (Q, H, theta, U, est, order, xp.take(theta, order[:k], axis=0), zero, zero)
    Q, H, theta, U, est, order, *_, it = while_loop(xp, cond, body, state)
    w = xp.take(theta, order, axis=0)
    X = normalize(Q[:, :m] @ xp.take(U, order, axis=1))
    scale = xp.max(xp.abs(w[:k]))
    res = cnorm(xp, Aop(X) - X * xp.astype(w, dt)[None, :]) / xp.where(scale > 0, scale, xp.ones_like(scale))
    return Result(w, X, res, it)
