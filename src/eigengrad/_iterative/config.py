"""The options of ``eigsh``/``eigs`` as typed, frozen values, checked and defaulted once for both
front ends: every bad option raises here, naming the argument, before any work.

The solver is chosen from what the operator allows (``solver="auto"``, the default):

- ``sigma`` given: ARPACK shift-invert (it needs a matrix it can factorise on the host);
- operator reachable from the host (concrete values on the CPU, not sharded, not under a
  transform) and no preconditioner: ARPACK, confirmed (``_solvers.confirm``: a cheap deflated
  run finds missed copies of multiple eigenvalues and the next eigenvalue), 1.0-1.6x SciPy's own
  call (benchmarks/results/forward_default.md);
- a preconditioner, or ``B`` off the host: native LOBPCG (preconditioned, jit-able, any device);
- otherwise (under jit, on an accelerator, sharded): the native Krylov–Schur Lanczos (jit-able).
``eigs``: ARPACK on the host.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from .._report import check_mode as check_gauge_mode
from .._solvers import window
from .._solvers.report import check_mode as check_failure_mode

HERMITIAN_SOLVERS = ("auto", "lobpcg", "lanczos", "arpack", "primme")
GENERAL_SOLVERS = ("auto", "arnoldi", "arpack")
HOST_SOLVERS = ("arpack", "primme")  # primme: optional package, eigsh only
HERMITIAN_ADJOINT = ("cg", "minres")
GENERAL_ADJOINT = ("bicgstab", "gmres")


@dataclass(frozen=True)
class Problem:
    """What the front end knows of the operator before any work: sizes and where it lives.

    ``host``: its values are concrete and reachable from the CPU (ARPACK can run); ``sharded``: it is
    split across devices or processes (host backends are refused)."""

    n: int
    real_bits: int  # 32 or 64: working precision
    complex: bool
    has_B: bool
    has_T: bool
    host: bool
    sharded: bool = False


@dataclass(frozen=True)
class HermitianConfig:
    """``eigsh``: ``k`` pairs of ``A v = λ B v`` nearest the target ``which``/``sigma``."""

    k: int
    which: str
    sigma: float | None
    solver: str | Callable
    block: int  # LOBPCG block width m > k (the extra columns estimate the next eigenvalues)
    ncv: int | None
    tol: float
    maxiter: int
    adjoint_method: str
    adjoint_tol: float
    adjoint_maxiter: int
    sign: float  # +1: the projected systems are positive definite (lowest); -1 highest
    rtol: float  # cluster tolerance, relative to max|λ|
    gauge: str
    on_failure: str


@dataclass(frozen=True)
class GeneralConfig:
    """``eigs``: ``k`` right eigenpairs of ``A v = λ v`` ordered by ``which`` or distance to ``sigma``."""

    k: int
    which: str
    sigma: complex | None
    solver: str | Callable
    ncv: int | None
    tol: float
    maxiter: int
    adjoint_method: str
    adjoint_tol: float
    adjoint_maxiter: int
    restart: int
    rtol: float
    gauge: str
    on_failure: str


def size(A: Any, n: Any, routine: str) -> int:
    """The operator's size: ``n=`` (checked against ``A``'s shape where it has one) or ``A.shape[0]``."""
    shape = getattr(A, "shape", None)
    if n is not None:
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 2:
            raise ValueError(f"{routine}: n must be an integer >= 2, got {n!r}")
        if shape is not None and len(shape) == 2 and int(shape[0]) != n:
            raise ValueError(f"{routine}: n={n} does not match A's shape {tuple(shape)}")
        return int(n)
    if shape is None:
        raise TypeError(f"{routine}: A is a function X -> A X; pass its size as n=...")
    return int(shape[0])


def _positive_int(x: Any, name: str, routine: str, allow_none: bool = True) -> int | None:
    if x is None and allow_none:
        return None
    if isinstance(x, bool) or not isinstance(x, (int, np.integer)) or x < 1:
        raise ValueError(f"{routine}: {name} must be a positive integer, got {x!r}")
    return int(x)


def _positive_float(x: Any, name: str, routine: str, default: float) -> float:
    if x is None:
        return default
    try:
        v = float(x)
    except (TypeError, ValueError):
        raise TypeError(f"{routine}: {name} must be a number, got {type(x).__name__}") from None
    if not (v > 0 and math.isfinite(v)):
        raise ValueError(f"{routine}: {name} must be a finite number > 0, got {x!r}")
    return v


def _rtol(x: Any, bits: int, routine: str) -> float:
    if x is None:
        return math.sqrt(float(np.finfo(np.float64 if bits == 64 else np.float32).eps))
    v = float(x)
    if not (v >= 0 and math.isfinite(v)):
        raise ValueError(f"{routine}: cluster_rtol must be a finite number >= 0, got {x!r}")
    return v


def _check_k(k: Any, limit: int, n: int, routine: str) -> int:
    """``1 <= k <= limit`` (``limit`` = n - 1 for eigsh, n - 2 for eigs: one more pair is needed to
    see the next eigenvalue)."""
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= k <= limit:
        raise ValueError(f"{routine}: k must be an integer with 1 <= k <= {limit} (n = {n}), got {k!r}")
    return int(k)


def default_tol(bits: int) -> float:
    return 1e-10 if bits == 64 else 1e-4


def _explicit(solver, p: Problem, routine: str, native: str) -> str | Callable:
    """A solver the caller named: a host solver needs concrete values on the CPU, and is refused for
    sharded inputs (it would gather the operator on one host)."""
    if solver in HOST_SOLVERS and p.sharded:
        raise ValueError(
            f"{routine}: solver={solver!r} runs on one host and would gather the sharded operator there; "
            "sharded inputs need a native solver (leave solver to its default, or 'lobpcg'/'lanczos'/"
            "'arnoldi').")
    if solver in HOST_SOLVERS and not p.host:
        raise ValueError(
            f"{routine}: solver={solver!r} runs on the host and needs concrete values on the CPU; "
            f"under jit, vmap or on an accelerator use solver={native} (the default picks one)")
    return solver


def _common(solver, allowed: tuple, sigma, complex_sigma: bool, gauge: str, on_failure: str, routine: str):
    """Checks both routines share: the modes, the solver's name, a finite ``sigma`` (returned as
    float or complex)."""
    check_gauge_mode(gauge)
    check_failure_mode(on_failure)
    if not (solver in allowed or callable(solver)):
        raise ValueError(f"{routine}: solver must be one of {allowed} or a callable, got {solver!r}")
    if sigma is None:
        return None
    sigma = complex(sigma) if complex_sigma else float(sigma)
    if not (math.isfinite(sigma.real) and math.isfinite(sigma.imag)):
        raise ValueError(f"{routine}: sigma must be finite, got {sigma!r}")
    return sigma


def choose_hermitian(solver, sigma, p: Problem, routine: str) -> str | Callable:
    """The solver ``eigsh`` runs (module docstring)."""
    if solver != "auto":
        return _explicit(solver, p, routine, "'lobpcg' or 'lanczos'")
    if sigma is not None:
        if not p.host:
            raise ValueError(
                f"{routine}: sigma (shift-invert) needs concrete values on the host (ARPACK) or your own "
                "solver=callable; under jit, vmap, on an accelerator or sharded, pass a solver callable.")
        return "arpack"
    if p.host and not p.has_T:
        return "arpack"
    return "lobpcg" if (p.has_B or p.has_T) else "lanczos"


def hermitian(
    p: Problem, k, which, sigma, solver, *, block_size, ncv, tol, maxiter, adjoint_solver, adjoint_tol,
    adjoint_maxiter, cluster_rtol, gauge, on_failure, routine: str = "eigsh",
) -> HermitianConfig:
    """Checked and defaulted options of ``eigsh``."""
    sigma = _common(solver, HERMITIAN_SOLVERS, sigma, False, gauge, on_failure, routine)
    k = _check_k(k, p.n - 1, p.n, routine)
    solver = choose_hermitian(solver, sigma, p, routine)
    window.check_hermitian_options(which, sigma, solver, routine, True if p.has_B else None)
    block_size = _positive_int(block_size, "block_size", routine)
    m = min(p.n, block_size or k + max(4, k))
    if m <= k:
        raise ValueError(f"{routine}: block_size must exceed k = {k} (the extra vectors estimate the next "
                         f"eigenvalue), got {block_size}")
    ncv = _check_ncv(ncv, k, p.n, routine)
    native = solver in window.NATIVE_HERMITIAN
    maxiter = _positive_int(maxiter, "maxiter", routine) or (1000 if native else max(1000, 20 * p.n))
    t = _positive_float(tol, "tol", routine, default_tol(p.real_bits))
    if adjoint_solver is not None and adjoint_solver not in HERMITIAN_ADJOINT:
        raise ValueError(f"{routine}: adjoint_solver must be one of {HERMITIAN_ADJOINT}, got {adjoint_solver!r}")
    return HermitianConfig(
        k=k, which=which, sigma=sigma, solver=solver, block=m, ncv=ncv, tol=t, maxiter=maxiter,
        adjoint_method=adjoint_solver or ("minres" if sigma is not None else "cg"),
        adjoint_tol=_positive_float(adjoint_tol, "adjoint_tol", routine, t),
        adjoint_maxiter=_positive_int(adjoint_maxiter, "adjoint_maxiter", routine) or min(2 * p.n, 20000),
        sign=-1.0 if (which == "largest" and sigma is None) else 1.0,
        rtol=_rtol(cluster_rtol, p.real_bits, routine), gauge=gauge, on_failure=on_failure)


def choose_general(solver, sigma, p: Problem, routine: str) -> str | Callable:
    """The solver ``eigs`` runs: ARPACK on the host, the native Krylov–Schur Arnoldi elsewhere."""
    if solver != "auto":
        return _explicit(solver, p, routine, "'arnoldi'")
    if sigma is not None and not p.host:
        raise ValueError(f"{routine}: sigma (shift-invert) needs concrete values on the host (ARPACK) or "
                         "your own solver=callable")
    return "arpack" if p.host else "arnoldi"


def general(
    p: Problem, k, which, sigma, solver, *, ncv, tol, maxiter, adjoint_solver, adjoint_tol, adjoint_maxiter,
    restart, cluster_rtol, gauge, on_failure, routine: str = "eigs",
) -> GeneralConfig:
    """Checked and defaulted options of ``eigs``."""
    sigma = _common(solver, GENERAL_SOLVERS, sigma, True, gauge, on_failure, routine)
    if adjoint_solver not in GENERAL_ADJOINT:
        raise ValueError(f"{routine}: adjoint_solver must be one of {GENERAL_ADJOINT}, got {adjoint_solver!r}")
    k = _check_k(k, p.n - 2, p.n, routine)
    solver = choose_general(solver, sigma, p, routine)
    window.check_general_options(which, sigma, solver, routine)
    ncv = _check_ncv(ncv, k, p.n, routine)
    maxiter = _positive_int(maxiter, "maxiter", routine) or (1000 if solver == "arnoldi" else max(1000, 20 * p.n))
    t = _positive_float(tol, "tol", routine, default_tol(p.real_bits))
    return GeneralConfig(
        k=k, which=which, sigma=sigma, solver=solver, ncv=ncv, tol=t, maxiter=maxiter, adjoint_method=adjoint_solver,
        adjoint_tol=_positive_float(adjoint_tol, "adjoint_tol", routine, t),
        adjoint_maxiter=_positive_int(adjoint_maxiter, "adjoint_maxiter", routine) or max(1000, min(20 * p.n, 20000)),
        restart=_positive_int(restart, "restart", routine, allow_none=False),
        rtol=_rtol(cluster_rtol, p.real_bits, routine), gauge=gauge, on_failure=on_failure)


def _check_ncv(ncv, k: int, n: int, routine: str) -> int | None:
    ncv = _positive_int(ncv, "ncv", routine)
    if ncv is not None and not k < ncv < n:
        raise ValueError(f"{routine}: ncv (Krylov basis size) must satisfy k < ncv < n ({k} < ncv < {n}), got {ncv}")
    return ncv
