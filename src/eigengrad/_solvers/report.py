"""Faults of iterative eigensolves, turned into errors or warnings that say what to do. Runs on
concrete NumPy values (eagerly, or inside a JAX debug callback)."""

from __future__ import annotations

import warnings
from typing import Any, NamedTuple

import numpy as np

from ..errors import ClusterCutError, ConvergenceError, ConvergenceWarning, DegeneracyWarning

FAILURE_MODES = ("raise", "warn")
NAN_TANGENTS = " (forward mode: NaN tangents)"  # suffix of the routine name in forward-mode warnings


class EigInfo(NamedTuple):
    """Diagnostics of a truncated eigensolve (no derivatives), in the front end's array type.

    ``residuals``: ``||A v_i - λ_i B v_i|| / max|λ|``; ``iterations``: solver steps (-1 if unknown);
    ``gap``: distance of each λ_i to the nearest estimate of an uncomputed eigenvalue;
    ``grad_error``: ``||A v_i - λ_i B v_i|| / gap_i``, the first-order relative error of the
    eigenvector's derivative (§5a)."""

    residuals: Any
    iterations: Any
    gap: Any
    grad_error: Any


def check_mode(on_failure: str) -> str:
    if on_failure not in FAILURE_MODES:
        raise ValueError(f"on_failure must be one of {FAILURE_MODES}, got {on_failure!r}")
    return on_failure


def sci(x) -> str:
    """Small positive numbers (residuals, gaps) in scientific notation, whatever their range."""
    return np.array2string(np.asarray(x), formatter={"float_kind": lambda v: f"{v:.2e}"})


def fail(msg: str, mode: str) -> None:
    if mode == "raise":
        raise ConvergenceError(msg)
    warnings.warn(msg, ConvergenceWarning, stacklevel=4)


def forward(res, iters, *, tol: float, mode: str, routine: str) -> None:
    """The primal eigensolve: every requested pair must have relative residual ``<= tol``."""
    res = np.asarray(res)
    bad = np.flatnonzero(~(res <= tol))
    if bad.size:
        fail(
            f"{routine}: the eigensolver did not converge in {int(np.asarray(iters))} steps: relative "
            f"residuals ||A v - λ B v|| / max|λ| of pairs {bad.tolist()} are "
            f"{sci(res[bad])} > tol={tol:.1e}. Increase maxiter, pass a "
            "preconditioner (an approximation of (A - σB)^{-1}), a larger block, or another solver "
            "(solver='arpack' with sigma for shift-invert).", mode)


def adjoint(res, iters, *, tol: float, mode: str, routine: str) -> None:
    """The linear solves of a derivative: adjoint (reverse mode) or tangent (forward mode)."""
    res = np.asarray(res)
    bad = np.flatnonzero(~(res <= tol))
    if bad.size:
        fail(
            f"{routine}: the linear solves of the derivative (adjoint solves in reverse mode, tangent "
            f"solves in forward mode) did not converge in {int(np.asarray(iters))} steps: relative "
            f"residuals of eigenvectors {bad.tolist()} are {sci(res[bad])} > adjoint_tol={tol:.1e}. "
            "The derivative would be inaccurate. Increase adjoint_maxiter, pass a preconditioner, or "
            "check that the eigenvalues are separated from the uncomputed ones (a small gap makes the solves slow).",
            mode)


def _too_close(w, gap, touched, rtol: float):
    """Needed eigenvalues (``touched``) within the cluster tolerance ``rtol * max|λ|`` of another."""
    w, gap, touched = np.asarray(w), np.asarray(gap), np.asarray(touched)
    tol = rtol * float(np.max(np.abs(w)))
    return w, gap, np.flatnonzero((gap <= tol) & touched), tol


def _refuse(msg: str, mode: str) -> None:
    if mode == "raise":
        raise ClusterCutError(msg)
    warnings.warn(msg, DegeneracyWarning, stacklevel=5)


def cut(w, gap, touched, *, rtol: float, mode: str, routine: str) -> None:
    """Raise (or warn) when a computed eigenvalue whose derivative is needed is degenerate with an
    uncomputed one: closer than the cluster tolerance ``rtol * max|λ|``."""
    w, gap, bad, tol = _too_close(w, gap, touched, rtol)
    if bad.size:
        msg = (
            f"{routine}: eigenvalue(s) {bad.tolist()} (λ={np.array2string(w[bad], precision=8)}) "
            f"belong to a degenerate cluster that continues beyond the computed pairs (distance to "
            f"the next eigenvalue estimate {sci(gap[bad])} <= cluster "
            f"tolerance {tol:.1e}). The derivative of part of a cluster is undefined and the adjoint "
            "solve would be singular. Increase k so that the whole cluster is inside the computed "
            "set (choose k at a spectral gap).")
        _refuse(msg, mode)


def simple(w, gap, touched, *, rtol: float, mode: str, routine: str) -> None:
    """Non-Hermitian adjoints need simple eigenvalues: raise (or warn) when a needed one is within
    the cluster tolerance of another eigenvalue, computed or not."""
    w, gap, bad, tol = _too_close(w, gap, touched, rtol)
    if bad.size:
        msg = (
            f"{routine}: eigenvalue(s) {bad.tolist()} (λ={np.array2string(w[bad], precision=8)}) are "
            f"degenerate with another eigenvalue (distance {sci(gap[bad])} <= "
            f"{tol:.1e}). The non-Hermitian adjoint is defined for simple eigenvalues only (a "
            "degenerate eigenvalue of a non-normal matrix may be defective). Use eigsh if the operator "
            "is Hermitian, or a loss that does not depend on these pairs.")
        _refuse(msg, mode)
