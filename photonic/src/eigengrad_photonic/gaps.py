"""Band gaps on the matrix-free path, differentiable: a single gap or a complete (TE and TM
overlapping) gap, as the gap–midgap ratio of the intersection of the polarisations' gaps.

For gaps ``(p, m)`` (polarisation ``p``, the gap above band ``m``, 1-based) with reduced frequencies
``f_p(k)`` over the wavevectors of the grid:

    U = max_p max_k f_{p,m}(k),   L = min_p min_k f_{p,m+1}(k),   R = 2 (L − U) / (L + U)

(negative when the gaps do not overlap). ``R`` is a max/min of eigenvalues, so it is non-smooth
where two edges tie; ``jax.grad`` gives the gradient of the active edges (eigsh's adjoint, never
the iterations), exact wherever each edge is reached once, by one non-degenerate band.
"""

from __future__ import annotations

from collections.abc import Sequence

import jax.numpy as jnp

from . import iterative
from .grid import Medium, PlaneWaveGrid

COMPLETE_TRIANGULAR = (("te", 1), ("tm", 2))
"""The complete gap of the triangular air-hole crystal: TE above band 1 and TM above band 2."""


def edges(pw: PlaneWaveGrid, medium: Medium, gaps: Sequence[tuple[str, int]],
          options: iterative.EigshOptions = iterative.EigshOptions()):
    """``(U, L)``: the highest top and the lowest bottom over the gaps ``(polarisation, band)``."""
    if not gaps:
        raise ValueError("gaps: give at least one (polarisation, band) pair")
    tops, bottoms = [], []
    for pol, m in gaps:
        if pol not in iterative.POLARIZATIONS or int(m) < 1:
            raise ValueError(f"gaps: each entry is (one of {iterative.POLARIZATIONS}, band >= 1), got {(pol, m)!r}")
        f = iterative.frequencies(iterative.solve(pw, medium, pol, m + 1, options=options).lam)
        tops.append(jnp.max(f[:, m - 1]))
        bottoms.append(jnp.min(f[:, m]))
    return jnp.max(jnp.stack(tops)), jnp.min(jnp.stack(bottoms))


def gap_midgap(pw: PlaneWaveGrid, medium: Medium, gaps: Sequence[tuple[str, int]],
               options: iterative.EigshOptions = iterative.EigshOptions()):
    """``R = 2 (L − U) / (L + U)`` of the overlap of the gaps (differentiable in ``medium``)."""
    top, bottom = edges(pw, medium, gaps, options)
    return 2 * (bottom - top) / (bottom + top)
