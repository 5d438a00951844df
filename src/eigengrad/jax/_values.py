"""Reading concrete values out of JAX arrays, where they exist."""

from __future__ import annotations

import jax
import numpy as np


def concrete(x) -> np.ndarray | None:
    """Concrete value of ``x`` (also under eager ``grad``), or None where it is traced (jit, vmap)."""
    if isinstance(x, jax.core.Tracer):
        x = x.to_concrete_value()
    return None if x is None else np.asarray(x)


def all_concrete(*xs) -> bool:
    """True when every ``x`` has a concrete value (eager execution)."""
    return all(concrete(x) is not None for x in xs if x is not None)
