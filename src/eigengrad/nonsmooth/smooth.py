"""Smooth stand-ins that users reach for, offered for comparison with the non-smooth methods.

* Log-sum-exp soft-max with temperature ``T``: each term ``y_t = max_p λ_p`` becomes
  ``T log Σ exp(λ/T)`` (``-T log Σ exp(-λ/T)`` for a Min term) over its pieces — and, for the extreme
  eigenvalue (``Max(-1)``, ``Min(0)``), over every eigenvalue of those matrices. It is smooth, and
  above the true value by at most ``T log N``; its gradient is one VJP with the cotangent
  ``Σ_i ω_i v_i v_iᴴ`` (``ω`` = soft-max weights; ``B̄ = -Σ ω_i λ_i v_i v_iᴴ``).
* Sum of the ``k`` largest eigenvalues: ``Σ_{i>n-k} λ_i``, smooth whenever ``λ_{n-k} < λ_{n-k+1}``,
  gradient from the projector onto the top-``k`` eigenvectors.

:func:`minimize_lse` minimises the soft-max objective by L-BFGS-B (box bounds allowed), lowering
``T`` tenfold each time the smoothed problem is solved (continuation), and records the true ``f``.
"""

from __future__ import annotations

import time

import numpy as np
import scipy.optimize

from . import _checks
from .family import Family, Spectrum, linearize, spectrum
from .objectives import Objective, objective_arg
from ._spectraplex import power_of_two
from .optimize import History, Result


def _cotangent(V: np.ndarray, weights: np.ndarray) -> np.ndarray:
    return (V * weights) @ V.conj().T


def lse_value_and_grad(family: Family, obj: Objective, theta, temperature: float) -> tuple[float, np.ndarray, Spectrum]:
    """Soft-max objective ``φ(y_T)``, its gradient in ``θ`` and the spectrum at ``θ`` (``temperature > 0``)."""
    theta = _checks.parameters(family, theta)
    temperature = _checks.positive(temperature, "temperature")
    obj = objective_arg(obj, eigenvalue_terms_only=True)
    lin = linearize(family, theta)
    K, n = lin.A.shape[:2]
    obj.check(K, n)
    spec = spectrum(lin.A, lin.B)
    y = np.zeros(len(obj.terms))
    cots = []  # per term: array of (k, i, weight)
    for t, term in enumerate(obj.terms):
        s = term.sign
        ks = np.array(term.ks(K))
        i = term.index % n
        extreme = (s > 0 and i == n - 1) or (s < 0 and i == 0)
        if extreme:
            kk, ii = np.meshgrid(ks, np.arange(n), indexing="ij")
            kk, ii = kk.ravel(), ii.ravel()
        else:
            kk, ii = ks, np.full(len(ks), i)
        v = s * spec.w[kk, ii] / temperature
        top = v.max()
        e = np.exp(v - top)
        y[t] = s * temperature * (top + np.log(e.sum()))
        cots.append((kk, ii, e / e.sum()))
    f, dphi = obj.evaluate(y)
    Abar = np.zeros((1, K, n, n), np.result_type(lin.A, spec.V))
    Bbar = None if lin.B is None else np.zeros_like(Abar)
    for t, (kk, ii, om) in enumerate(cots):
        for k in np.unique(kk):
            sel = kk == k
            wk = np.zeros(n)
            np.add.at(wk, ii[sel], om[sel] * dphi[t])
            Abar[0, k] += _cotangent(spec.V[k], wk)
            if Bbar is not None:
                Bbar[0, k] -= _cotangent(spec.V[k], wk * spec.w[k])
    return float(f), np.asarray(lin.vjp(Abar, Bbar), float)[0], spec


def top_k_sum_value_and_grad(family: Family, theta, k: int) -> tuple[float, np.ndarray]:
    """``Σ_matrices Σ_{top k} λ_i`` and its gradient (exact where ``λ_{n-k} < λ_{n-k+1}``), ``1 ≤ k ≤ n``."""
    theta = _checks.parameters(family, theta)
    k = _checks.count(k, "k", 1)
    lin = linearize(family, theta)
    K, n = lin.A.shape[:2]
    if k > n:
        raise ValueError(f"k = {k} is larger than the matrix size n = {n}")
    spec = spectrum(lin.A, lin.B)
    sel = np.zeros(n)
    sel[n - k :] = 1.0
    Abar = np.stack([_cotangent(spec.V[j], sel) for j in range(K)])[None]
    Bbar = None if lin.B is None else -np.stack([_cotangent(spec.V[j], sel * spec.w[j]) for j in range(K)])[None]
    return float(spec.w[:, n - k :].sum()), np.asarray(lin.vjp(Abar, Bbar), float)[0]


def minimize_lse(
    family: Family,
    obj: Objective,
    theta0,
    *,
    bounds=None,
    temperature: float | None = None,
    min_temperature: float = 1e-12,
    maxiter: int = 2000,
    callback=None,
) -> Result:
    """Minimise the soft-max objective by L-BFGS-B with temperature continuation.

    ``temperature`` defaults to ``1e-2 · s`` at ``theta0`` (``s`` = :meth:`Objective.scale`); each
    stage runs L-BFGS-B to its own tolerance, then ``T ← T/10`` until ``min_temperature · s`` or ``maxiter``
    function evaluations in all. L-BFGS-B sees the objective divided by ``c``, the power of two nearest
    ``s``, so that its absolute tolerances mean the same at every scale (exact: ``c`` is a power of
    two). The history records the true objective at every evaluation.
    """
    theta = _checks.parameters(family, theta0, "theta0")
    lower, upper = _checks.box(bounds, theta.shape[0])
    T = None if temperature is None else _checks.positive(temperature, "temperature")
    min_temperature = _checks.positive(min_temperature, "min_temperature")
    maxiter = _checks.count(maxiter, "maxiter", 1)
    callback = _checks.callback(callback)
    hist, t0 = History(), time.perf_counter()
    _, _, spec = lse_value_and_grad(family, obj, theta, 1.0)
    scale = max(obj.scale(spec.w), 1e-300)
    T = 1e-2 * scale if T is None else T
    c = power_of_two(scale)
    box = None if bounds is None else list(zip(lower, upper))
    stop = {"flag": False}
    best = {"theta": theta, "f": np.inf}

    def fun(x):
        val, grad, sp = lse_value_and_grad(family, obj, x, T)
        f_true = obj(sp.w)
        hist.add(f=f_true, predicted=0.0, actual=0.0, step=0.0, tau=T, window=(), accepted=True,
                 vjps=len(hist.f) + 1, time=time.perf_counter() - t0)
        if f_true < best["f"]:
            best.update(theta=np.array(x), f=f_true)
        if callback is not None and callback(len(hist.f), x, f_true):
            stop["flag"] = True
            raise StopIteration
        return val / c, grad / c

    while T >= min_temperature * scale and len(hist.f) < maxiter and not stop["flag"]:
        try:
            r = scipy.optimize.minimize(fun, theta, jac=True, method="L-BFGS-B", bounds=box,
                                        options={"maxfun": maxiter - len(hist.f), "ftol": 1e-15, "gtol": 1e-12})
            theta = r.x
        except StopIteration:
            break
        T /= 10
    message = "stopped by callback" if stop["flag"] else "temperature continuation finished"
    return Result(best["theta"], best["f"], False, message, len(hist.f), hist)
