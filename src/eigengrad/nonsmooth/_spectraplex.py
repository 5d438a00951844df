"""Quadratic programs over products of spectraplices, solved by a small barrier interior-point method.

Every step of the non-smooth layer reduces to one problem of this form. Blocks ``Z_p`` (Hermitian,
``q_p × q_p``) are grouped into terms ``t``; each term's blocks share one trace::

    minimise   F(z) = h(C z + g0) - l·z
    subject to Z_p ⪰ 0 (and Z_p ⪯ c_p I where a cap is given),   Σ_{p ∈ t} tr Z_p = w_t

with ``h(g) = -min_{lo ≤ d ≤ hi} (g·d + |d|²/(2τ))`` (separable, convex, piecewise quadratic). The
minimiser of the inner problem is the step ``d = clip(-τ g, lo, hi)``. Two cases matter:

* min-norm subgradient: ``l = 0``, ``τ = 1``, ``[lo, hi]`` = the tangent cone of the box (``±∞`` or
  0); then ``h(g) = ½|Π_T(-g)|²`` and ``d`` is the projected steepest-descent direction, unnormalised;
* proximal cluster-model step: ``l`` holds the eigenvalue offsets of the blocks and ``[lo, hi]`` the
  box around the current point; the dual of ``min_d Σ_t w_t λ_max(Λ_t + G_t(d)) + |d|²/(2τ)``.

Coordinates: an orthonormal basis ``E_b`` of Hermitian (or real symmetric) ``q × q`` matrices under
``<X, Y> = Re tr(X Y)``, so ``z_b = <E_b, Z>`` and ``|Z|_F = |z|``.

The barrier method keeps every ``Z_p ≻ 0`` and the trace equalities exactly; its duality gap is at
most ``μ Σ q_p``, and it stops once that is below ``gap_tol``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def hermitian_basis(q: int, complex_: bool) -> np.ndarray:
    """Orthonormal basis ``(m, q, q)`` of Hermitian ``q × q`` matrices (``m = q²``), or of real
    symmetric ones (``m = q(q+1)/2``) when ``complex_`` is False. Diagonal elements come first."""
    dtype = np.complex128 if complex_ else np.float64
    mats = []
    for a in range(q):
        E = np.zeros((q, q), dtype)
        E[a, a] = 1.0
        mats.append(E)
    s = 1.0 / np.sqrt(2.0)
    for a in range(q):
        for b in range(a + 1, q):
            E = np.zeros((q, q), dtype)
            E[a, b] = E[b, a] = s
            mats.append(E)
            if complex_:
                E = np.zeros((q, q), dtype)
                E[a, b], E[b, a] = 1j * s, -1j * s
                mats.append(E)
    return np.stack(mats) if mats else np.zeros((0, q, q), dtype)


def to_matrix(z: np.ndarray, E: np.ndarray) -> np.ndarray:
    """``Σ_b z_b E_b``."""
    q = E.shape[-1]
    return (z @ E.reshape(E.shape[0], q * q)).reshape(q, q)


def to_coords(Z: np.ndarray, E: np.ndarray) -> np.ndarray:
    """``z_b = Re tr(E_b Z) = Re Σ_ij conj(E_b)_ij Z_ij`` (``E_b`` Hermitian)."""
    return np.real(E.reshape(E.shape[0], -1).conj() @ Z.reshape(-1))


@dataclass(frozen=True)
class BlockLayout:
    """Sizes ``q_p``, term ``term_p`` of each block, the term traces ``w_t``, real/complex, and
    optional caps ``c_p`` (``Z_p ⪯ c_p I``; None: no cap)."""

    sizes: tuple[int, ...]
    terms: tuple[int, ...]
    traces: tuple[float, ...]
    complex_: bool
    caps: tuple[float | None, ...] = ()

    def cap(self, p: int) -> float | None:
        return self.caps[p] if self.caps else None

    def bases(self) -> list[np.ndarray]:
        cache: dict[int, np.ndarray] = {}
        return [cache.setdefault(q, hermitian_basis(q, self.complex_)) for q in self.sizes]

    def slices(self) -> list[slice]:
        out, start = [], 0
        for E in self.bases():
            out.append(slice(start, start + E.shape[0]))
            start += E.shape[0]
        return out


@dataclass(frozen=True)
class QPSolution:
    z: np.ndarray  # coordinates of the optimal blocks
    blocks: list[np.ndarray]  # the blocks Z_p themselves
    g: np.ndarray  # C z + g0
    d: np.ndarray  # clip(-τ g, lo, hi)
    value: float  # F(z)
    gap: float  # bound on F(z) - min F
    newton_steps: int
    gap_root: float = 0.0  # √gap, computed without overflow or underflow of gap itself


def _inner(g: np.ndarray, tau: float, lo: np.ndarray, hi: np.ndarray):
    """``h(g)``, ``d = clip(-τg, lo, hi)`` and the free mask (where ``h`` is locally quadratic)."""
    d = np.clip(-tau * g, lo, hi)
    h = -float(g @ d + np.sum(d * d / (2 * tau)))
    free = (-tau * g > lo) & (-tau * g < hi)
    return h, d, free


def power_of_two(x: float) -> float:
    """``2^round(log2 x)`` (1 for 0 or non-finite ``x``): scaling by it is exact in floating point."""
    return float(2.0 ** round(np.log2(x))) if np.isfinite(x) and x > 0 else 1.0


def norm(x: np.ndarray) -> float:
    """``|x|`` without overflow or underflow of the squares (entries near the range's ends)."""
    m = float(np.abs(x).max(initial=0.0))
    return 0.0 if m == 0 or not np.isfinite(m) else m * float(np.linalg.norm(x / m))


def solve(
    C: np.ndarray,
    l: np.ndarray,
    layout: BlockLayout,
    *,
    tau: float | np.ndarray = 1.0,
    lo: np.ndarray | None = None,
    hi: np.ndarray | None = None,
    g0: np.ndarray | None = None,
    gap_tol: float | None = None,
    max_newton: int = 400,
) -> QPSolution:
    """Minimise ``h(Cz + g0) - l·z`` over the product of spectraplices described by ``layout``.

    ``C`` is ``(p, M)`` (column ``b`` = the parameter-space vector of basis element ``b``), ``l`` is
    ``(M,)``. ``tau`` may be a vector (a diagonal metric ``½ Σ_j d_j²/τ_j``). ``gap_tol`` defaults to
    ``1e-13`` times the problem's scale.

    Scale invariant: with ``g = s g'`` and ``d = r d'`` the problem is ``s r`` times the same problem
    in ``(C/s, g0/s, l/(s r), τ s/r, lo/r, hi/r)``, with the same minimiser ``z``; it is solved with
    ``s ≈ max|C|, |g0|`` and ``r ≈ s max τ`` (powers of 2), so that entries near the top or bottom
    of the floating-point range neither overflow nor slow the barrier method down.
    """
    p = C.shape[0]
    lo = np.full(p, -np.inf) if lo is None else np.asarray(lo, float)
    hi = np.full(p, np.inf) if hi is None else np.asarray(hi, float)
    g0 = np.zeros(p) if g0 is None else np.asarray(g0, float)
    s = power_of_two(max(np.abs(C).max(initial=0.0), np.abs(g0).max(initial=0.0)))
    r = s * power_of_two(float(np.max(tau)))
    sol = _solve(C / s, np.asarray(l, float) / s / r, layout, tau / power_of_two(float(np.max(tau))), lo / r, hi / r,
                 g0 / s, None if gap_tol is None else gap_tol / s / r, max_newton)
    with np.errstate(over="ignore", under="ignore"):  # value, gap: s r times O(1), may leave the range
        value, gap = s * (r * sol.value), s * (r * sol.gap)
    root = np.sqrt(s) * np.sqrt(r) * np.sqrt(sol.gap)
    return QPSolution(sol.z, sol.blocks, s * sol.g, r * sol.d, value, gap, sol.newton_steps, root)


def _solve(C, l, layout, tau, lo, hi, g0, gap_tol, max_newton) -> QPSolution:
    """:func:`solve` on arrays already scaled to order one."""
    p, M = C.shape
    if M == 0:  # no blocks: h(g0) alone
        h, d, _ = _inner(g0, tau, lo, hi)
        return QPSolution(np.zeros(0), [], g0, d, h, 0.0, 0)
    bases, slices = layout.bases(), layout.slices()
    used = sorted(set(layout.terms))  # terms without blocks carry no constraint
    row = {t: r for r, t in enumerate(used)}
    nterms = len(used)
    sizes = np.array(layout.sizes)
    # Equality constraints A z = b: the trace of E_b is 1 for diagonal elements, 0 otherwise.
    A = np.zeros((nterms, M))
    for E, sl, t in zip(bases, slices, layout.terms):
        A[row[t], sl] = np.real(np.trace(E, axis1=1, axis2=2))
    b = np.array([layout.traces[t] for t in used], float)
    if np.any(b <= 0):
        raise ValueError("every term with blocks needs a positive trace (weight)")
    q_term = np.zeros(nterms)
    np.add.at(q_term, np.array([row[t] for t in layout.terms], int), sizes)
    z = np.zeros(M)
    for E, sl, t, q in zip(bases, slices, layout.terms, layout.sizes):
        z[sl] = to_coords(np.eye(q) * (b[row[t]] / q_term[row[t]]), E)
    caps = [layout.cap(p) for p in range(len(sizes))]
    nu = float(sizes.sum() + sum(q for q, c in zip(sizes, caps) if c is not None))

    def F(z):
        h, d, free = _inner(C @ z + g0, tau, lo, hi)
        return h - l @ z, d, free

    def barrier(z, want_scaling):
        """``-Σ log det Z_p (- log det(c_p I - Z_p))``, its gradient in ``z`` and, on request, the
        per-block scalings of :func:`_block_scaling` (None outside the interior)."""
        val, grad, scal = 0.0, np.zeros(M), []
        for E, sl, cap in zip(bases, slices, caps):
            w, U = np.linalg.eigh(to_matrix(z[sl], E))
            if w[0] <= 0 or (cap is not None and w[-1] >= cap):
                return np.inf, None, None
            # In Z's eigenbasis the gradient is diagonal: -1/w (+ 1/(c - w)).
            gdiag = -1.0 / w if cap is None else -1.0 / w + 1.0 / (cap - w)
            val -= np.sum(np.log(w)) + (0.0 if cap is None else np.sum(np.log(cap - w)))
            grad[sl] = to_coords((U * gdiag) @ U.conj().T, E)
            if want_scaling:
                scal.append(_block_scaling(w, U, E, cap))
        return val, grad, scal

    Fz, d, free = F(z)
    scale = abs(Fz) + np.abs(l).max(initial=0.0) * b.sum() + float(np.sum(tau * (C @ z) ** 2)) + 1e-300
    gap_tol = 1e-13 * scale if gap_tol is None else gap_tol
    mu = scale / nu
    steps = 0
    while True:
        # Newton's method on F + μ·barrier, from a strictly feasible point, equality-constrained.
        # μ only shrinks once the iterate is centred (Newton decrement λ² = dec/μ ≤ 1e-2; at the
        # last μ, dec ≤ 1e-3·gap_tol), however many steps that takes: cutting μ from an uncentred
        # point (formerly after a fixed 60 steps) drives the small eigenvalues of low-rank blocks
        # towards the rounding level, where the method stalls short of the optimum or leaves the
        # cone in floating point. The step is computed in scaled coordinates ``y``
        # (``ΔZ_p = U_p (D_p ∘ Y_p) U_pᴴ``, ``Z_p = U_p diag(w_p) U_pᴴ``), in which the barrier's
        # Hessian is exactly the identity (in ``z`` it spans ``1/w_max²`` to ``1/w_min²``, w_min ~ μ
        # near a low-rank optimum), and the step to the boundary is found in the same eigenbasis
        # the barrier uses, never by factorising a nearly singular block.
        last = nu * mu <= gap_tol
        while True:
            Fz, d, free = F(z)
            bval, bgrad, scal = barrier(z, True)
            gz = -C.T @ d - l + mu * bgrad
            Cf = C[free] * np.sqrt(np.broadcast_to(tau, (p,))[free])[:, None]
            grad, At = np.empty(M), np.empty((nterms, M))
            for sl, (Tp, _) in zip(slices, scal):  # T is block diagonal
                grad[sl], Cf[:, sl], At[:, sl] = Tp.T @ gz[sl], Cf[:, sl] @ Tp, A[:, sl] @ Tp
            H = Cf.T @ Cf + mu * np.eye(M)
            K = np.block([[H, At.T], [At, np.zeros((nterms, nterms))]])
            rhs = np.concatenate([-grad, np.zeros(nterms)])
            try:
                dy = np.linalg.solve(K, rhs)[:M]
            except np.linalg.LinAlgError:
                dy = np.linalg.lstsq(K, rhs, rcond=None)[0][:M]
            dec = -grad @ dy
            steps += 1
            if dec <= (1e-3 * gap_tol if last else max(1e-3 * gap_tol, 1e-2 * mu)) or steps >= max_newton:
                break
            alpha = 1.0
            for sl, (_, ratio) in zip(slices, scal):
                alpha = min(alpha, ratio(dy[sl]))
            dz = np.empty(M)
            for sl, (Tp, _) in zip(slices, scal):
                dz[sl] = Tp @ dy[sl]
            phi0 = Fz + mu * bval
            while alpha > 1e-16:
                zn = z + alpha * dz
                bn = barrier(zn, False)[0]
                if np.isfinite(bn) and F(zn)[0] + mu * bn <= phi0 - 0.25 * alpha * dec:
                    break
                alpha *= 0.5
            if alpha <= 1e-16:
                break
            z = zn
        if nu * mu <= gap_tol or steps >= max_newton:
            break
        mu = max(mu / 200.0, 0.5 * gap_tol / nu)
    Fz, d, _ = F(z)
    blocks = [to_matrix(z[sl], E) for E, sl in zip(bases, slices)]
    return QPSolution(z, blocks, C @ z + g0, d, Fz, nu * mu, steps)


def _block_scaling(w, U, E, cap):
    """Scaling of one block at ``Z = U diag(w) Uᴴ`` (``w > 0``, ``< cap``): the matrix ``T`` with
    ``Δz = T y`` for ``ΔZ = U (D ∘ Y) Uᴴ``, ``D_ab = (1/(w_a w_b) + 1/((c-w_a)(c-w_b)))^(-1/2)``
    (no cap: ``√(w_a w_b)``), so that the barrier's Hessian in ``y`` is the identity; and the
    function ``y ↦`` 0.99 times the largest ``α ≤ 1`` with ``Z + α ΔZ`` still interior, evaluated in
    the eigenbasis (``diag(w) + α D∘Y ≻ 0`` iff ``I + α (D∘Y)/√(w_a w_b) ≻ 0``, likewise for the cap)
    without factorising the possibly nearly singular ``Z``."""
    m, q = E.shape[0], E.shape[-1]
    inv = 1.0 / np.outer(w, w)
    if cap is not None:
        inv = inv + 1.0 / np.outer(cap - w, cap - w)
    D = 1.0 / np.sqrt(inv)
    dcoef = to_coords_diag(D, E)  # D_ab for each basis element (E_b is supported on one pair)
    UEU = U @ E @ U.conj().T  # (m, q, q)
    T = np.real(E.reshape(m, -1).conj() @ UEU.reshape(m, q * q).T) * dcoef  # column b: coords of U E_b Uᴴ · D_b
    sides = [np.sqrt(np.outer(w, w))] + ([] if cap is None else [-np.sqrt(np.outer(cap - w, cap - w))])

    def ratio(y):
        X = to_matrix(y, E) * D
        alpha = 1.0
        for S in sides:
            lam = np.linalg.eigvalsh(X / S)[0]
            if lam < 0:
                alpha = min(alpha, -0.99 / lam)
        return alpha

    return T, ratio


def to_coords_diag(D, E):
    """``D_ab`` for each basis element ``E_b`` (supported on the pair ``{a, b}``), ``D`` symmetric."""
    first = np.argmax(E.reshape(E.shape[0], -1) != 0, axis=1)  # flat index of (a, b), a ≤ b
    return D.reshape(-1)[first]
