"""Block LOBPCG (Knyazev 2001) for the lowest eigenpairs of ``A x = λ B x``, ``A`` Hermitian, ``B``
Hermitian positive definite, with fixed shapes so that it runs under ``jax.jit``.

Each step: residuals ``R = A X - B X Θ``; ``W = T R`` (preconditioner ``T``, Hermitian positive
definite, ideally ``≈ (A - σB)^{-1}``); ``S = [W, P]`` is B-orthogonalised against ``X`` and
B-orthonormalised by SVQB (eigendecomposition of its Gram matrix; numerically dependent directions
become zero columns instead of being dropped); Rayleigh–Ritz on ``[X, S]`` gives the new ``X`` and
the implicit search direction ``P``. Zero columns are kept out of the Ritz selection by a large
diagonal sentinel; converged columns are soft-locked (they add no search direction). Per step one
product with ``A`` (and ``B``) on ``2m`` columns; the products of ``X`` are carried along.
"""

from __future__ import annotations

from typing import Any, Callable, NamedTuple

from .._backend import Array, eps, herm, namespace, real
from .comm import cnorm, inner
from .loop import while_loop

Op = Callable[[Array], Array]


class Result(NamedTuple):
    w: Array  # (m,) Ritz values, ascending (of the operator passed in)
    X: Array  # (n, m) B-orthonormal Ritz vectors
    res: Array  # (m,) residual norms ||A x - θ B x|| / max|θ|
    iters: Array  # number of steps taken


def _svqb(xp: Any, S: Array, BS: Array | None, drop: float) -> tuple[Array, Array | None, Array]:
    """B-orthonormalise the columns of ``S`` (given ``B S``; ``None`` when ``B = I``): ``S C`` with
    ``(S C)^H B (S C) = I`` on kept columns, zero columns where the Gram matrix is singular."""
    G = herm(inner(xp, S, S if BS is None else BS))
    d = real(xp.linalg.diagonal(G))
    d = xp.where(d > 0, 1 / xp.sqrt(xp.where(d > 0, d, xp.ones_like(d))), xp.zeros_like(d))
    G = G * xp.astype(d[:, None] * d[None, :], G.dtype)
    s, U = xp.linalg.eigh(G)
    keep = s > drop * xp.max(s)
    c = xp.where(keep, 1 / xp.sqrt(xp.where(keep, s, xp.ones_like(s))), xp.zeros_like(s))
    C = (xp.astype(d, U.dtype)[:, None] * U) * xp.astype(c, U.dtype)[None, :]
    return S @ C, None if BS is None else BS @ C, keep


def _project(xp: Any, S: Array, BS: Array | None, X: Array, BX: Array | None) -> tuple[Array, Array | None]:
    """Remove the B-components along B-orthonormal ``X``: ``S - X (BX)^H S``."""
    c = inner(xp, X if BX is None else BX, S)
    return S - X @ c, None if BS is None else BS - BX @ c


def lobpcg(
    A: Op, X0: Array, k: int, *, B: Op | None = None, T: Op | None = None,
    tol: float, maxiter: int,
) -> Result:
    """Lowest ``m = X0.shape[1]`` Ritz pairs of ``(A, B)``; stops when the first ``k`` residuals
    ``||A x_j - θ_j B x_j|| <= tol * max_i |θ_i|`` or after ``maxiter`` steps."""
    xp = namespace(X0)
    Bf = B or (lambda X: None)  # None stands for B X = X: no products, no bookkeeping
    T = T or (lambda X: X)
    m = X0.shape[1]
    drop = 100 * eps(X0)

    X, BX, _ = _svqb(xp, X0, Bf(X0), drop)
    X, BX, _ = _svqb(xp, X, BX, drop)
    AX = A(X)
    theta, Y = xp.linalg.eigh(herm(inner(xp, X, AX)))
    X, AX = X @ Y, AX @ Y
    BX = None if BX is None else BX @ Y

    def residual(theta, X, AX, BX):
        R = AX - (X if BX is None else BX) * xp.astype(theta, X.dtype)[None, :]
        scale = xp.max(xp.abs(theta))
        return R, cnorm(xp, R) / xp.where(scale > 0, scale, xp.ones_like(scale))

    R, res = residual(theta, X, AX, BX)

    def cond(state):
        it, res = state[-2], state[-1]
        return xp.logical_and(it < maxiter, xp.max(res[:k]) > tol)

    def body(state):
        X, AX, BX, P, theta, R, it, res = state
        # Soft locking: converged columns stop contributing search directions; their residuals are
        # rounding noise, which normalisation would blow up.
        live = xp.astype(res > tol, X.dtype)[None, :]
        S = xp.concat([T(R) * live, P * live], axis=1)
        BS = Bf(S)
        S, BS = _project(xp, S, BS, X, BX)
        S, BS, _ = _svqb(xp, S, BS, drop)
        S, BS = _project(xp, S, BS, X, BX)
        S, BS, keep = _svqb(xp, S, BS, drop)
        # Products of the new directions are computed, not combined: combining them would multiply
        # rounding errors by the normalisation of nearly dependent directions.
        AS = A(S)
        BS = None if B is None else B(S)
        Z = xp.concat([X, S], axis=1)
        AZ = xp.concat([AX, AS], axis=1)
        H = herm(inner(xp, Z, AZ))
        active = xp.concat([xp.ones((m,), dtype=keep.dtype), keep])
        big = 10 * (1 + xp.max(xp.abs(H))) * H.shape[0]
        pad = xp.where(active, xp.zeros_like(big), big)
        H = H + xp.astype(pad, H.dtype)[:, None] * xp.eye(H.shape[0], dtype=H.dtype)
        th, Y = xp.linalg.eigh(H)
        Y = Y[:, :m]
        theta = th[:m]
        X, AX = Z @ Y, AZ @ Y
        BX = None if B is None else xp.concat([BX, BS], axis=1) @ Y
        P = S @ Y[m:, :]
        R, res = residual(theta, X, AX, BX)
        return X, AX, BX, P, theta, R, it + 1, res

    state = (X, AX, BX, xp.zeros_like(X), theta, R, xp.asarray(0), res)
    X, AX, BX, P, theta, R, it, res = while_loop(xp, cond, body, state)
    return Result(theta, X, res, it)


def extremal(
    A: Op, X0: Array, k: int, *, largest: bool, B: Op | None = None, T: Op | None = None,
    tol: float, maxiter: int,
) -> tuple[Array, Array, Array, Array, Array]:
    """The ``k`` lowest (or highest) eigenpairs, ascending: ``(w, V, res, guard, iters)``, where
    ``guard`` are the Ritz values of the ``m - k`` extra block vectors (estimates of the next
    eigenvalues beyond the window). For the highest pairs LOBPCG runs on ``-A``."""
    xp = namespace(X0)
    sign = -1.0 if largest else 1.0
    Aop = (lambda X: -A(X)) if largest else A
    r = lobpcg(Aop, X0, k, B=B, T=T, tol=tol, maxiter=maxiter)
    w, X, res = sign * r.w[:k], r.X[:, :k], r.res[:k]
    guard = sign * r.w[k:]
    if largest:
        w, X, res = xp.flip(w, axis=0), xp.flip(X, axis=1), xp.flip(res, axis=0)
    return w, X, res, guard, r.iters
