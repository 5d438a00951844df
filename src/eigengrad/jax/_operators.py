"""Operators for the iterative routines of ``eigengrad.jax``: every accepted form of ``A`` becomes
an ``Operator`` whose product is a pure function ``fn(X, *diff, *nondiff)`` of a block of columns
with its arrays explicit, so that a ``custom_vjp`` can take them as arguments and return their
cotangents.

Accepted forms: a dense array; a ``jax.experimental.sparse.BCOO`` matrix (gradients to its values);
a SciPy sparse matrix or ``LinearOperator`` (no gradient); a function ``X -> A(θ) X`` on an
``(n, m)`` block, which may close over traced arrays (``θ`` gets gradients). A function is traced
once per block width (``jax.make_jaxpr``) and every array it closes over becomes an explicit
argument (traced ones differentiable), so a new closure of the same computation reuses the compiled
solver. Cotangents follow ``dL = Re Σ_i ⟨a_i, dA v_i⟩`` for adjoint vectors ``a``
(``Ā = Σ a_i v_i^H``), returned in JAX's convention (the conjugate of ``∂L/∂Re + i∂L/∂Im``).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Callable, Iterable

import jax
import jax.numpy as jnp
import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as sla
from jax.experimental import sparse as jsparse

Args = tuple  # (diff, nondiff): tuples of arrays


class Keyed:
    """A function hashed by ``key`` (its structure), so ``jax.jit`` reuses compilations across
    closures of the same computation; ``keep`` holds objects the key refers to by identity."""

    def __init__(self, fn: Callable, key: tuple, keep: Any = None):
        self.fn, self.key, self.keep = fn, key, keep

    def __call__(self, *args):
        return self.fn(*args)

    def __hash__(self) -> int:
        return hash(self.key)

    def __eq__(self, other) -> bool:
        return isinstance(other, Keyed) and self.key == other.key


def convert(A: Callable, X0: jax.Array) -> tuple[Keyed, Args]:
    """Trace ``A`` at the block ``X0``; every array it closes over becomes an argument: traced
    floating ones in ``diff`` (they may carry derivatives), the rest in ``nondiff``."""
    closed = jax.make_jaxpr(A)(X0)
    consts = list(closed.consts)
    mask = [isinstance(c, jax.core.Tracer) and jnp.issubdtype(c.dtype, jnp.inexact) for c in consts]
    diff = tuple(c for c, d in zip(consts, mask) if d)
    nondiff = tuple(c for c, d in zip(consts, mask) if not d)
    jaxpr, nd = closed.jaxpr, len(diff)

    def fn(X, *args):
        it_d, it_n = iter(args[:nd]), iter(args[nd:])
        merged = [next(it_d) if d else next(it_n) for d in mask]
        return jax.core.eval_jaxpr(jaxpr, merged, X)[0]

    return Keyed(fn, (str(jaxpr), tuple(mask))), (diff, nondiff)


@dataclass(frozen=True)
class Operator:
    """A product ``X -> A X``. ``fns[width]`` / ``args[width]``: the function and its arrays for blocks
    of that width (``None``: any width)."""

    fns: dict
    args: dict
    n: int
    dtype: Any
    kind: str  # dense, bcoo, function, scipy
    hermitian: bool
    source: Any = None  # the SciPy object of a scipy operator

    @property
    def real(self) -> bool:
        return not jnp.issubdtype(self.dtype, jnp.complexfloating)

    def fn(self, width: int) -> Callable:
        return self.fns.get(None) or self.fns[width]

    def bind(self, args: dict) -> Callable[[jax.Array], jax.Array]:
        """``X -> A X`` with the arrays ``args`` (same structure as ``self.args``)."""
        return apply(self.fns, args, self.real)

    def cotangent(self, args: dict, width: int, V: jax.Array, a: jax.Array) -> dict:
        """JAX cotangents of ``args`` for ``Ā = Σ_i a_i v_i^H``, carried by the ``width`` entry
        (``herm(Ā)`` entries for a Hermitian BCOO matrix, read as ``(A + A^H)/2``)."""
        key = None if None in args else width
        out = {w: (tuple(map(_zeros, d)), tuple(map(_zeros, nd))) for w, (d, nd) in args.items()}
        diff, nondiff = args[key]
        if not diff:
            return out
        if self.kind == "dense":  # symmetrised outside when Hermitian
            (M,) = diff
            g = (_as(jnp.conj(a @ jnp.conj(V).T), M),)
        elif self.kind == "bcoo":
            (data,), (indices,) = diff, nondiff
            i, j = indices[:, 0], indices[:, 1]
            s = jnp.sum(a[i] * jnp.conj(V[j]), axis=-1)
            if self.hermitian:
                s = (s + jnp.sum(V[i] * jnp.conj(a[j]), axis=-1)) / 2
            g = (_as(jnp.conj(s), data),)
        else:
            fn = self.fn(width)
            _, pull = jax.vjp(lambda *d: _apply_one(fn, d + nondiff, self.real, V), *diff)
            g = tuple(pull(jnp.conj(a)))
        out[key] = (g, out[key][1])
        return out


    def tangent(self, args: dict, dargs: dict, width: int, V: jax.Array) -> jax.Array:
        """``dA V`` for tangents ``dargs`` of the differentiable arrays (``{width: diff}``): the JVP
        of the product at the block ``V``; ``herm(dA) V`` for a Hermitian BCOO matrix."""
        key = None if None in args else width
        diff, nondiff = args[key]
        ddiff = dargs[key]
        if not diff:
            return jnp.zeros_like(V)
        if self.kind == "dense":
            return ddiff[0] @ V
        if self.kind == "bcoo":
            (indices,), shape = nondiff, (self.n, self.n)
            dV = jsparse.BCOO((ddiff[0], indices), shape=shape) @ V
            if self.hermitian:
                dV = (dV + jsparse.BCOO((jnp.conj(ddiff[0]), indices[:, ::-1]), shape=shape) @ V) / 2
            return dV
        fn = self.fn(width)
        return jax.jvp(lambda *d: _apply_one(fn, d + nondiff, self.real, V), diff, tuple(ddiff))[1]


def apply(fns: dict, args: dict, real: bool) -> Callable[[jax.Array], jax.Array]:
    """``X -> A X`` dispatching on the block width; other widths column by column (width 1)."""
    def mv(X):
        key = None if None in fns else X.shape[1]
        if key in fns:
            d, nd = args[key]
            return _apply_one(fns[key], d + nd, real, X)
        d, nd = args[1]
        return jax.vmap(lambda x: _apply_one(fns[1], d + nd, real, x[:, None])[:, 0], 1, 1)(X)
    return mv


def _apply_one(fn, consts, real, X):
    if real and jnp.iscomplexobj(X):
        return fn(X.real, *consts) + 1j * fn(X.imag, *consts)
    return fn(X, *consts)


def _zeros(x):
    if jnp.issubdtype(x.dtype, jnp.inexact):
        return jnp.zeros_like(x)
    return np.zeros(x.shape, jax.dtypes.float0)


def _as(g, like):
    return (g if jnp.iscomplexobj(like) else jnp.real(g)).astype(like.dtype)


def _dense(X, M):
    return M @ X


@lru_cache(maxsize=64)
def _bcoo(shape: tuple) -> Callable:
    def fn(X, data, indices):
        return jsparse.BCOO((data, indices), shape=shape) @ X
    return fn


def _scipy(A, dt) -> Keyed:
    def fn(X):
        shape = jax.ShapeDtypeStruct(X.shape, jnp.result_type(X.dtype, dt))
        return jax.pure_callback(lambda x: np.asarray(A @ np.asarray(x), dtype=shape.dtype), shape, X)
    return Keyed(fn, ("scipy", id(A)), A)


def as_operator(A: Any, *, n: int | None, dtype: Any, hermitian: bool, widths: Iterable[int], name: str,
                routine: str) -> Operator:
    """Normalise ``A`` (see the module docstring); a function is traced at each block width in
    ``widths`` (and 1); ``n`` is needed for a function, ``dtype`` the working precision."""
    if isinstance(A, jsparse.BCOO):
        if A.ndim != 2 or A.shape[0] != A.shape[1] or A.n_batch or A.n_dense:
            raise ValueError(f"{routine}: {name} must be a square 2-D BCOO matrix, got shape {A.shape}")
        fn = _bcoo(tuple(A.shape))
        return Operator({None: fn}, {None: ((A.data,), (A.indices,))}, A.shape[0], A.dtype, "bcoo", hermitian)
    if isinstance(A, (sp.spmatrix, sp.sparray, sla.LinearOperator)):
        if A.shape[0] != A.shape[1]:
            raise ValueError(f"{routine}: {name} must be square, got shape {A.shape}")
        dt = np.result_type(A.dtype, dtype or np.float64)
        return Operator({None: _scipy(A, dt)}, {None: ((), ())}, A.shape[0], dt, "scipy", hermitian, source=A)
    if callable(A):
        if n is None:
            raise TypeError(f"{routine}: {name} is a function X -> {name} X; pass its size as n=...")
        dt = jnp.dtype(dtype or jnp.result_type(float))
        out = jax.eval_shape(A, jax.ShapeDtypeStruct((n, 1), dt))
        if tuple(out.shape) != (n, 1):
            raise ValueError(f"{routine}: {name}(X) must map an (n, m) block to (n, m); got {out.shape} for (n, 1)")
        odt = jnp.result_type(out.dtype, dt)
        xdt = odt if jnp.issubdtype(odt, jnp.complexfloating) else jnp.finfo(dt).dtype
        fns, args = {}, {}
        for w in sorted(set(widths) | {1}):
            fns[w], args[w] = convert(A, jnp.zeros((n, w), xdt))
        return Operator(fns, args, n, odt, "function", hermitian)
    M = jnp.asarray(A)
    if M.ndim != 2 or M.shape[0] != M.shape[1]:
        raise ValueError(f"{routine}: {name} must be a square matrix (n, n), got shape {M.shape}")
    if not jnp.issubdtype(M.dtype, jnp.inexact):
        raise TypeError(f"{routine}: {name} has dtype {M.dtype}; use a floating or complex dtype")
    if hermitian:
        M = (M + jnp.conj(M).T) / 2
    return Operator({None: _dense}, {None: ((M,), ())}, M.shape[0], M.dtype, "dense", hermitian)


def host_operator(op: Operator, args: dict, dtype: Any) -> Any:
    """A SciPy form of ``op`` with concrete ``args``, for the ARPACK backend, acting on vectors of
    the working ``dtype`` (complex when the problem is, even for a real operator)."""
    if op.kind == "scipy":
        return op.source
    wdt = np.result_type(dtype, np.float32)
    if op.kind == "dense":
        return np.asarray(args[None][0][0]).astype(np.result_type(op.dtype, wdt), copy=False)
    if op.kind == "bcoo":
        (data,), (idx,) = args[None]
        data, idx = np.asarray(data).astype(np.result_type(op.dtype, wdt), copy=False), np.asarray(idx)
        return sp.csr_matrix((data, (idx[:, 0], idx[:, 1])), shape=(op.n, op.n))
    mv = jax.jit(op.bind(args))
    dt = np.dtype(dtype)
    mm = lambda X: np.array(mv(jnp.asarray(X.reshape(op.n, -1), dt)), dtype=dt)  # noqa: E731 (writable copy)
    return sla.LinearOperator((op.n, op.n), matvec=lambda x: mm(x)[:, 0], matmat=mm, dtype=dt)
