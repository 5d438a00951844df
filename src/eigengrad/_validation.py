"""Input checks shared by every routine: a clear error naming the problem, nothing mutated.

Shape and dtype checks always run. Value checks (finite entries, Hermitian input, positive-definite
``B``) need concrete values; the front ends run them eagerly and, where values are traced (JAX jit),
report through a debug callback instead.
"""

from __future__ import annotations

import math

import numpy as np

from ._backend import Array, is_complex, mH, namespace


SUPPORTED_DTYPES = ("float32", "float64", "complex64", "complex128")


def check_matrix(A: Array, name: str, routine: str, square: bool = True) -> None:
    """Shape (``..., n, n``, or ``..., m, n`` when not ``square``) and dtype of ``A``.

    Only the LAPACK precisions are accepted. Integer and boolean inputs are rejected rather than
    promoted (which floating precision was meant is the caller's choice); half precisions (float16,
    bfloat16) are rejected because no eigensolver runs in them and their ``sqrt(eps)`` cluster and
    gauge tolerances (about 0.03) would make every derivative approximate."""
    shape = tuple(A.shape)
    if len(shape) < 2:
        raise ValueError(f"{routine}: {name} must have at least 2 dimensions (..., n, n), got shape {shape}")
    if square and shape[-1] != shape[-2]:
        raise ValueError(f"{routine}: {name} must be square in its last two axes, got shape {shape}")
    dtype = str(A.dtype).replace("torch.", "")
    if dtype not in SUPPORTED_DTYPES:
        half = dtype in ("float16", "bfloat16", "half", "complex32", "chalf")
        why = (
            "half precision is not supported (no eigensolver runs in it, and its tolerances would make "
            "every derivative approximate)" if half else "it is not a floating-point type"
        )
        raise TypeError(
            f"{routine}: {name} has dtype {dtype}: {why}. eigengrad needs float32, float64, complex64 or "
            f"complex128; convert first, e.g. {name}.astype('float32') (JAX, NumPy) or "
            f"{name}.to(torch.float32) (PyTorch)."
        )


def check_flag(value: object, name: str, routine: str) -> bool:
    """A boolean option (``left``, ``full_matrices``): ``True``/``False`` (or 0/1), nothing else."""
    if isinstance(value, (bool, np.bool_)) or (isinstance(value, (int, np.integer)) and value in (0, 1)):
        return bool(value)
    raise TypeError(f"{routine}: {name} must be True or False, got {value!r}")


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
    if check_flag(full_matrices, "full_matrices", routine):
        raise ValueError(
            f"{routine}: full_matrices=True is not supported: the extra columns of U or V are an arbitrary "
            "basis of a null space, so no loss of them has a derivative. Use full_matrices=False and, if "
            "needed, the projector I - U U^H."
        )


def hermitian_rtol(dtype: np.dtype) -> float:
    """Allowed relative asymmetry ``max|A - A^H| / max|A|`` of a Hermitian input: ``sqrt(eps)``."""
    return math.sqrt(float(np.finfo(np.dtype(dtype)).eps))


def check_values(A: Array, name: str, routine: str, hermitian: bool) -> Array:
    """Finite entries and (optionally) Hermitian symmetry of a concrete array (NumPy, torch, or a
    concrete JAX array), computed in its own namespace: two reductions in the usual case. Returns
    ``max|A_ij|`` per matrix (shape ``A.shape[:-2]``), which decides on rescaling (:func:`needs_scaling`)."""
    xp = namespace(A)
    if math.prod(A.shape) == 0:
        return xp.zeros(A.shape[:-2], dtype=xp.real(A[..., :0, :0]).dtype if is_complex(A) else A.dtype)
    amax = xp.max(xp.abs(A), axis=(-2, -1))
    scale = float(xp.max(amax))
    if not math.isfinite(scale):  # NaN or inf propagate into the maximum
        bad = np.argwhere(~np.isfinite(np.asarray(A.detach().cpu() if hasattr(A, "detach") else A)))[0]
        raise ValueError(
            f"{routine}: {name} has non-finite entries (first at index {tuple(int(k) for k in bad)}); "
            "eigenvalues of such a matrix are undefined. Check the computation that produced it."
        )
    if hermitian:
        dtype = np.dtype(str(A.dtype).replace("torch.", ""))
        halve = scale > float(np.finfo(dtype).max) / 4  # A - A^H could overflow: halve first
        D = A / 2 - mH(A) / 2 if halve else A - mH(A)
        asym = xp.max(xp.abs(D), axis=(-2, -1)) * (2 if halve else 1)
        tol = hermitian_rtol(dtype)
        worst = float(xp.max(asym / xp.where(amax > 0, amax, xp.ones_like(amax))))
        if worst > tol:
            raise ValueError(
                f"{routine}: {name} is not Hermitian: max|{name} - {name}^H| is {worst:.2e} of "
                f"max|{name}| (tolerance {tol:.1e}). Pass a Hermitian matrix (e.g. ({name} + {name}^H)/2), "
                "or use eig for a general matrix."
            )
    return amax


def needs_scaling(amax: Array, dtype: object) -> bool:
    """Whether matrices with largest entries ``amax`` (one per matrix, concrete) lie outside
    ``2^±(emax/8)`` (``2^±128`` in float64, ``2^±16`` in float32), beyond which the front ends rescale
    by a power of two (exact) instead of trusting every upstream routine's own scaling."""
    amax = np.asarray(amax.detach().cpu() if hasattr(amax, "detach") else amax)
    finfo = np.finfo(np.dtype(str(dtype).replace("torch.", "")))
    e = np.frexp(amax[amax > 0])[1]
    return bool(e.size) and bool(np.max(np.abs(e)) > finfo.maxexp // 8)


def not_positive_definite(routine: str) -> ValueError:
    """The error for a ``B`` whose Cholesky factorisation failed."""
    return ValueError(
        f"{routine}: B is not positive definite (its Cholesky factorisation failed), so A v = λ B v "
        "is not a Hermitian-definite problem. Check B, or use eig on B^{-1} A for an indefinite pencil."
    )
