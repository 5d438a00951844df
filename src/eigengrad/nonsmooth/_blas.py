"""``blas_threads(n)``: limit NumPy's and SciPy's bundled OpenBLAS to ``n`` threads in a ``with`` block.

The non-smooth layer does many small dense products and factorisations per step; on a busy machine
OpenBLAS's spinning worker threads make them many times slower (measured 14× on a shared 2-core
box). Only the OpenBLAS copies bundled in the NumPy and SciPy wheels (``scipy_openblas``) are
handled; elsewhere this does nothing. Not thread-safe: it changes a process-wide setting and restores it on exit.
"""

from __future__ import annotations

import contextlib
import ctypes
import glob
import os

import numpy as np

from . import _checks


def _openblas() -> list:
    """``(get, set)`` thread-count functions of every bundled OpenBLAS found."""
    import scipy

    out = []
    for pkg, libs in ((np, "numpy.libs"), (scipy, "scipy.libs")):
        root = os.path.join(os.path.dirname(pkg.__file__), os.pardir, libs)
        for path in glob.glob(os.path.join(root, "*openblas*")):
            lib = ctypes.CDLL(path)
            for suffix in ("64_", ""):
                get = getattr(lib, f"scipy_openblas_get_num_threads{suffix}", None)
                put = getattr(lib, f"scipy_openblas_set_num_threads{suffix}", None)
                if get is not None and put is not None:
                    out.append((get, put))
                    break
    return out


@contextlib.contextmanager
def blas_threads(n: int):
    """Run the block with the bundled OpenBLAS libraries limited to ``n`` threads (no-op if none)."""
    n = _checks.count(n, "n (the number of BLAS threads)", 1)
    libs = _openblas()
    old = [get() for get, _ in libs]
    for _, put in libs:
        put(n)
    try:
        yield
    finally:
        for (_, put), k in zip(libs, old):
            put(k)
