"""Leading batch axes for the truncated eigensolvers: ``A`` (and ``B``) of shape ``(..., n, n)``
are solved matrix by matrix (each its own Krylov space and convergence test) and the outputs
stacked to ``w (..., k)``, ``V (..., n, k)``; every output field gets the batch axes in front."""

from __future__ import annotations

import functools
import inspect
from typing import Any, Callable

import numpy as np

from .._backend import namespace

MATRICES = ("A", "B")


def over_batch(is_dense: Callable[[Any], bool]) -> Callable:
    """Decorate ``eigsh``/``eigs`` so that dense ``A``/``B`` with leading axes (``is_dense``: an
    array of the framework) are looped over; unbatched calls pass straight through."""

    def decorate(fn: Callable) -> Callable:
        sig = inspect.signature(fn)

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            bound = sig.bind(*args, **kwargs)
            mats = {m: bound.arguments[m] for m in MATRICES
                    if is_dense(bound.arguments.get(m)) and bound.arguments[m].ndim > 2}
            if not mats:
                return fn(*args, **kwargs)
            batch = np.broadcast_shapes(*(M.shape[:-2] for M in mats.values()))
            outs = []
            for idx in np.ndindex(*batch):
                for m, M in mats.items():
                    full = M if M.shape[:-2] == batch else _broadcast(M, batch)
                    bound.arguments[m] = full[idx]
                outs.append(fn(*bound.args, **bound.kwargs))
            return _stack(outs, batch)

        return wrapper

    return decorate


def _broadcast(M, batch):
    return namespace(M).broadcast_to(M, (*batch, *M.shape[-2:]))


def _stack(outs: list, batch: tuple) -> Any:
    """Stack per-matrix outputs (arrays, Python numbers, tuples and NamedTuples of them)."""
    first = outs[0]
    if isinstance(first, tuple):
        fields = [_stack(list(col), batch) for col in zip(*outs)]
        return type(first)(*fields) if hasattr(first, "_fields") else tuple(fields)
    if isinstance(first, (int, float)):
        return np.reshape(np.asarray(outs), batch)
    xp = namespace(first)
    return xp.reshape(xp.stack(outs), (*batch, *first.shape))
