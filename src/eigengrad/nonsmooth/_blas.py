"""``blas_threads(n)``: limit NumPy's bundled OpenBLAS to ``n`` threads inside a ``with`` block.

The non-smooth layer does many small dense products and factorisations per step; on a busy machine
OpenBLAS's spinning worker threads make them many times slower (measured 14× on a shared 2-core
box). Only NumPy's own OpenBLAS (the ``scipy_openblas`` wheels) is handled; elsewhere this does
nothing. Not thread-safe: it changes a process-wide setting and restores it on exit.
"""

from __future__ import annotations

import contextlib
import ctypes
import glob
import os

import numpy as np


def _openblas():
    root = os.path.join(os.path.dirname(np.__file__), os.pardir, "numpy.libs")
    for path in glob.glob(os.path.join(root, "*openblas*")):
        lib = ctypes.CDLL(path)
        for suffix in ("64_", ""):
            get = getattr(lib, f"scipy_openblas_get_num_threads{suffix}", None)
            put = getattr(lib, f"scipy_openblas_set_num_threads{suffix}", None)
            if get is not None and put is not None:
                return get, put
    return None


@contextlib.contextmanager
def blas_threads(n: int):
    """Run the block with NumPy's OpenBLAS limited to ``n`` threads (no-op if it is not found)."""
    fns = _openblas()
    if fns is None:
        yield
        return
    get, put = fns
    old = get()
    put(int(n))
    try:
        yield
    finally:
        put(old)
