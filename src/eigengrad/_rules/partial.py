"""Adjoints of k computed eigenpairs of a large operator, without differentiating the solver
(docs/derivations.md §5a, §5b, §6). Both rules return *adjoint vectors*: the cotangent of the
operator is ``Ā = Σ_i a_i v_i^H`` (and ``B̄ = Σ_i b_i v_i^H``), so that for a parametrised operator
``θ̄ = Σ_i Re⟨a_i, ∂_θ A v_i⟩``: one vector-Jacobian product of the matrix-vector product with the
block ``a`` at the block ``V``. ``Ā`` is meant for Hermitian perturbations in the Hermitian rule
(apply ``herm`` to form a matrix).

Operators are functions on blocks of columns (``A(X) = A X``), used without derivatives.
"""

from __future__ import annotations

from typing import Callable, NamedTuple

from .._backend import Array, diag_embed, eps, mH, namespace, real
from .._solvers import krylov
from .._solvers.comm import cdot, cnorm, inner
from .clusters import inverse_gaps, sorted_clusters

Op = Callable[[Array], Array]


class AdjointInfo(NamedTuple):
    res: Array  # (k,) relative residuals of the adjoint solves
    iters: Array  # steps taken


class ProjectedSystem:
    """The shifted systems of §5a on the B-complement of span ``V`` (``V^H B V = I``), one column per
    eigenvalue: ``sign · P^H (A - λ_i B) P z_i = r_i`` with ``P = I - V V^H B``, solved for
    ``z_i ∈ range(P)`` by CG (definite: extremal pairs, ``sign`` +1 lowest / -1 highest) or MINRES.
    ``T`` (Hermitian positive definite ``≈ (A - σB)^{-1}``) preconditions as ``P T P^H``, which keeps
    the iterates in ``range(P)``, off the operator's null space."""

    def __init__(self, A: Op, w: Array, V: Array, *, B: Op | None, BV: Array | None, T: Op | None,
                 sign: float):
        xp = namespace(V)
        self.A, self.B, self.T, self.V, self.sign = A, B, T, V, sign
        self.BV = V if B is None else BV
        self.wc = xp.astype(w, V.dtype)

    def project_out(self, Z: Array) -> Array:
        """``P Z``: B-orthogonal to span ``V``."""
        return Z - self.V @ inner(namespace(Z), self.BV, Z)

    def project_in(self, Y: Array) -> Array:
        """``P^H Y``: orthogonal to span ``V``."""
        return Y - self.BV @ inner(namespace(Y), self.V, Y)

    def rhs(self, R: Array) -> Array:
        """``sign · P^H R``, the right-hand sides of the solves. Projected twice: once leaves rounding
        noise ``~ eps ||r_i||`` along ``span BV``, outside the operator's range, where no solver can
        reduce it (a residual floor when ``P^H r_i`` is small, e.g. ``r_i`` a primal residual for
        ``dA = A``). A column is set to zero where it is only that noise (``||P^H r_i|| <= 100 eps
        ||r_i||``: ``r_i ∈ span BV``, as for ``dA = I`` or ``v̄_i ∝ v_i``): its solution ``z_i = 0``
        is one a stopping test relative to ``||P^H r_i||`` could never certify."""
        xp = namespace(R)
        return self.sign * _drop_noise(xp, self.project_in(self.project_in(R)), R)

    def matvec(self, Z: Array) -> Array:
        """``sign · P^H (A - λ_i B) Z`` for ``Z ∈ range(P)`` (the solver's iterates are combinations of
        :func:`precondition`'s outputs): the right ``P`` is left out, as ``P^H (A - λ_i B) V = 0`` up to
        the pairs' residuals, so a rounding-size part of ``Z`` along ``V`` changes nothing."""
        BZ = Z if self.B is None else self.B(Z)
        return self.sign * self.project_in(self.A(Z) - BZ * self.wc[None, :])

    def precondition(self, R: Array) -> Array:
        """``P T R`` (``P R`` without ``T``) for ``R ∈ range(P^H)`` (the right-hand sides and the
        operator's outputs): there it is ``P T P^H R``, Hermitian positive definite."""
        return self.project_out(R if self.T is None else self.T(R))

    def solve(self, rhs: Array, *, method: str, tol: float, maxiter: int) -> tuple[Array, Array, Array]:
        """``(z, res, iters)`` with ``z ∈ range(P)``. Without ``T`` and ``B``, ``P = P^H`` and the
        residuals already lie in ``range(P)``: no preconditioner (one projection per step)."""
        solver = {"cg": krylov.cg, "minres": krylov.minres}[method]
        prec = None if self.T is None and self.B is None else self.precondition
        z, res, iters = solver(self.matvec, rhs, prec=prec, tol=tol, maxiter=maxiter)
        return self.project_out(z), res, iters


def hermitian_adjoint(
    A: Op, w: Array, V: Array, wbar: Array, Vbar: Array, *, B: Op | None = None,
    BV: Array | None = None, T: Op | None = None, sign: float = 1.0, method: str = "cg",
    tol: float, maxiter: int, rtol: float,
) -> tuple[Array, Array | None, AdjointInfo]:
    """§5a for ``A v = λ B v``, ``V^H B V = I`` (``B = I`` when ``B`` is None), ``w`` ascending.

    In span: ``X = V^H V̄``, ``K = diag(Re w̄) + F ∘ X`` (``F`` zero inside clusters), ``a = V K``,
    ``b = -V (K diag(w) + ½ same ∘ X)``. Complement: ``z_i ∈ range(P)``, ``P = I - V V^H B``, solves
    ``P^H (A - λ_i B) P z_i = P^H v̄_i``; then ``a_i -= z_i`` and ``b_i += λ_i z_i``. The projected
    operator is definite when the k pairs are extremal (``sign = +1`` lowest, ``-1`` highest: CG)
    and indefinite for an interior window (MINRES). ``T`` (Hermitian positive definite,
    ``≈ (A - σB)^{-1}``) preconditions the solves as ``P T P^H``.
    """
    xp = namespace(V)
    same = sorted_clusters(w, rtol)
    F = inverse_gaps(w, same)
    X = inner(xp, V, Vbar)
    wc = xp.astype(w, V.dtype)
    if B is None:
        K = diag_embed(xp.astype(real(wbar), V.dtype)) + F * (X - mH(X)) / 2
    else:
        K = diag_embed(xp.astype(real(wbar), V.dtype)) + F * X
    a = V @ K
    b = None if B is None else -(V @ (K * wc[None, :] + xp.where(same, X, xp.zeros_like(X)) / 2))

    sys = ProjectedSystem(A, w, V, B=B, BV=BV, T=T, sign=sign)
    z, res, iters = sys.solve(sys.rhs(Vbar), method=method, tol=tol, maxiter=maxiter)
    a = a - z
    if b is not None:
        b = b + z * wc[None, :]
    return a, b, AdjointInfo(res, iters)


def general_adjoint(
    AH: Op, w: Array, V: Array, wbar: Array, Vbar: Array, *, method: str = "bicgstab", tol: float,
    maxiter: int, restart: int = 30,
) -> tuple[Array, AdjointInfo]:
    """§5b (KrylovKit's GMRES variant) for ``A v_i = λ_i v_i``, ``||v_i|| = 1``; ``AH(Y) = A^H Y``.

    For each i, the bordered system ``[conj(λ_i) - A^H, v_i; v_i^H, 0] [a_i; x_i] =
    [v̄_i - v_i (v_i^H v̄_i); λ̄_i]`` (solvability forces ``x_i = 0``; the border fixes the component
    along the left eigenvector, so no left eigenvectors are needed). All k systems run as one block,
    by BiCGStab (constant memory) or GMRES(``restart``).
    """
    xp = namespace(V)
    n = V.shape[0]
    wc = xp.conj(w)
    d = cdot(xp, V, Vbar)
    rhs = xp.concat([Vbar - V * d[None, :], xp.astype(wbar, V.dtype)[None, :]], axis=0)

    Y, res, iters = _bordered_solve(AH, wc, V, rhs, method=method, tol=tol, maxiter=maxiter, restart=restart)
    return Y[:n], AdjointInfo(res, iters)


def general_jvp(
    A: Op, w: Array, V: Array, dAV: Array, *, method: str = "bicgstab", tol: float, maxiter: int,
    restart: int = 30, undefined: Array | None = None,
) -> tuple[Array, Array, AdjointInfo]:
    """Tangents of §5b, the transpose of :func:`general_adjoint`: per pair the bordered system
    ``[λ_i - A, v_i; v_i^H, 0] [dv_i; dλ_i] = [dA v_i; 0]``, i.e. ``(A - λ_i) dv_i = dλ_i v_i - dA v_i``
    in the gauge ``v_i^H dv_i = 0`` (norm and phase kept). Solved for the correction to
    ``[0; v_i^H dA v_i]`` (exact for a normal ``A``), whose right-hand side ``[dA v_i - v_i v_i^H dA v_i;
    0]`` is orthogonal to the border: BiCGStab breaks down on ``[dA v_i; 0]`` when ``dA v_i ∥ v_i``
    (``dA = I``). Pairs ``undefined`` (a ``(k,)`` mask: non-simple eigenvalues, singular systems)
    get NaN tangents and a zero right-hand side. Returns ``(dw, dV, info)``."""
    xp = namespace(V)
    n = V.shape[0]
    dAV = _without(xp, undefined, dAV)
    dw0 = cdot(xp, V, dAV)
    top = _drop_noise(xp, dAV - V * dw0[None, :], dAV)
    rhs = xp.concat([top, xp.zeros((1, V.shape[1]), dtype=V.dtype)], axis=0)
    Y, res, iters = _bordered_solve(A, w, V, rhs, method=method, tol=tol, maxiter=maxiter, restart=restart)
    return _nan_where(xp, undefined, Y[n] + dw0), _nan_where(xp, undefined, Y[:n]), AdjointInfo(res, iters)


def _without(xp, undefined: Array | None, Y: Array | None) -> Array | None:
    """``Y`` with the columns of the ``undefined`` pairs set to zero."""
    if undefined is None or Y is None:
        return Y
    return xp.where(undefined[None, :], xp.zeros_like(Y), Y)


def _nan_where(xp, undefined: Array | None, t: Array) -> Array:
    """``t`` with NaN in the entries (last axis) of the ``undefined`` pairs."""
    if undefined is None:
        return t
    return xp.where(undefined, xp.full_like(t, float("nan")), t)


def _drop_noise(xp, Y: Array, R: Array) -> Array:
    """``Y`` (``R`` with its components along a few vectors removed) with zero columns where they are
    rounding noise of that removal: ``||y_i|| <= 100 eps ||r_i||``."""
    noise = cnorm(xp, Y) <= 100 * eps(R) * cnorm(xp, R)
    return xp.where(noise[None, :], xp.zeros_like(Y), Y)


def _bordered_solve(M: Op, s: Array, V: Array, rhs: Array, *, method: str, tol: float, maxiter: int,
                    restart: int) -> tuple[Array, Array, Array]:
    """All k systems ``[s_i - M, v_i; v_i^H, 0] y_i = rhs_i`` as one block, by BiCGStab (constant
    memory) or GMRES(``restart``)."""
    xp = namespace(V)
    n = V.shape[0]

    def op(Y):
        a, x = Y[:n], Y[n:]
        top = a * s[None, :] - M(a) + V * x
        return xp.concat([top, cdot(xp, V, a)[None, :]], axis=0)

    if method == "gmres":
        return krylov.gmres(op, rhs, tol=tol, maxiter=maxiter, restart=restart)
    return {"bicgstab": krylov.bicgstab}[method](op, rhs, tol=tol, maxiter=maxiter)


def cut_gap(w: Array, guard: Array) -> Array:
    """Distance of each computed eigenvalue to the nearest estimate of an uncomputed one, ``(k,)``.
    Below the cluster tolerance, a cluster is cut by the computed set and the adjoint is singular."""
    xp = namespace(w)
    return xp.min(xp.abs(w[:, None] - guard[None, :]), axis=1)


def singular_pairs(w: Array, gap: Array, rtol: float) -> Array:
    """``(k,)`` mask of the pairs within the cluster tolerance ``rtol · max|λ|`` of an eigenvalue
    outside the computed set (``eigsh``: a cut cluster) or of any other one (``eigs``, ``gap`` from
    all eigenvalues): their derivative systems are singular."""
    xp = namespace(w)
    return gap <= rtol * xp.max(xp.abs(w))


def gradient_error(res: Array, gap: Array) -> Array:
    """First-order error estimate of eigenvector derivatives, ``||r_i|| / gap_i`` (§5a)."""
    xp = namespace(res)
    return res / xp.maximum(gap, xp.finfo(gap.dtype).tiny)


def phase_defect(V: Array, Vbar: Array) -> tuple[Array, Array]:
    """Gauge part of a right-eigenvector cotangent, ``|Im v_i^H v̄_i|`` (as a diagonal matrix for
    ``_report.report_vectors``), and its scale ``max|V^H V̄|``: a loss invariant to ``v_i -> e^{iφ} v_i``
    has zero defect."""
    xp = namespace(V)
    X = inner(xp, V, Vbar)
    d = xp.abs(xp.imag(xp.linalg.diagonal(X))) if xp.isdtype(X.dtype, "complex floating") else xp.zeros(
        (X.shape[0],), dtype=X.dtype)
    return diag_embed(d), xp.max(xp.abs(X))


def hermitian_jvp(
    A: Op, w: Array, V: Array, dAV: Array, *, B: Op | None = None, BV: Array | None = None,
    dBV: Array | None = None, T: Op | None = None, sign: float = 1.0, method: str = "cg",
    tol: float, maxiter: int, rtol: float, undefined: Array | None = None,
) -> tuple[Array, Array, AdjointInfo]:
    """Tangents of §5a: with ``R = dA V - dB V diag(w)`` (``dB = 0`` when ``B`` is None),
    ``dw = Re diag(V^H R)``, ``dV = V C + z`` where ``C = F ∘ (V^H R) - ½ same ∘ (V^H dB V)`` and
    ``z_i ∈ range(P)`` solves ``P^H (A - λ_i B) P z_i = -P^H r_i`` (the same projected systems as
    the reverse rule). Pairs ``undefined`` (a ``(k,)`` mask: a cluster cut by the computed set,
    singular systems) get NaN tangents and a zero right-hand side."""
    xp = namespace(V)
    dAV, dBV = _without(xp, undefined, dAV), _without(xp, undefined, dBV)
    same = sorted_clusters(w, rtol)
    F = inverse_gaps(w, same)
    wc = xp.astype(w, V.dtype)
    Rt = dAV if dBV is None else dAV - dBV * wc[None, :]
    Pm = inner(xp, V, Rt)
    dw = real(xp.linalg.diagonal(Pm))
    C = F * Pm
    if dBV is not None:
        PB = inner(xp, V, dBV)
        C = C - xp.where(same, PB, xp.zeros_like(PB)) / 2
    sys = ProjectedSystem(A, w, V, B=B, BV=BV, T=T, sign=sign)
    z, res, iters = sys.solve(-sys.rhs(Rt), method=method, tol=tol, maxiter=maxiter)
    return _nan_where(xp, undefined, dw), _nan_where(xp, undefined, V @ C + z), AdjointInfo(res, iters)
