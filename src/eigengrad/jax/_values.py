"""Reading concrete values out of JAX arrays, where they exist."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np


def concrete(x) -> np.ndarray | None:
    """Concrete value of ``x`` (also under eager ``grad``), or None where it is traced (jit, vmap)."""
    if isinstance(x, jax.core.Tracer):
        x = x.to_concrete_value()
    return None if x is None else np.asarray(x)


def all_concrete(*xs) -> bool:
    """True when every ``x`` has a concrete value (eager execution)."""
    return all(concrete(x) is not None for x in xs if x is not None)


_BITS = {np.dtype("float64"): (jnp.int64, 52, 1023), np.dtype("float32"): (jnp.int32, 23, 127)}


def exponent(x):
    """Binary exponent ``floor(log2 x)`` of positive normal ``x`` (real), read from its bits; ``-bias``
    for 0 and subnormals, ``bias + 1`` for inf and NaN."""
    itype, mant, bias = _BITS[np.dtype(x.dtype)]
    return ((jax.lax.bitcast_convert_type(x, itype) >> mant) & (2 * bias + 1)) - bias


def power_of_two(e, dtype):
    """``2^e`` exactly, for integer ``e`` in the normal range of the real ``dtype``."""
    itype, mant, bias = _BITS[np.dtype(dtype)]
    return jax.lax.bitcast_convert_type((e.astype(itype) + bias) << mant, dtype)


def scale_exponent(A, even: bool = False):
    """Binary exponent ``e`` of ``max|A_ij|`` per matrix (shape ``A.shape[:-2]``; even if ``even``),
    clamped so that ``2^±e`` are normal numbers: ``A 2^-e`` has entries below 2 in size, and
    scaling by powers of two is exact. No derivative flows through ``e``."""
    rdtype = jnp.finfo(A.dtype).dtype
    amax = jnp.max(jnp.abs(jax.lax.stop_gradient(A)), axis=(-2, -1)).astype(rdtype)
    bias = _BITS[np.dtype(rdtype)][2]
    e = jnp.clip(exponent(amax), -(bias - 24), bias - 24)
    return e - (e & 1) if even else e


def scaled(A, e):
    """``A 2^-e`` (``e`` per matrix), in ``A``'s dtype."""
    return A * power_of_two(-e, jnp.finfo(A.dtype).dtype)[..., None, None].astype(A.dtype)


def unscaled(x, e):
    """``x 2^e`` (``e`` per matrix: ``x`` of shape ``e.shape + (k,)`` or ``e.shape + (m, k)``), in
    ``x``'s dtype."""
    f = power_of_two(e, jnp.finfo(x.dtype).dtype).astype(x.dtype)
    return x * f.reshape(f.shape + (1,) * (x.ndim - f.ndim))


def as_array(A, name: str, routine: str):
    """``A`` as a dense JAX array; sparse matrices and unreadable objects get an error naming ``name``."""
    from jax.experimental import sparse as jsparse
    from scipy import sparse

    if isinstance(A, jsparse.JAXSparse) or sparse.issparse(A):
        raise TypeError(
            f"{routine}: {name} is a sparse matrix ({type(A).__name__}); the dense routines need a dense "
            f"array. Use {name}.todense() for a small matrix, or eigengrad.jax.eigsh / eigs, which take "
            "sparse matrices and operators, for a large one."
        )
    if A is None:
        raise TypeError(f"{routine}: {name} is None; pass a matrix")
    try:
        return jnp.asarray(A)
    except (TypeError, ValueError) as err:
        raise TypeError(f"{routine}: {name} ({type(A).__name__}) cannot be read as an array: {err}") from None
