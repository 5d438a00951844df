"""Band-gap maximisation by steepest ascent along the min-norm generalized gradient.

Each iteration: (1) the active sets within ``delta`` of the band edges and their cluster model
(:func:`objective.cluster_model`), (2) the min-norm element ``s`` of the generalized gradient of
the gap–midgap ratio ``R``, restricted to feasible directions of the box ``θ ∈ [0, 1]``
(:mod:`minnorm`), (3) a backtracking line search on ``θ⁺ = clip(θ + t s)`` that accepts only
``R(θ⁺) >= R(θ) + σ ⟨s, θ⁺ − θ⟩`` (Armijo), so ``R`` increases monotonically.

``delta`` is the ε-active-set tolerance (relative, in frequency): band-edge eigenvalues within it are
treated as one cluster, so a direction is chosen that raises (lowers) all of them together instead of
zig-zagging between near-ties. A failed line search means a near-active eigenvalue was left out:
``delta`` grows; a full step lets it shrink again.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from .minnorm import box_projection, min_norm
from .objective import GapProblem, cluster_model, edges, gap_midgap


@dataclass
class History:
    """Per-iteration record: ratio ``R``, edges ``U``/``L``, ‖s‖, step, delta, active counts, time."""

    ratio: list[float] = field(default_factory=list)
    upper: list[float] = field(default_factory=list)
    lower: list[float] = field(default_factory=list)
    norm: list[float] = field(default_factory=list)
    step: list[float] = field(default_factory=list)
    delta: list[float] = field(default_factory=list)
    active: list[tuple[int, int]] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)


def _default_log(i: int, h: History) -> None:
    nu, nl = h.active[-1]
    print(f"it {i:3d}  gap/midgap {100 * h.ratio[-1]:7.3f} %  edges {h.upper[-1]:.5f} -> {h.lower[-1]:.5f}  "
          f"|s| {h.norm[-1]:.2e}  step {h.step[-1]:.1e}  delta {h.delta[-1]:.0e}  active U/L {nu}/{nl}  "
          f"{h.seconds[-1]:.1f}s", flush=True)


def maximize_gap(problem: GapProblem, theta0: np.ndarray, iterations: int = 40, *, delta: float = 1e-3,
                 delta_range: tuple[float, float] = (1e-6, 5e-2), max_change: float = 0.25, sigma: float = 1e-2,
                 tol: float = 1e-7, debug: bool = False, log: Callable[[int, History], None] | None = _default_log):
    """Maximise the gap–midgap ratio of ``problem`` from ``theta0``; returns ``(theta, history)``.

    ``max_change`` caps the first trial step (largest pixel change); later trials start from twice
    the last accepted step. Stops after ``iterations`` or when ``‖s‖ < tol`` at the smallest delta.
    """
    theta = np.clip(np.asarray(theta0, float), 0.0, 1.0)
    hist = History()
    R = problem.ratio(theta)
    t_prev = None
    t0 = time.perf_counter()
    for i in range(iterations):
        model = cluster_model(problem, theta, delta)
        proj = box_projection(theta.reshape(-1))
        mn = min_norm(model, proj)
        s = mn.s.reshape(theta.shape)
        norm = float(np.linalg.norm(s))
        if norm < tol:
            if delta <= delta_range[0]:
                break
            delta = max(delta / 10, delta_range[0])
            continue
        t = t_prev * 2 if t_prev else max_change / np.max(np.abs(s))
        t = min(t, max_change / np.max(np.abs(s)))
        accepted = False
        for _ in range(12):
            trial = np.clip(theta + t * s, 0.0, 1.0)
            f_trial = problem.frequencies(trial)
            R_trial = gap_midgap(f_trial, problem.m)
            if R_trial >= R + sigma * float(np.vdot(s, trial - theta)):
                accepted = True
                break
            t /= 2
        if not accepted:
            if debug:
                print(f"  line search failed: delta {delta:.1e} |s| {norm:.2e} active {[(k, j) for k, j in model.active_U]} / "
                      f"{[(k, j) for k, j in model.active_L]} certificate {mn.gap:.1e} slope {model.slope(mn.s):.3e} vs {norm**2:.3e}")
            if delta >= delta_range[1]:
                break
            delta = min(delta * 4, delta_range[1])
            t_prev = None
            continue
        theta, R, t_prev = trial, R_trial, t
        delta = max(delta * 0.7, delta_range[0])
        hist.ratio.append(R)
        U, L = edges(f_trial, problem.m)
        hist.upper.append(U)
        hist.lower.append(L)
        hist.norm.append(norm)
        hist.step.append(t * float(np.max(np.abs(s))))
        hist.delta.append(delta)
        hist.active.append((sum(len(j) for _, j in model.active_U), sum(len(j) for _, j in model.active_L)))
        hist.seconds.append(time.perf_counter() - t0)
        if log:
            log(i, hist)
    return theta, hist
