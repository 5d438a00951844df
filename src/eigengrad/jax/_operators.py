"""Operators for the iterative routines of ``eigengrad.jax``: every accepted form of ``A`` becomes
an ``Operator``, a pure product ``fn(X, *consts)`` on blocks of columns whose differentiable inputs
``consts`` are explicit, so that a ``custom_vjp`` can return their cotangents.

Accepted forms: a dense array; a ``jax.experimental.sparse.BCOO`` matrix (gradients to its values);
a SciPy sparse matrix or ``LinearOperator`` (no gradient); a function ``X -> A(θ) X`` on an
``(n, m)`` block, which may close over traced arrays (``θ`` gets gradients, found by
``jax.closure_convert``). Cotangents follow ``dL = Re Σ_i ⟨a_i, dA v_i⟩`` for adjoint vectors
``a`` (``Ā = Σ a_i v_i^H``), returned in JAX's convention (the conjugate of ``∂L/∂Re + i∂L/∂Im``).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Callable

import jax
import jax.numpy as jnp
import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as sla
from jax.experimental import sparse as jsparse


@dataclass(frozen=True)
class Operator:
    """``fn(X, *consts) = A X`` for a block ``X``; ``kind`` in dense, bcoo, function, scipy."""

    fn: Callable[..., Any]
    consts: tuple
    n: int
    dtype: Any
    kind: str
    hermitian: bool
    host: Any = None  # SciPy form of a scipy-kind operator

    @property
    def real(self) -> bool:
        return not jnp.issubdtype(self.dtype, jnp.complexfloating)

    def bind(self, consts: tuple) -> Callable[[jax.Array], jax.Array]:
        """``X -> A X`` at ``consts``."""
        return bind(self.fn, self.real, consts)

    def adjoint(self, consts: tuple) -> Callable[[jax.Array], jax.Array]:
        """``Y -> A^H Y`` by linear transposition of the product."""
        apply = self.bind(consts)

        def ah(Y):
            (t,) = jax.linear_transpose(apply, jnp.zeros(Y.shape, Y.dtype))(jnp.conj(Y))
            return jnp.conj(t)
        return ah

    def cotangent(self, consts: tuple, V: jax.Array, a: jax.Array) -> tuple:
        """JAX cotangents of ``consts`` for ``Ā = Σ_i a_i v_i^H`` (``herm(Ā)`` for a Hermitian
        matrix, which is read as ``(A + A^H)/2``)."""
        if not consts:
            return ()
        if self.kind == "dense":  # the input was already symmetrised outside: no herm here
            (M,) = consts
            return (_as(jnp.conj(a @ jnp.conj(V).T), M),)
        if self.kind == "bcoo":
            data, indices = consts
            i, j = indices[:, 0], indices[:, 1]
            g = jnp.sum(a[i] * jnp.conj(V[j]), axis=-1)
            if self.hermitian:
                g = (g + jnp.sum(V[i] * jnp.conj(a[j]), axis=-1)) / 2
            return (_as(jnp.conj(g), data), np.zeros(indices.shape, jax.dtypes.float0))
        _, pull = jax.vjp(lambda *c: self.bind(c)(V), *consts)
        return tuple(pull(jnp.conj(a)))


def bind(fn: Callable, real: bool, consts: tuple) -> Callable[[jax.Array], jax.Array]:
    """``X -> fn(X, *consts)``; a real operator acts on complex blocks part by part."""
    def apply(X):
        if real and jnp.iscomplexobj(X):
            return fn(X.real, *consts) + 1j * fn(X.imag, *consts)
        return fn(X, *consts)
    return apply


def _dense(X, M):
    return M @ X


@lru_cache(maxsize=64)
def _bcoo(shape: tuple) -> Callable:
    def fn(X, data, indices):
        return jsparse.BCOO((data, indices), shape=shape) @ X
    return fn


def _as(g, like):
    return (g if jnp.iscomplexobj(like) else jnp.real(g)).astype(like.dtype)


def as_operator(A: Any, *, n: int | None, dtype: Any, hermitian: bool, name: str, routine: str) -> Operator:
    """Normalise ``A`` (see the module docstring); ``n`` is needed for a function, ``dtype`` (the
    working precision) for a function or a SciPy operator."""
    if isinstance(A, jsparse.BCOO):
        if A.ndim != 2 or A.shape[0] != A.shape[1] or A.n_batch or A.n_dense:
            raise ValueError(f"{routine}: {name} must be a square 2-D BCOO matrix, got shape {A.shape}")
        return Operator(_bcoo(tuple(A.shape)), (A.data, A.indices), A.shape[0], A.dtype, "bcoo", hermitian)
    if isinstance(A, (sp.spmatrix, sp.sparray, sla.LinearOperator)):
        if A.shape[0] != A.shape[1]:
            raise ValueError(f"{routine}: {name} must be square, got shape {A.shape}")
        dt = np.result_type(A.dtype, dtype or np.float64)
        Ah = A

        def fn(X):
            shape = jax.ShapeDtypeStruct(X.shape, jnp.result_type(X.dtype, dt))
            return jax.pure_callback(lambda x: np.asarray(Ah @ np.asarray(x), dtype=shape.dtype), shape, X)

        return Operator(fn, (), A.shape[0], dt, "scipy", hermitian, host=A)
    if callable(A):
        if n is None:
            raise TypeError(f"{routine}: {name} is a function X -> {name} X; pass its size as n=...")
        dt = jnp.dtype(dtype or jnp.result_type(float))
        X0 = jnp.zeros((n, 1), dt)
        out = jax.eval_shape(A, X0)
        if tuple(out.shape) != (n, 1):
            raise ValueError(f"{routine}: {name}(X) must map an (n, m) block to (n, m); got {out.shape} for (n, 1)")
        fn, consts = jax.closure_convert(A, X0)
        return Operator(fn, tuple(consts), n, jnp.result_type(out.dtype, dt), "function", hermitian)
    M = jnp.asarray(A)
    if M.ndim != 2 or M.shape[0] != M.shape[1]:
        raise ValueError(f"{routine}: {name} must be a square matrix (n, n), got shape {M.shape}")
    if not jnp.issubdtype(M.dtype, jnp.inexact):
        raise TypeError(f"{routine}: {name} has dtype {M.dtype}; use a floating or complex dtype")
    if hermitian:
        M = (M + jnp.conj(M).T) / 2
    return Operator(_dense, (M,), M.shape[0], M.dtype, "dense", hermitian)


def host_operator(op: Operator, consts: tuple) -> Any:
    """A SciPy form of ``op`` at concrete ``consts`` for the ARPACK backend."""
    if op.kind == "scipy":
        return op.host
    if op.kind == "dense":
        return np.asarray(consts[0])
    if op.kind == "bcoo":
        data, idx = np.asarray(consts[0]), np.asarray(consts[1])
        return sp.csr_matrix((data, (idx[:, 0], idx[:, 1])), shape=(op.n, op.n))
    apply = jax.jit(op.bind(consts))
    mm = lambda X: np.asarray(apply(jnp.asarray(X.reshape(op.n, -1))))  # noqa: E731
    return sla.LinearOperator((op.n, op.n), matvec=lambda x: mm(x)[:, 0], matmat=mm, dtype=np.dtype(op.dtype))
