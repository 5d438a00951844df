"""Input checks shared by every routine: a clear error naming the problem, nothing mutated.

Shape and dtype checks always run. Value checks (finite entries, Hermitian input, positive-definite
``B``) need concrete values; the front ends run them eagerly and, where values are traced (JAX jit),
report through a debug callback instead.
"""

from __future__ import annotations

import math

import numpy as np

from ._backend import Array, mH, namespace


def check_matrix(A: Array, name: str, routine: str, square: bool = True) -> None:
    """Shape (``..., n, n``) and dtype (real or complex floating) of ``A``."""
    shape = tuple(A.shape)
    if len(shape) < 2:
        raise ValueError(f"{routine}: {name} must have at least 2 dimensions (..., n, n), got shape {shape}")
    if square and shape[-1] != shape[-2]:
        raise ValueError(f"{routine}: {name} must be square in its last two axes, got shape {shape}")
    xp = namespace(A)
    if not xp.isdtype(A.dtype, ("real floating", "complex floating")):
        raise TypeError(
            f"{routine}: {name} has dtype {A.dtype}; eigengrad needs float32, float64, complex64 or "
            f"complex128. Convert first, e.g. {name}.astype(float64) / {name}.to(torch.float64)."
        )


def check_pair(A: Array, B: Array, routine: str) -> None:
    if tuple(A.shape)[-2:] != tuple(B.shape)[-2:]:
        raise ValueError(f"{routine}: A and B must have the same matrix size, got {tuple(A.shape)} and {tuple(B.shape)}")
    try:
        np.broadcast_shapes(tuple(A.shape)[:-2], tuple(B.shape)[:-2])
    except ValueError:
        raise ValueError(
            f"{routine}: the batch shapes of A {tuple(A.shape)} and B {tuple(B.shape)} do not broadcast"
        ) from None


def check_thin_svd(full_matrices: bool, routine: str) -> None:
    """Only the thin SVD has derivatives."""
    if full_matrices:
        raise ValueError(
            f"{routine}: full_matrices=True is not supported: the extra columns of U or V are an arbitrary "
            "basis of a null space, so no loss of them has a derivative. Use full_matrices=False and, if "
            "needed, the projector I - U U^H."
        )


def hermitian_rtol(dtype: np.dtype) -> float:
    """Allowed relative asymmetry ``max|A - A^H| / max|A|`` of a Hermitian input: ``sqrt(eps)``."""
    return math.sqrt(float(np.finfo(np.dtype(dtype)).eps))


def check_values(A: Array, name: str, routine: str, hermitian: bool) -> None:
    """Finite entries and (optionally) Hermitian symmetry of a concrete array (NumPy, torch, or a
    concrete JAX array), computed in its own namespace: two reductions in the usual case."""
    xp = namespace(A)
    if math.prod(A.shape) == 0:
        return
    scale = float(xp.linalg.vector_norm(A, ord=math.inf))  # max|A_ij|, one fused pass
    if not math.isfinite(scale):  # NaN or inf propagate into the maximum
        bad = np.argwhere(~np.isfinite(np.asarray(A.detach().cpu() if hasattr(A, "detach") else A)))[0]
        raise ValueError(
            f"{routine}: {name} has non-finite entries (first at index {tuple(int(k) for k in bad)}); "
            "eigenvalues of such a matrix are undefined. Check the computation that produced it."
        )
    if hermitian:
        asym = float(xp.linalg.vector_norm(A - mH(A), ord=math.inf))
        tol = hermitian_rtol(np.dtype(str(A.dtype).replace("torch.", "")))
        if asym > tol * scale:
            raise ValueError(
                f"{routine}: {name} is not Hermitian: max|{name} - {name}^H| = {asym:.3e} is "
                f"{asym / scale:.2e} of max|{name}| (tolerance {tol:.1e}). Pass a Hermitian matrix "
                f"(e.g. ({name} + {name}^H)/2), or use eig for a general matrix."
            )


def not_positive_definite(routine: str) -> ValueError:
    """The error for a ``B`` whose Cholesky factorisation failed."""
    return ValueError(
        f"{routine}: B is not positive definite (its Cholesky factorisation failed), so A v = λ B v "
        "is not a Hermitian-definite problem. Check B, or use eig on B^{-1} A for an indefinite pencil."
    )
