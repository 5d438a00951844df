"""Band structures on the matrix-free FFT operators (:mod:`grid`) with ``eigengrad.jax.eigsh``.

Each wavevector is one LOBPCG solve (``solver="lobpcg"`` and the kinetic-energy preconditioner are
passed explicitly, so eigengrad's defaults cannot change them) of the TM pencil or the TE operator
for the lowest ``nev`` eigenpairs. Derivatives come from eigsh's adjoint rule (projected solves with
the same preconditioner, then one VJP of the product), never through the iterations.

The computed set must hold whole clusters: :func:`solve` asks for ``nbands + extra`` pairs and, on
concrete values, widens the set (by ``extra`` again) until the last wanted band is separated from
the last computed one by more than ``cluster_rtol`` (relative), so a degenerate band edge (the
doublets at Γ, M, K) is never cut.
"""

from __future__ import annotations

from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np

import eigengrad.jax as ej

from .grid import Medium, PlaneWaveGrid

POLARIZATIONS = ("tm", "te")


@dataclass(frozen=True)
class EigshOptions:
    """LOBPCG settings: residual ``tol`` (relative, eigsh's), ``maxiter``, ``extra`` pairs beyond the
    wanted bands, and the relative separation ``cluster_rtol`` the wanted set must have from the
    rest."""

    tol: float = 1e-9
    maxiter: int = 500
    extra: int = 3
    cluster_rtol: float = 1e-6


@dataclass(frozen=True)
class Bands:
    """Ascending ``lam (nk, nbands)`` (``(ωa/c)²``), the eigenvectors ``V`` (list of ``(npw, nev)``
    per wavevector) and their eigenvalues ``window`` (list of ``(nev,)``), and eigsh's
    residuals and iterations per wavevector."""

    lam: jnp.ndarray
    V: list
    window: list
    residuals: np.ndarray
    iterations: np.ndarray


def _operators(pw: PlaneWaveGrid, i: int, medium: Medium, polarization: str):
    op = pw.at(i)
    if polarization == "tm":
        return (op.tm_a, lambda X: op.tm_b(medium, X)), op.kinetic(medium, "tm")
    if polarization == "te":
        return (lambda X: op.te_a(medium, X), None), op.kinetic(medium, "te")
    raise ValueError(f"polarization must be one of {POLARIZATIONS}, got {polarization!r}")


def _one(pw, i, medium, polarization, nev, options, v0):
    (A, B), T = _operators(pw, i, medium, polarization)
    return ej.eigsh(A, nev, B=B, n=pw.npw, dtype=jnp.complex128, solver="lobpcg", preconditioner=T,
                    tol=options.tol, maxiter=options.maxiter, v0=v0, return_info=True)


def _complete(w, nbands: int, rtol: float) -> bool:
    w = np.asarray(w)
    return w[-1] - w[nbands - 1] > rtol * max(abs(w[-1]), 1e-300)


def solve(pw: PlaneWaveGrid, medium: Medium, polarization: str, nbands: int, *,
          options: EigshOptions = EigshOptions(), v0: list | None = None) -> Bands:
    """The lowest ``nbands`` bands at every wavevector of ``pw`` (differentiable in ``medium``).
    ``v0``: optional start blocks (e.g. the previous design's ``Bands.V``)."""
    if not 1 <= nbands < pw.nbands - options.extra:
        raise ValueError(f"nbands must be in [1, {pw.nbands - options.extra}) for this grid, got {nbands}")
    lams, Vs, ws, res, its = [], [], [], [], []
    for i in range(len(pw.k)):
        nev = nbands + options.extra
        start = None if v0 is None else v0[i]
        while True:
            w, V, info = _one(pw, i, medium, polarization, nev, options, start)
            if isinstance(w, jax.core.Tracer) or _complete(jax.lax.stop_gradient(w), nbands, options.cluster_rtol):
                break
            nev += options.extra  # the last wanted band's cluster reaches the end of the set: widen it
            start = None
            if nev >= pw.nbands:
                raise ValueError(f"bands 1..{nbands} at k={pw.k[i]} do not end in a gap below band {pw.nbands}")
        lams.append(w[:nbands])
        Vs.append(V)
        ws.append(w)
        res.append(np.asarray(jax.lax.stop_gradient(info.residuals)))
        its.append(int(info.iterations))
    return Bands(jnp.stack(lams), Vs, ws, np.array(res, dtype=object), np.array(its))


def frequencies(lam):
    """``ω a / 2πc = √λ / 2π`` (the zero mode at Γ stays 0 with a zero derivative)."""
    pos = lam > 0
    return jnp.where(pos, jnp.sqrt(jnp.where(pos, lam, 1.0)), 0.0) / (2 * jnp.pi)
