"""Band-gap maximisation with eigengrad's non-smooth optimizer.

``maximize_gap`` minimises ``-R`` (:func:`objective.neg_gap_midgap`) over the design box
``θ ∈ [0, 1]^p`` with ``eigengrad.nonsmooth.minimize``. Methods:

* ``"steepest"`` (default): ε-steepest descent — the min-norm element of the generalized gradient
  built from every band-edge eigenvalue within ε of the edge, at every wavevector (a spectraplex
  over the active clusters), projected on the box, with an Armijo line search, so ``R`` increases
  monotonically;
* ``"cluster"``: proximal cluster-model steps (all eigenvalues of an edge cluster constrained
  together, Men et al.), accepted only if they achieve a tenth of the predicted increase.

Families: :class:`family.BandFamily` (dense matrices, every method) or
:class:`window.WindowFamily` (the matrix-free eigsh window; first-order methods only, ``m`` its
aligned ``band``). This module only wires the photonic family and objective to eigengrad and
records the gap.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from eigengrad.nonsmooth import minimize

from .family import BandFamily
from .objective import neg_gap_midgap
from .window import WindowFamily


@dataclass
class GapResult:
    """Final design ``theta``, the gap–midgap ratio ``R`` after each iteration (index 0: the start),
    wall time per entry, and the optimizer's stopping message."""

    theta: np.ndarray
    ratio: list[float] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    message: str = ""
    iterations: int = 0


def maximize_gap(family: BandFamily | WindowFamily, m: int, theta0: np.ndarray, *, iterations: int = 40,
                 method: str = "steepest", tol: float = 1e-8,
                 log: Callable[[int, float, float], None] | None = None) -> GapResult:
    """Maximise the gap between bands ``m`` and ``m+1`` of ``family`` from ``theta0``.

    ``log(it, R, seconds)`` is called at the start and after every iteration. If eigengrad's step
    solver fails (a ``LinAlgError``), the run stops there, keeps the last accepted design and says
    so in ``message``."""
    if isinstance(family, WindowFamily) and method == "cluster":
        raise ValueError("method: 'cluster' needs second-order terms the eigsh window does not give; "
                         "use 'steepest' (or 'gradient') with a WindowFamily")
    obj = neg_gap_midgap(m)
    out = GapResult(np.clip(np.asarray(theta0, float), 0.0, 1.0))
    t0 = time.perf_counter()

    def record(it: int, theta: np.ndarray, f: float) -> None:
        out.theta, out.iterations = np.asarray(theta, float), it
        out.ratio.append(-f)
        out.seconds.append(time.perf_counter() - t0)
        if log:
            log(it, -f, out.seconds[-1])

    record(0, out.theta, obj(family.eigenvalues(out.theta)))
    try:
        res = minimize(family, obj, out.theta, bounds=(0.0, 1.0), method=method, maxiter=iterations, tol=tol,
                       callback=record)
    except np.linalg.LinAlgError as err:
        out.message = f"eigengrad.nonsmooth step failed ({err}); kept the last accepted design"
        return out
    if out.ratio[-1] != -res.f:
        record(res.iterations, res.theta, res.f)
    out.theta, out.message, out.iterations = res.theta, res.message, res.iterations
    return out
