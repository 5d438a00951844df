"""The control flow the solvers need, traceable for JAX (``jax.lax``: fixed shapes) and plain Python
for every other namespace: loops, a two-way branch, and reading or writing one column of a block at
a traced index without touching the others."""

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


def branch(xp: Any, pred: Any, true_fn: Callable[[], Any], false_fn: Callable[[], Any]) -> Any:
    """``true_fn()`` if ``pred`` else ``false_fn()``: only the taken branch runs (under ``jax.vmap``
    with a batched ``pred``: both, then a select)."""
    if is_jax(xp):
        import jax

        return jax.lax.cond(pred, true_fn, false_fn)
    return true_fn() if bool(pred) else false_fn()


def column(xp: Any, Q: Any, j: Any) -> Any:
    """Column ``j`` of ``Q`` as an ``(n, 1)`` block (``j`` may be traced)."""
    if is_jax(xp):
        import jax

        return jax.lax.dynamic_slice_in_dim(Q, j, 1, axis=1)
    return Q[:, int(j):int(j) + 1]


def set_column(xp: Any, Q: Any, j: Any, q: Any) -> Any:
    """``Q`` with column ``j`` replaced by the ``(n, 1)`` block ``q``: an update in place for JAX
    inside a loop (XLA reuses the buffer) and for the eager namespaces (``Q`` must be owned by the
    caller's loop state)."""
    if is_jax(xp):
        import jax

        return jax.lax.dynamic_update_slice_in_dim(Q, q, j, axis=1)
    Q[:, int(j):int(j) + 1] = q
    return Q


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
