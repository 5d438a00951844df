"""Minimising a max-type eigenvalue objective ``f(θ)`` through eigenvalue crossings, optionally inside a
box ``lower ≤ θ ≤ upper``.

Methods (``method=``):

``"cluster"`` (default) — proximal cluster-model steps (Overton's and Men et al.'s idea, in the
  form of a spectral bundle step). At ``θ`` every nearly active piece contributes a window of
  eigenvalues ``Λ_p`` (the target, its near neighbours on the inner side, ``extra`` more) with
  eigenvectors ``V_p``, and the model ``m(d) = f + Σ_t w_t max_p λ_max(Λ_p - y_t + Σ_j d_j G_pj)``
  constrains all eigenvalues of a cluster together. The step minimises ``m(d) + |d|²/(2τ)`` over the
  box, through its dual (a QP over the spectraplices of the windows, solved by the interior-point
  method in ``_spectraplex``). ``τ`` is a trust parameter: it grows after steps whose actual decrease
  matches the predicted one and shrinks after poor ones. It stops when the predicted decrease is
  below ``tol · max(|f|, s)``, ``s`` = :meth:`Objective.scale` (scale invariant; not converged if that follows five rejected steps in a row).
``"steepest"`` — ε-steepest descent: the min-norm element of the subdifferential built from all
  eigenvalues within ``ε`` of each active target, projected Armijo line search; ``ε`` shrinks when
  the line search fails. First order: converges, but slowly near a multiple eigenvalue.
``"gradient"`` — plain (projected) gradient descent with the gradient of the single eigenvalue the
  solver returns, with an Armijo line search. Not a correct method at a crossing; offered to show
  why the others exist (it stalls).

Each iteration is recorded in :class:`History` (values, predicted and actual decreases, step
lengths, window sizes, VJP counts, wall time), for plotting.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import scipy.linalg

from . import _checks
from . import _spectraplex as sp
from . import model as _model
from .analysis import tangent_cone
from .family import Family, eigenvalues, evaluate, linearize, spectrum
from .objectives import Objective, objective_arg


@dataclass
class History:
    """One entry per iteration, as lists (``np.asarray(history.f)`` to plot)."""

    f: list = field(default_factory=list)
    predicted: list = field(default_factory=list)
    actual: list = field(default_factory=list)
    step: list = field(default_factory=list)
    tau: list = field(default_factory=list)
    window: list = field(default_factory=list)
    accepted: list = field(default_factory=list)
    vjps: list = field(default_factory=list)
    time: list = field(default_factory=list)

    def add(self, **kw) -> None:
        for k, v in kw.items():
            getattr(self, k).append(v)


@dataclass(frozen=True)
class Result:
    """Final ``theta`` and ``f``, whether the stopping test held, the reason, iterations, history."""

    theta: np.ndarray
    f: float
    converged: bool
    message: str
    iterations: int
    history: History


def _value(family: Family, obj: Objective, theta) -> float:
    return obj(eigenvalues(*evaluate(family, theta)))


def minimize(
    family: Family,
    obj: Objective,
    theta0,
    *,
    bounds=None,
    method: str = "cluster",
    tol: float = 1e-10,
    maxiter: int = 500,
    window_rtol: float = 1e-2,
    extra: int = 4,
    max_window: int = 24,
    outer: int = 60,
    tau: float | None = None,
    verbose: bool = False,
    callback: Callable[[int, np.ndarray, float], bool | None] | None = None,
) -> Result:
    """Minimise ``obj`` over ``θ`` (inside ``bounds = (lower, upper)`` if given) from ``theta0``.

    ``window_rtol``: eigenvalues within ``window_rtol · s`` of an active target (``s`` =
    :meth:`Objective.scale`, the largest target eigenvalue in modulus) enter its
    window (``"cluster"``) or its ε-subdifferential (``"steepest"``, initial ``ε``). ``tau``: the
    initial proximal parameter (default: a step that would lower ``f`` by 10 % of ``s``).
    ``extra``: eigenvalues added to each window beyond the near-active ones (more: a better model
    for affine families, e.g. theta1 to 1e-6 in 66/34/20 steps for 2/4/8; fewer: bolder steps where
    far eigenvalues are nonlinear in θ, e.g. a 1-D gap with ``B = diag(ε)`` in 13/33/60 steps);
    ``max_window``: the largest window. ``outer``: how many eigenvalues beyond each window feed the second-order metric
    (``0``: a first-order model, cheapest per step, more steps).
    ``callback(it, θ, f)`` returning True stops the run. ``verbose`` prints one line per iteration.
    A ``theta0`` outside ``bounds`` is first projected onto the box (clipped).
    """
    run = {"cluster": _cluster, "steepest": _steepest, "gradient": _gradient}.get(method) if isinstance(method, str) else None
    if run is None:
        raise ValueError(f"method must be 'cluster', 'steepest' or 'gradient', got {method!r}")
    obj = objective_arg(obj, eigenvalue_terms_only=True)
    theta = _checks.parameters(family, theta0, "theta0")
    lower, upper = _checks.box(bounds, theta.shape[0])
    opts = dict(
        tol=_checks.positive(tol, "tol", allow_zero=True),
        maxiter=_checks.count(maxiter, "maxiter", 0),
        window_rtol=_checks.positive(window_rtol, "window_rtol", allow_zero=True),
        extra=_checks.count(extra, "extra", 0),
        max_window=_checks.count(max_window, "max_window", 1),
        outer=_checks.count(outer, "outer", 0),
    )
    tau = None if tau is None else _checks.positive(tau, "tau")
    callback = _checks.callback(callback)
    theta = np.clip(theta, lower, upper)
    return run(family, obj, theta, lower, upper, tau, opts, bool(verbose), callback)


def _report(verbose, it, f, pred, step, tau, window, note=""):
    if verbose:
        print(f"{it:5d}  f={f:.12g}  pred={pred:.3e}  |d|={step:.3e}  tau={tau:.3e}  window={window} {note}")


def _cluster(family, obj, theta, lower, upper, tau, opts, verbose, callback) -> Result:
    hist, t0 = History(), time.perf_counter()
    lin = linearize(family, theta)
    obj.check(*lin.A.shape[:2])
    spec = spectrum(lin.A, lin.B)
    f = obj(spec.w)
    vjps, message, converged, it = 0, "maxiter reached", False, 0
    H = np.zeros((theta.shape[0], theta.shape[0]))
    fixed = np.zeros(theta.shape[0], bool)
    rejected = 0
    for it in range(1, opts["maxiter"] + 1):
        scale = max(obj.scale(spec.w), 1e-300)
        delta = max(opts["window_rtol"] * scale, math.sqrt(np.finfo(float).eps) * scale)
        blocks = _model.window_blocks(obj, spec, delta, opts["extra"], opts["max_window"])
        m = _model.build(obj, spec, lin, blocks)
        vjps += m.C.shape[1]
        if tau is None:
            tau = _initial_tau(m, scale)
        d, Z, fixed = _prox_step(m, H, tau, lower - theta, upper - theta, fixed)
        pred = f - m.value(d) - 0.5 * float(d @ H @ d)
        H = _model.curvature(lin, spec, m, Z, opts["outer"])
        window = tuple(len(b.idx) for b in m.blocks)
        if pred <= opts["tol"] * max(abs(f), scale):
            hist.add(f=f, predicted=pred, actual=0.0, step=0.0, tau=tau, window=window, accepted=False,
                     vjps=vjps, time=time.perf_counter() - t0)
            if rejected >= 5:  # τ collapsed after failures: the model, not f, is flat
                message = "step collapsed after repeated rejections (model inaccurate here)"
            else:
                message, converged = "predicted decrease below tol", True
            break
        trial = np.clip(theta + d, lower, upper)
        f_new = _value(family, obj, trial)
        rho = (f - f_new) / pred
        accepted = rho >= 0.1
        rejected = 0 if accepted else rejected + 1
        hist.add(f=f, predicted=pred, actual=f - f_new, step=float(np.linalg.norm(d)), tau=tau, window=window,
                 accepted=accepted, vjps=vjps, time=time.perf_counter() - t0)
        _report(verbose, it, f, pred, float(np.linalg.norm(d)), tau, window, f"rho={rho:.3f}")
        if accepted:
            theta, f = trial, f_new
            lin = linearize(family, theta)
            spec = spectrum(lin.A, lin.B)
            if rho >= 0.9:
                tau *= 3.0
            elif rho >= 0.5:
                tau *= 1.5
            elif rho < 0.25:
                tau /= 2.0
        else:
            tau /= 3.0
        if callback is not None and callback(it, theta, f):
            message = "stopped by callback"
            break
    return Result(theta, f, converged, message, it, hist)


def _initial_tau(m: _model.Model, scale: float) -> float:
    """``τ`` whose step ``-τ g`` would lower ``f`` by 10 % of ``scale``, ``g`` the gradient of the
    targets themselves (weight on each block's extreme eigenvalue)."""
    z = np.zeros(m.C.shape[1])
    count = np.bincount([b.term for b in m.blocks], minlength=len(m.weights))
    for b, sl in zip(m.blocks, m.layout.slices()):
        z[sl.start + (len(b.idx) - 1 if b.sign > 0 else 0)] = m.weights[b.term] / count[b.term]
    c = sp.power_of_two(np.abs(m.C).max(initial=0.0))  # |C| near the range's ends: no overflow
    g = (m.C / c) @ z
    gg = max(float(g @ g), float(np.sum((m.C / c) ** 2)) / max(m.C.shape[1], 1), 1e-300)
    return 0.1 * max(scale, 1e-300) / c / c / gg


def _prox_step(m, H, tau, lo, hi, fixed0, rounds: int = 8):
    """``argmin_{lo ≤ d ≤ hi} m(d) + ½ dᵀ (H + I/τ) d``, the blocks ``Z`` of its dual solution and
    the set of coordinates held at a bound.

    With ``Q_FF = L Lᵀ`` on the free coordinates and ``e = Lᵀ d_F`` the proximal term becomes
    ``½|e|²``, so the dual is the spectraplex QP of ``_spectraplex.solve`` with ``C̃ = L⁻¹ C_F``.
    Bounds are handled by an active set, warm-started from ``fixed0``: coordinates whose step leaves
    the box are fixed at the bound, fixed ones whose Lagrangian gradient points inside are released,
    until neither happens. If that has not settled after ``rounds`` solves, the step is taken with
    the diagonal metric ``diag(H) + 1/τ`` instead, for which the box is exact in the dual.
    """
    p = m.C.shape[0]
    Q = H + np.eye(p) / tau
    fixed = fixed0 & ((lo == 0) | (hi == 0))
    d = np.where(fixed, np.where(lo == 0, lo, hi), 0.0)
    for _ in range(rounds):
        free = ~fixed
        L = np.linalg.cholesky(Q[np.ix_(free, free)])
        Ct = scipy.linalg.solve_triangular(L, m.C[free], lower=True)
        g0 = scipy.linalg.solve_triangular(L, Q[np.ix_(free, fixed)] @ d[fixed], lower=True)
        sol = sp.solve(Ct, m.l + m.C[fixed].T @ d[fixed], m.layout, tau=1.0, g0=g0)
        d[free] = scipy.linalg.solve_triangular(L.T, sol.d, lower=False)
        grad = m.C @ sol.z + Q @ d
        low, high = free & (d < lo), free & (d > hi)
        release = fixed & (((d <= lo) & (grad < 0)) | ((d >= hi) & (grad > 0)))
        if not (low.any() or high.any() or release.any()):
            return np.clip(d, lo, hi), sol.blocks, fixed
        fixed = (fixed | low | high) & ~release
        d = np.where(fixed, np.clip(d, lo, hi), 0.0)
    sol = sp.solve(m.C, m.l, m.layout, tau=1.0 / np.diag(Q), lo=lo, hi=hi)
    return sol.d, sol.blocks, (sol.d <= lo) | (sol.d >= hi)


def _line_search(family, obj, theta, f, d, slope, alpha, lower, upper):
    """Projected Armijo backtracking along ``d`` from step ``alpha``; ``(θ, f, α)`` or None."""
    for _ in range(60):
        trial = np.clip(theta + alpha * d, lower, upper)
        moved = float(np.linalg.norm(trial - theta))
        if moved == 0.0:
            return None
        f_new = _value(family, obj, trial)
        if f_new < f and f_new <= f + 1e-4 * slope * moved:
            return trial, f_new, alpha
        alpha *= 0.5
    return None


def _descent(family, obj, theta, lower, upper, tau, opts, verbose, callback, direction) -> Result:
    """Shared loop of ``steepest`` and ``gradient``; ``direction(obj, spec, lin, ε, θ, lower, upper)``
    gives the unit direction, its model slope, window sizes and VJP count.

    ε-rule (as in gradient sampling): when the ε-min-norm subgradient is below ``ν``, both shrink
    tenfold (``ν`` starts at 1 % of the first one); when the line search fails, ε grows tenfold
    (a kink is near), up to its initial value, where the run stops."""
    hist, t0 = History(), time.perf_counter()
    vjps, message, converged, it = 0, "maxiter reached", False, 0
    alpha, nu = None, None
    A, B = evaluate(family, theta)
    obj.check(*A.shape[:2])
    w = eigenvalues(A, B)
    f, scale = obj(w), obj.scale(w)
    eps0 = eps = opts["window_rtol"] * scale
    floor = math.sqrt(np.finfo(float).eps) * scale
    for it in range(1, opts["maxiter"] + 1):
        lin = linearize(family, theta)
        spec = spectrum(lin.A, lin.B)
        d, slope, window, used = direction(obj, spec, lin, eps, theta, lower, upper)
        vjps += used
        norm = -slope
        nu = 1e-2 * norm if nu is None else nu
        small = norm <= opts["tol"] * max(abs(f), scale)
        if small or norm <= nu:
            if small and eps <= floor:
                message, converged = "stationary (min-norm subgradient below tol)", True
                break
            eps, nu = max(eps / 10, floor), nu / 10
            continue
        if alpha is None:
            alpha = 0.1 * max(scale, 1e-300) / norm
        found = _line_search(family, obj, theta, f, d, slope, 2 * alpha, lower, upper)
        if found is None:
            if eps >= eps0:
                message = "line search failed"
                break
            eps = min(10 * eps, eps0)
            continue
        trial, f_new, alpha = found
        hist.add(f=f, predicted=norm, actual=f - f_new, step=float(np.linalg.norm(trial - theta)), tau=alpha,
                 window=window, accepted=True, vjps=vjps, time=time.perf_counter() - t0)
        _report(verbose, it, f, norm, float(np.linalg.norm(trial - theta)), alpha, window, f"eps={eps:.1e}")
        theta, f = trial, f_new
        if callback is not None and callback(it, theta, f):
            message = "stopped by callback"
            break
    return Result(theta, f, converged, message, it, hist)


def _steepest(family, obj, theta, lower, upper, tau, opts, verbose, callback) -> Result:
    def direction(obj, spec, lin, eps, theta, lower, upper):
        blocks = _model.window_blocks(obj, spec, eps, 0, opts["max_window"])
        m = _model.build(obj, spec, lin, blocks)
        lo, hi = tangent_cone(theta, lower, upper)
        sol = sp.solve(m.C, np.zeros_like(m.l), m.layout, tau=1.0, lo=lo, hi=hi)
        norm = sp.norm(sol.d)
        d = sol.d / norm if norm > 0 else sol.d
        return d, -norm, tuple(len(b.idx) for b in m.blocks), m.C.shape[1]

    return _descent(family, obj, theta, lower, upper, tau, opts, verbose, callback, direction)


def _gradient(family, obj, theta, lower, upper, tau, opts, verbose, callback) -> Result:
    def direction(obj, spec, lin, eps, theta, lower, upper):
        blocks = _model.window_blocks(obj, spec, 0.0, 0, 1)
        blocks = tuple(_first_piece(blocks))
        m = _model.build(obj, spec, lin, blocks)
        g = m.C @ np.array([m.weights[b.term] for b in m.blocks])
        lo, hi = tangent_cone(theta, lower, upper)
        d = np.clip(-g, lo, hi)
        norm = sp.norm(d)
        return (d / norm if norm > 0 else d), -norm, (1,) * len(m.blocks), len(m.blocks)

    return _descent(family, obj, theta, lower, upper, tau, opts, verbose, callback, direction)


def _first_piece(blocks):
    """One block per term: the first active piece, one eigenvector (what a naive gradient sees)."""
    seen = set()
    for b in blocks:
        if b.term not in seen:
            seen.add(b.term)
            yield b
