"""The one control-flow primitive the solvers need: ``jax.lax.while_loop`` for JAX (traceable, fixed
shapes), a plain Python loop for every other namespace."""

from __future__ import annotations

from typing import Any, Callable

from array_api_compat import device

from .._backend import is_jax, real_dtype


def while_loop(xp: Any, cond: Callable[[Any], Any], body: Callable[[Any], Any], state: Any) -> Any:
    """Apply ``body`` to ``state`` while ``cond(state)`` holds; ``state`` is a tuple of arrays."""
    if is_jax(xp):
        import jax

        return jax.lax.while_loop(cond, body, state)
    while bool(cond(state)):
        state = body(state)
    return state


def safe_div(xp: Any, a: Any, b: Any) -> Any:
    """``a / b`` where ``b != 0``, else 0 (keeps finished or zero columns finite)."""
    nz = b != 0
    return xp.where(nz, a / xp.where(nz, b, xp.ones_like(b)), xp.zeros_like(a / xp.ones_like(b)))


def noise(xp: Any, n: int, seed: Any, like: Any) -> Any:
    """A deterministic pseudo-random column ``(n, 1)`` in ``[-1/2, 1/2)`` (a sine hash of the row
    index and ``seed``), of ``like``'s dtype and device."""
    rdt = real_dtype(like)
    i = xp.astype(xp.arange(n, device=device(like)), rdt)
    s = xp.sin(i * 12.9898 + xp.astype(seed, rdt) * 78.233 + 0.5) * 43758.5453
    return xp.astype(s - xp.floor(s) - 0.5, like.dtype)[:, None]
