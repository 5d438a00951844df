"""Krylov solvers for blocks of independent linear systems ``M_j x_j = b_j`` (one column each), as
the adjoint of a truncated eigensolve needs: every column has its own Krylov space and scalars, while
the operator is applied to the whole block at once (one product with ``A`` per step for all columns).

``op(X)`` applies all ``M_j`` column-wise; ``prec(R)`` an optional preconditioner. Residuals are
measured in the 2-norm relative to ``||b_j||``; a zero right-hand side gives ``x_j = 0`` at once.
Each returns ``(x, relative residual norms (m,), steps)``; converged columns are frozen.
"""

from __future__ import annotations

from typing import Callable

from .._backend import Array, namespace, real
from .comm import cdot, cnorm
from .loop import noise, safe_div, while_loop

Op = Callable[[Array], Array]


def _identity(X: Array) -> Array:
    return X


def _frozen(xp, body: Callable, tol: float, res_at: int) -> Callable:
    """``body`` that leaves converged columns (residual ``<= tol`` before the step) untouched:
    continuing a converged short recurrence divides rounding noise by rounding noise."""
    def step(s):
        active = s[res_at] > tol
        new = body(s)
        out = []
        for a, b in zip(new, s):
            if a.ndim == 2:
                out.append(xp.where(active[None, :], a, b))
            elif a.ndim == 1 and a.shape[0] == active.shape[0]:
                out.append(xp.where(active, a, b))
            else:
                out.append(a)
        return tuple(out)
    return step


def cg(op: Op, b: Array, *, prec: Op | None = None, tol: float, maxiter: int) -> tuple[Array, Array, Array]:
    """Preconditioned conjugate gradients; each ``M_j`` Hermitian positive definite on the space
    the iterates live in, ``prec`` Hermitian positive definite. A converged column is frozen by its
    step length: ``α_j = 0``, and its search direction is zero from then on (its residual enters the
    preconditioner as zeros, which a host factorisation skips: on the 2-D well the k = 8 columns
    converge in 10 ... 44 steps)."""
    xp = namespace(b)
    prec = prec or _identity
    bnorm = cnorm(xp, b)
    zero = xp.zeros_like(b)

    def rel(r):
        return safe_div(xp, cnorm(xp, r), bnorm)

    res0 = rel(b)
    z = prec(xp.where((res0 > tol)[None, :], b, zero))
    rz = real(cdot(xp, b, z))

    def cond(s):
        return xp.logical_and(s[-1] < maxiter, xp.max(s[-2]) > tol)

    def body(s):
        x, r, p, rz, res, it = s
        q = op(p)
        alpha = xp.where(res > tol, safe_div(xp, rz, real(cdot(xp, p, q))), xp.zeros_like(rz))
        a = xp.astype(alpha, b.dtype)[None, :]
        x = x + a * p
        r = r - a * q
        res = rel(r)
        z = prec(xp.where((res > tol)[None, :], r, zero))
        rz_new = real(cdot(xp, r, z))
        beta = safe_div(xp, rz_new, rz)
        p = z + xp.astype(beta, b.dtype)[None, :] * p
        return x, r, p, rz_new, res, it + 1

    x, r, _, _, res, it = while_loop(xp, cond, body, (zero, b, z, rz, res0, xp.asarray(0)))
    return x, res, it


def minres(op: Op, b: Array, *, prec: Op | None = None, tol: float, maxiter: int) -> tuple[Array, Array, Array]:
    """Preconditioned MINRES (Paige–Saunders) for Hermitian, possibly indefinite ``M_j``, complex
    allowed: the Lanczos coefficients of a Hermitian operator are real, so the Givens rotations are
    real while the vectors may be complex. ``prec`` must be Hermitian positive definite."""
    xp = namespace(b)
    prec = prec or _identity
    rdt = real(b[:0, 0]).dtype
    m = b.shape[1]
    bnorm = cnorm(xp, b)
    y = prec(b)
    beta1 = xp.sqrt(xp.abs(real(cdot(xp, b, y))))
    zeros = xp.zeros((m,), dtype=rdt)
    ones = xp.ones((m,), dtype=rdt)
    Z = xp.zeros_like(b)
    # state: x, r1, r2, y, w, w2, oldb, beta, dbar, epsln, phibar, cs, sn, res, it
    state = (Z, b, b, y, Z, Z, zeros, beta1, zeros, zeros, beta1, -ones, zeros,
             xp.where(bnorm > 0, ones, zeros), xp.asarray(0))

    def cast(s):
        return xp.astype(s, b.dtype)[None, :]

    def cond(s):
        return xp.logical_and(s[-1] < maxiter, xp.max(s[-2]) > tol)

    def body(s):
        x, r1, r2, y, w, w2, oldb, beta, dbar, epsln, phibar, cs, sn, _, it = s
        v = cast(safe_div(xp, ones, beta)) * y
        y = op(v)
        y = xp.where(it >= 1, y - cast(safe_div(xp, beta, oldb)) * r1, y)
        alfa = real(cdot(xp, v, y))
        y = y - cast(safe_div(xp, alfa, beta)) * r2
        r1, r2 = r2, y
        y = prec(r2)
        oldb, beta = beta, xp.sqrt(xp.abs(real(cdot(xp, r2, y))))
        oldeps = epsln
        delta = cs * dbar + sn * alfa
        gbar = sn * dbar - cs * alfa
        epsln = sn * beta
        dbar = -cs * beta
        gamma = xp.sqrt(gbar * gbar + beta * beta)
        cs = safe_div(xp, gbar, gamma)
        sn = safe_div(xp, beta, gamma)
        phi = cs * phibar
        phibar = sn * phibar
        w1, w2 = w2, w
        w = (v - cast(oldeps) * w1 - cast(delta) * w2) * cast(safe_div(xp, ones, gamma))
        x = x + cast(phi) * w
        # phibar is the preconditioned residual norm; report it relative to its start.
        res = safe_div(xp, phibar, beta1)
        return x, r1, r2, y, w, w2, oldb, beta, dbar, epsln, phibar, cs, sn, res, it + 1

    out = while_loop(xp, cond, _frozen(xp, body, tol, 13), state)
    x, it = out[0], out[-1]
    return x, safe_div(xp, cnorm(xp, b - op(x)), bnorm), it


def gmres(op: Op, b: Array, *, prec: Op | None = None, tol: float, maxiter: int,
          restart: int = 30) -> tuple[Array, Array, Array]:
    """Restarted right-preconditioned GMRES(``restart``); ``maxiter`` counts products with ``op``.
    Each cycle builds ``restart`` Arnoldi vectors per column (modified Gram–Schmidt) and solves the
    small least-squares problem by pseudo-inverse, so breakdown (an exhausted Krylov space) is safe."""
    xp = namespace(b)
    prec = prec or _identity
    bnorm = cnorm(xp, b)
    cycles = max(1, -(-maxiter // restart))

    def cycle(x):
        r = b - op(x)
        beta = cnorm(xp, r)
        Q = [r * xp.astype(safe_div(xp, xp.ones_like(beta), beta), b.dtype)[None, :]]
        H = []  # H[j] has shape (j + 2, m): column j of the Hessenberg matrix, per system
        for j in range(restart):
            u = op(prec(Q[j]))
            h = []
            for q in Q:
                c = cdot(xp, q, u)
                u = u - q * c[None, :]
                h.append(c)
            for i, q in enumerate(Q):  # second Gram–Schmidt pass
                c = cdot(xp, q, u)
                u = u - q * c[None, :]
                h[i] = h[i] + c
            nu = cnorm(xp, u)
            h.append(xp.astype(nu, b.dtype))
            Q.append(u * xp.astype(safe_div(xp, xp.ones_like(nu), nu), b.dtype)[None, :])
            H.append(h)
        r1 = restart + 1
        Hm = xp.stack([xp.stack(h + [xp.zeros_like(h[0])] * (r1 - len(h)), axis=0) for h in H], axis=1)
        Hm = xp.moveaxis(Hm, -1, 0)  # (m, restart + 1, restart)
        e1 = xp.concat([xp.astype(beta, b.dtype)[:, None], xp.zeros((b.shape[1], restart), dtype=b.dtype)], axis=1)
        yk = (xp.linalg.pinv(Hm) @ e1[:, :, None])[:, :, 0]  # (m, restart)
        Qm = xp.stack(Q[:restart], axis=0)  # (restart, n, m)
        dx = xp.sum(Qm * xp.moveaxis(yk, 0, 1)[:, None, :], axis=0)
        return x + prec(dx)

    def rel(x):
        return safe_div(xp, cnorm(xp, b - op(x)), bnorm)

    def cond(s):
        return xp.logical_and(s[-1] < cycles, xp.max(s[1]) > tol)

    def body(s):
        x, _, it = s
        x = cycle(x)
        return x, rel(x), it + 1

    x, res, it = while_loop(xp, cond, _frozen(xp, body, tol, 1), (xp.zeros_like(b), rel(xp.zeros_like(b)), xp.asarray(0)))
    return x, res, it * restart


def bicgstab(op: Op, b: Array, *, prec: Op | None = None, tol: float, maxiter: int) -> tuple[Array, Array, Array]:
    """Right-preconditioned BiCGStab (van der Vorst) for general ``M_j``: short recurrences, so
    memory stays ``O(n m)`` however many steps it takes (two products with ``op`` per step)."""
    xp = namespace(b)
    prec = prec or _identity
    bnorm = cnorm(xp, b)
    one = xp.ones(b.shape[1:], dtype=b.dtype)
    Z = xp.zeros_like(b)

    def cast(s):
        return s[None, :]

    def cond(s):
        return xp.logical_and(s[-1] < maxiter, xp.max(s[-2]) > tol)

    def body(s):
        x, r, rhat, p, v, rho, alpha, omega, _, it = s
        rho_new = cdot(xp, rhat, r)
        beta = safe_div(xp, rho_new, rho) * safe_div(xp, alpha, omega)
        p = r + cast(beta) * (p - cast(omega) * v)
        ph = prec(p)
        v = op(ph)
        alpha = safe_div(xp, rho_new, cdot(xp, rhat, v))
        s_ = r - cast(alpha) * v
        sh = prec(s_)
        t = op(sh)
        omega = safe_div(xp, cdot(xp, t, s_), cdot(xp, t, t))
        x = x + cast(alpha) * ph + cast(omega) * sh
        r = s_ - cast(omega) * t
        return x, r, rhat, p, v, rho_new, alpha, omega, safe_div(xp, cnorm(xp, r), bnorm), it + 1

    # Shadow residual: b plus a dense pseudo-random part. With r̂ = b a sparse right-hand side
    # (an eigenvalue-only cotangent is [0; λ̄]) loses r̂ᴴr after one step and BiCGStab stalls.
    rhat = b + noise(xp, b.shape[0], xp.asarray(7), b) * xp.astype(bnorm, b.dtype)[None, :]
    state = (Z, b, rhat, Z, Z, one, one, one, safe_div(xp, bnorm, bnorm), xp.asarray(0))
    out = while_loop(xp, cond, _frozen(xp, body, tol, 8), state)
    x = out[0]
    return x, safe_div(xp, cnorm(xp, b - op(x)), bnorm), 2 * out[-1]
