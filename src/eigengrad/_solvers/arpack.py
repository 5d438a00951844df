"""SciPy ARPACK on the host: the forward backend for concrete values on the CPU (no gradients here;
the front ends wrap it). Inputs are NumPy arrays, SciPy sparse matrices or LinearOperators.

``run_eigsh`` is one ARPACK call as a user would make it, but in a Krylov basis of
``ncv = max(2 nev + 1, 30)`` vectors instead of SciPy's default 20: on the issue-10 well (k = 8, tol
1e-10) 0.65x SciPy's default time at n = 16384 (739 products against 1166), 0.57x at 65536 (1669
against 3199), 0.8x at 4096; 40 or 60 vectors were no better. A factorisation made once by ``factor``
is shared by every call on the same problem; :mod:`.confirm` adds the check that no copy of a multiple eigenvalue was
missed and the next eigenvalue (the gap). ``eigs`` computes ``k + 1`` pairs, the extra one for the
gap, in a basis of ``max(5k, 40)`` vectors: in SciPy's default basis the extra pair converged slowly
when the next eigenvalues are close (3.1x the products of ``k`` pairs on the issue-10 well)."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Callable

import numpy as np
import scipy.linalg as la
import scipy.sparse as sp
import scipy.sparse.linalg as sla

from ..errors import ConvergenceError

_HERMITIAN_WHICH = {"smallest": "SA", "largest": "LA"}
_GENERAL_WHICH = {"largest_real": "LR", "smallest_real": "SR", "largest_magnitude": "LM",
                  "smallest_magnitude": "SM", "largest_imag": "LI", "smallest_imag": "SI"}


def dtype_of(A, B=None) -> np.dtype:
    """The working dtype of the pencil ``(A, B)``."""
    return np.result_type(A.dtype, np.float32) if B is None else np.result_type(A.dtype, B.dtype, np.float32)


def factor(A, B, sigma) -> Callable[[np.ndarray], np.ndarray] | None:
    """``y -> (A - σB)^{-1} y`` (shift-invert) or ``y -> B^{-1} y`` (generalized, no ``sigma``),
    factorised once by LU (sparse: SuperLU; dense: LAPACK); None where there is nothing to factor
    (a standard problem without ``sigma``) or no matrix to factor (a LinearOperator: SciPy then
    solves iteratively inside each call)."""
    if sigma is None:
        M = B
    elif isinstance(A, sla.LinearOperator) or isinstance(B, sla.LinearOperator):
        return None
    else:
        n = A.shape[0]
        if B is not None and sp.issparse(A) != sp.issparse(B):  # one of them dense: factor densely
            A, B = dense(A, n, A.dtype), dense(B, n, B.dtype)
        I = sp.eye(n, dtype=A.dtype, format="csc") if sp.issparse(A) else np.eye(n, dtype=A.dtype)
        M = A - sigma * (I if B is None else B)
    if M is None or isinstance(M, sla.LinearOperator):
        return None
    if sp.issparse(M):
        try:
            lu = sla.splu(sp.csc_matrix(M))
        except RuntimeError:  # SuperLU: "Factor is exactly singular"
            raise _singular(sigma) from None
        return lu.solve
    lu = la.lu_factor(np.asarray(M), check_finite=False)
    if not np.all(np.isfinite(lu[0])) or np.any(np.diag(lu[0]) == 0):
        raise _singular(sigma)
    return lambda y: la.lu_solve(lu, y, check_finite=False)


def _singular(sigma) -> ValueError:
    if sigma is None:
        return ValueError("eigsh: B is singular (its LU factorisation has a zero pivot); B must be Hermitian "
                          "positive definite")
    return ValueError(f"sigma={sigma!r} is an eigenvalue (A - sigma B is singular to working precision): "
                      "shift-invert needs sigma near, not at, the eigenvalues wanted; move it by a small "
                      "relative amount (e.g. sigma * (1 + 1e-6)), or drop sigma")


def as_operator(f: Callable[[np.ndarray], np.ndarray], n: int, dtype) -> sla.LinearOperator:
    """A LinearOperator applying ``f`` to vectors and blocks."""
    return sla.LinearOperator((n, n), matvec=f, matmat=f, dtype=dtype)


NCV = 30  # Krylov basis of run_eigsh (module docstring), at least 2 nev + 1


def run_eigsh(A, nev: int, *, which: str, sigma=None, B=None, inverse=None, v0=None, tol: float, maxiter: int,
              ncv: int | None = None):
    """One ARPACK call: ``(w, V)`` for ``nev`` pairs of ``A v = λ B v`` nearest the target, unit
    B-norm. ``inverse``: from :func:`factor` (or a deflated form of it), passed as ``OPinv`` or
    ``Minv``; ``ncv`` None: ``max(2 nev + 1, NCV)`` (at most ``n``)."""
    n = A.shape[0]
    ncv = min(n, max(2 * nev + 1, NCV)) if ncv is None else ncv
    inv = None if inverse is None else as_operator(inverse, n, dtype_of(A, B))
    kw = dict(k=nev, M=B, v0=v0, tol=tol, maxiter=maxiter, ncv=ncv)
    with _converged("eigsh"):
        if sigma is None:
            w, V = sla.eigsh(A, which=_HERMITIAN_WHICH[which], Minv=inv, **kw)
        else:
            w, V = sla.eigsh(A, sigma=sigma, which="LM", OPinv=inv, **kw)
    return w, normalise(V, B)


def normalise(V: np.ndarray, B) -> np.ndarray:
    """Columns scaled to unit B-norm."""
    BV = V if B is None else B @ V
    return V / np.sqrt(np.abs(np.sum(np.conj(V) * BV, axis=0)))[None, :]


def eigs(A, k: int, *, which: str, sigma=None, v0=None, tol: float, maxiter: int, extra: int = 1):
    """``k + extra`` right eigenpairs of a general operator near the target, unit-norm vectors."""
    n = A.shape[0]
    nev = min(k + extra, n - 2)
    if sigma is not None and complex(sigma).imag == 0:
        sigma = complex(sigma).real  # SciPy shifts a real dense A in place: a complex 0j would not fit
    elif sigma is not None and isinstance(A, np.ndarray) and not np.iscomplexobj(A):
        A = A.astype(np.result_type(A.dtype, np.complex64))
    ncv = min(n, max(5 * k, 40))
    with _converged("eigs"):
        if sigma is None:
            w, V = sla.eigs(A, k=nev, which=_GENERAL_WHICH[which], v0=v0, tol=tol, maxiter=maxiter, ncv=ncv)
        else:
            w, V = sla.eigs(A, k=nev, sigma=sigma, which="LM", v0=v0, tol=tol, maxiter=maxiter, ncv=ncv)
    return w, V / np.linalg.norm(V, axis=0)[None, :]


def dense(M: Any, n: int, dtype) -> np.ndarray:
    """``M`` (dense, sparse or LinearOperator) as a dense ``(n, n)`` array, for small problems."""
    if isinstance(M, sla.LinearOperator):
        return np.asarray(M @ np.eye(n, dtype=dtype))
    return M.toarray() if sp.issparse(M) else np.asarray(M)


@contextmanager
def _converged(routine: str):
    try:
        yield
    except sla.ArpackNoConvergence as e:
        raise ConvergenceError(
            f"{routine}: ARPACK did not converge ({e}); {len(e.eigenvalues)} pairs converged. Increase "
            "maxiter, use sigma (shift-invert) for eigenvalues at the end of a clustered spectrum, "
            "or another solver.") from None
    except RuntimeError as e:  # SciPy's own factorisation of A - σI inside eigs(sigma=...)
        if "singular" not in str(e).lower():
            raise
        raise ValueError(f"{routine}: sigma is an eigenvalue (A - sigma I is singular to working precision: {e}); "
                         "move sigma by a small relative amount, or drop it") from None
