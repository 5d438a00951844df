"""The one control-flow primitive the solvers need: ``jax.lax.while_loop`` for JAX (traceable, fixed
shapes), a plain Python loop for every other namespace."""

from __future__ import annotations

from typing import Any, Callable

from .._backend import is_jax


def while_loop(xp: Any, cond: Callable[[Any], Any], body: Callable[[Any], Any], state: Any) -> Any:
    """Apply ``body`` to ``state`` while ``cond(state)`` holds; ``state`` is a tuple of arrays."""
    if is_jax(xp):
        import jax

        return jax.lax.while_loop(cond, body, state)
    while bool(cond(state)):
        state = body(state)
    return state


def cdot(xp: Any, a: Any, b: Any) -> Any:
    """Column-wise inner products ``a_j^H b_j``, shape ``(m,)``."""
    return xp.sum(xp.conj(a) * b, axis=0) if xp.isdtype(a.dtype, "complex floating") else xp.sum(a * b, axis=0)


def cnorm(xp: Any, a: Any) -> Any:
    """Column-wise 2-norms, shape ``(m,)`` (real)."""
    return xp.linalg.vector_norm(a, axis=0)


def safe_div(xp: Any, a: Any, b: Any) -> Any:
    """``a / b`` where ``b != 0``, else 0 (keeps finished or zero columns finite)."""
    nz = b != 0
    return xp.where(nz, a / xp.where(nz, b, xp.ones_like(b)), xp.zeros_like(a / xp.ones_like(b)))
