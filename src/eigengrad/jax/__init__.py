"""eigengrad for JAX: eigenvalue routines whose derivatives (forward, reverse, higher order, under
``jit`` and ``vmap``) are correct at degeneracy and report gauge-dependent losses."""

from ._eigh import eigh, eigvalsh

__all__ = ["eigh", "eigvalsh"]
