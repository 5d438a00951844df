"""The band-gap objective: gap–midgap ratio between bands ``m`` and ``m+1`` (1-based).

With reduced frequencies ``f_j(k) = √λ_j(k) / 2π``:

    U = max_k f_m(k)          (top of the band below the gap)
    L = min_k f_{m+1}(k)      (bottom of the band above it)
    R = 2 (L − U) / (L + U)   (gap–midgap ratio; negative when the bands overlap)

``U`` is a max over wavevectors of an eigenvalue that is the top of its cluster, ``L`` a min of
the bottom of one: non-smooth where wavevectors tie or where the edge is a degenerate eigenvalue.
:func:`neg_gap_midgap` states ``-R`` as an ``eigengrad.nonsmooth`` objective of max type, whose
generalized gradients (the min-norm element over the spectraplex of the active clusters across
wavevectors) and optimizer come from eigengrad.
"""

from __future__ import annotations

import numpy as np

from eigengrad import nonsmooth
from eigengrad.nonsmooth import Objective


def edges(f: np.ndarray, m: int) -> tuple[float, float]:
    """``(U, L)``: top of band ``m`` and bottom of band ``m+1`` over all wavevectors."""
    return float(np.max(f[:, m - 1])), float(np.min(f[:, m]))


def gap_midgap(f: np.ndarray, m: int) -> float:
    """``R = 2(L − U)/(L + U)`` from frequencies ``f (nk, nb)``."""
    U, L = edges(f, m)
    return 2 * (L - U) / (L + U)


def neg_gap_midgap(m: int) -> Objective:
    """``-R`` as a function of the family's eigenvalues ``λ = (ωa/c)²``: eigengrad.nonsmooth's
    ``neg_gap_midgap(m, squared=True)``, terms ``a = max_k λ_m`` and ``b = min_k λ_{m+1}``,
    ``-R = -2(√b - √a)/(√b + √a)``, of max type (increasing in ``a``, decreasing in ``b``)."""
    return nonsmooth.neg_gap_midgap(m, squared=True)
