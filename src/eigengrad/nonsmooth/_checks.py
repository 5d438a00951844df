"""Argument checks of the non-smooth layer: each bad argument gives an error that names it and says
what is wrong, raised before any eigenvalue is computed. Arrays are copied, never changed in place.
"""

from __future__ import annotations

import math
import operator

import numpy as np


def real_vector(x, name: str, size: int | None = None) -> np.ndarray:
    """``x`` as a new finite real float64 1-D array (of length ``size`` when given)."""
    arr = np.asarray(x)
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        raise TypeError(f"{name} must be a real numeric 1-D array, got dtype {arr.dtype}")
    if np.iscomplexobj(arr):
        raise TypeError(f"{name} must be real (the parameters of a family are real), got dtype {arr.dtype}")
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D (one entry per parameter), got shape {arr.shape}")
    if size is not None and arr.shape[0] != size:
        raise ValueError(f"{name} has length {arr.shape[0]}, expected {size} (one entry per parameter of the family)")
    arr = np.array(arr, dtype=np.float64)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} has non-finite entries (at positions {np.flatnonzero(~np.isfinite(arr)).tolist()})")
    return arr


def parameters(family, theta, name: str = "theta") -> np.ndarray:
    """``θ`` checked: real, 1-D, finite, of the family's length ``family.p`` where it declares one."""
    p = getattr(family, "p", None)
    return real_vector(theta, name, None if p is None else int(p))


def box(bounds, p: int) -> tuple[np.ndarray, np.ndarray]:
    """``bounds = (lower, upper)`` (scalars or length-``p`` arrays, ``±inf`` allowed) as two arrays."""
    if bounds is None:
        return np.full(p, -np.inf), np.full(p, np.inf)
    if isinstance(bounds, (str, bytes)) or not hasattr(bounds, "__len__") or len(bounds) != 2:
        raise ValueError("bounds must be a pair (lower, upper) of scalars or arrays with one entry per parameter")
    out = []
    for side, b in zip(("lower", "upper"), bounds):
        arr = np.asarray(b)
        if arr.dtype == object or np.iscomplexobj(arr) or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
            raise TypeError(f"bounds: {side} must be real numbers, got dtype {arr.dtype}")
        if arr.ndim > 1 or (arr.ndim == 1 and arr.shape[0] != p):
            raise ValueError(f"bounds: {side} must be a scalar or have length {p} (one per parameter), got shape {arr.shape}")
        arr = np.broadcast_to(arr.astype(np.float64), (p,)).copy()
        if np.any(np.isnan(arr)):
            raise ValueError(f"bounds: {side} has NaN entries")
        out.append(arr)
    lower, upper = out
    if np.any(lower > upper):
        j = int(np.flatnonzero(lower > upper)[0])
        raise ValueError(f"bounds: lower > upper at parameter {j} ({lower[j]} > {upper[j]}); pass (lower, upper)")
    if np.any(lower == np.inf) or np.any(upper == -np.inf):
        raise ValueError("bounds: lower = +inf or upper = -inf leaves no feasible point")
    return lower, upper


def inside(theta: np.ndarray, lower: np.ndarray, upper: np.ndarray, name: str = "theta") -> None:
    out = (theta < lower) | (theta > upper)
    if np.any(out):
        j = int(np.flatnonzero(out)[0])
        raise ValueError(
            f"{name} lies outside bounds at parameter {j} ({theta[j]} not in [{lower[j]}, {upper[j]}]); "
            "the tangent cone, and so the subgradient, is defined only inside the box"
        )


def positive(x, name: str, allow_zero: bool = False) -> float:
    """A finite real number ``> 0`` (``>= 0`` with ``allow_zero``)."""
    if isinstance(x, (bool, np.bool_)) or not isinstance(x, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a real number, got {type(x).__name__}")
    v = float(x)
    if not math.isfinite(v) or v < 0 or (v == 0 and not allow_zero):
        raise ValueError(f"{name} must be finite and {'>= 0' if allow_zero else '> 0'}, got {x!r}")
    return v


def count(x, name: str, minimum: int | None) -> int:
    """An integer ``>= minimum`` (any integer if None; not a bool, not a float that happens to be whole)."""
    if isinstance(x, (bool, np.bool_)):
        raise TypeError(f"{name} must be an integer, got {x!r}")
    try:
        v = operator.index(x)
    except TypeError:
        raise TypeError(f"{name} must be an integer, got {type(x).__name__} {x!r}") from None
    if minimum is not None and v < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {v}")
    return v


def function(fn, name: str, optional: bool = False):
    """A callable (or None if ``optional``)."""
    if not callable(fn) and not (optional and fn is None):
        raise TypeError(f"{name} must be a function{' or None' if optional else ''}, got {type(fn).__name__}")
    return fn


def callback(fn):
    """None or a callable ``(it, θ, f) -> bool | None``."""
    return function(fn, "callback (it, theta, f) -> bool or None", optional=True)


def family_matrices(A, B) -> tuple[np.ndarray, np.ndarray | None]:
    """What a family returned at ``θ``: ``(K, n, n)`` floating stacks, finite, ``B`` of ``A``'s shape."""
    A = np.asarray(A)
    A = A[None] if A.ndim == 2 else A
    if B is not None:
        B = np.asarray(B)
        B = B[None] if B.ndim == 2 else B
    for name, M in (("A", A), ("B", B)):
        if M is None:
            continue
        if M.ndim != 3 or M.shape[-1] != M.shape[-2] or M.shape[-1] == 0 or M.shape[0] == 0:
            raise ValueError(f"the family returned {name} of shape {M.shape}; it must be (n, n) or (K, n, n), n >= 1")
        if not (np.issubdtype(M.dtype, np.floating) or np.issubdtype(M.dtype, np.complexfloating)):
            raise TypeError(f"the family returned {name} of dtype {M.dtype}; it must be real or complex floating")
        if not np.all(np.isfinite(M)):
            k = int(np.argwhere(~np.isfinite(M))[0][0])
            raise ValueError(f"the family returned non-finite entries in {name} (matrix {k}); check it at this θ")
    if B is not None and B.shape != A.shape:
        raise ValueError(f"the family returned B of shape {B.shape} and A of shape {A.shape}; they must match")
    return A, B
