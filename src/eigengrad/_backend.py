"""The few array operations the neutral rules need beyond the array-API standard.

Rules are written against ``xp = namespace(x)`` (array-api-compat: numpy, torch, jax, cupy) plus the
helpers here, which dispatch on that namespace. Nothing here knows about autodiff except
``stop_gradient``.
"""

from __future__ import annotations

from typing import Any

import array_api_compat as _compat

Array = Any


def namespace(*arrays: Array) -> Any:
    """The array-API namespace shared by ``arrays`` (ignores ``None``)."""
    return _compat.array_namespace(*[a for a in arrays if a is not None])


def is_jax(xp: Any) -> bool:
    return _compat.is_jax_namespace(xp)


def is_torch(xp: Any) -> bool:
    return _compat.is_torch_namespace(xp)


def is_numpy(xp: Any) -> bool:
    return _compat.is_numpy_namespace(xp)


def column_dot(xp: Any, a: Array, b: Array) -> Array:
    """``sum_i conj(a_ij) b_ij`` per column, shape ``(m,)``. NumPy by ``einsum`` (no ``n × m``
    temporary; 0.23 ms against 0.83 ms for ``sum(a * b, axis=0)`` at 32768 × 8), else the product's
    column sums."""
    if is_numpy(xp):
        import numpy as np

        return np.einsum("ij,ij->j", np.conj(a) if np.iscomplexobj(a) else a, b)
    return xp.sum(xp.conj(a) * b, axis=0) if xp.isdtype(a.dtype, "complex floating") else xp.sum(a * b, axis=0)


def mT(x: Array) -> Array:
    """Transpose of the last two axes."""
    return x.mT if hasattr(x, "mT") else _swap(x)


def _swap(x: Array) -> Array:
    xp = namespace(x)
    return xp.swapaxes(x, -1, -2) if hasattr(xp, "swapaxes") else xp.matrix_transpose(x)


def mH(x: Array) -> Array:
    """Conjugate transpose of the last two axes."""
    xp = namespace(x)
    return xp.conj(mT(x)) if xp.isdtype(x.dtype, "complex floating") else mT(x)


def herm(x: Array) -> Array:
    """Hermitian part ``(X + X^H) / 2``."""
    return (x + mH(x)) / 2


def diagonal(x: Array) -> Array:
    """Diagonal of the last two axes, shape ``(..., n)``."""
    xp = namespace(x)  # torch.linalg.diagonal has no legacy-batching rule (gradcheck's batched check)
    return x.diagonal(dim1=-2, dim2=-1) if is_torch(xp) else xp.linalg.diagonal(x)


def diag_embed(v: Array) -> Array:
    """``(..., n) -> (..., n, n)`` with ``v`` on the diagonal."""
    xp = namespace(v)
    n = v.shape[-1]
    eye = xp.eye(n, dtype=v.dtype, device=_device(v))
    return v[..., :, None] * eye


def eye_like(x: Array, n: int | None = None) -> Array:
    xp = namespace(x)
    return xp.eye(x.shape[-1] if n is None else n, dtype=x.dtype, device=_device(x))


def _device(x: Array) -> Any:
    return _compat.device(x)


def real(x: Array) -> Array:
    xp = namespace(x)
    return xp.real(x) if xp.isdtype(x.dtype, "complex floating") else x


def imag(x: Array) -> Array:
    xp = namespace(x)
    return xp.imag(x) if xp.isdtype(x.dtype, "complex floating") else xp.zeros_like(x)


def is_complex(x: Array) -> bool:
    return namespace(x).isdtype(x.dtype, "complex floating")


def real_dtype(x: Array) -> Any:
    xp = namespace(x)
    return xp.real(x[..., :0]).dtype if is_complex(x) else x.dtype


def astype(x: Array, dtype: Any) -> Array:
    return namespace(x).astype(x, dtype)


def stop_gradient(x: Array) -> Array:
    """``x`` with no derivative: used for cluster masks and tolerances, never for values."""
    xp = namespace(x)
    if is_jax(xp):
        import jax

        return jax.lax.stop_gradient(x)
    if is_torch(xp):
        return x.detach()
    return x


def eps(x: Array) -> float:
    """Machine epsilon of ``x``'s (real) precision."""
    xp = namespace(x)
    return float(xp.finfo(real_dtype(x)).eps)


def solve_triangular(L: Array, X: Array, lower: bool) -> Array:
    """``L^{-1} X`` for triangular ``L`` (batched)."""
    xp = namespace(L)
    if is_jax(xp):
        import jax

        return jax.scipy.linalg.solve_triangular(L, X, lower=lower)
    if is_torch(xp):
        import torch

        return torch.linalg.solve_triangular(L, X, upper=not lower)
    import scipy.linalg

    return scipy.linalg.solve_triangular(L, X, lower=lower)  # batched since SciPy 1.15
