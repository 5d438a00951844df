"""Band structures on the matrix-free FFT operators (:mod:`grid`) with ``eigengrad.jax.eigsh``.

Each wavevector is one LOBPCG solve (``solver="lobpcg"`` and the kinetic-energy preconditioner are
passed explicitly, so eigengrad's defaults cannot change them) of the TM pencil or the TE operator
for the lowest ``nev`` eigenpairs; all wavevectors run as one compiled program (``eigsh`` vmapped
over the wavevector axis), compiled once per grid shape, polarisation and ``nev``. Derivatives come
from eigsh's adjoint rule (projected solves with
the same preconditioner, then one VJP of the product), never through the iterations.

The computed set must hold whole clusters: :func:`solve` asks for ``nbands + extra`` pairs and, on
concrete values, widens the set (by ``extra`` again) until the last wanted band is separated from
the last computed one by more than ``cluster_rtol`` (relative), so a degenerate band edge (the
doublets at Γ, M, K) is never cut.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

import eigengrad.jax as ej

from .grid import Bloch, Medium, PlaneWaveGrid

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


def _operators(op: Bloch, medium: Medium, polarization: str):
    if polarization == "tm":
        return (op.tm_a, lambda X: op.tm_b(medium, X)), op.kinetic(medium, "tm")
    if polarization == "te":
        return (lambda X: op.te_a(medium, X), None), op.kinetic(medium, "te")
    raise ValueError(f"polarization must be one of {POLARIZATIONS}, got {polarization!r}")


@partial(jax.jit, static_argnames=("n", "lam_pad", "polarization", "nev", "tol", "maxiter"))
def _batch(idx, q, mask, medium, X0, *, n, lam_pad, polarization, nev, tol, maxiter):
    """One compiled program for every wavevector: ``eigsh`` vmapped over the wavevector axis (the
    operators' closures are rebuilt inside the trace, so repeated calls reuse the compilation)."""

    def one(idx, q, mask, x0):
        (A, B), T = _operators(Bloch(n, idx, q, mask, lam_pad), medium, polarization)
        return ej.eigsh(A, nev, B=B, n=idx.shape[0], dtype=jnp.complex128, solver="lobpcg", preconditioner=T,
                        tol=tol, maxiter=maxiter, v0=x0, return_info=True)

    return jax.vmap(one)(idx, q, mask, X0)


def kinetic_start(pw: PlaneWaveGrid, nev: int, seed: int = 0) -> np.ndarray:
    """Start blocks ``(nk, npw, nev)``: at each wavevector the plane waves of the ``nev`` smallest
    ``|k+G|²`` (the empty lattice's lowest modes, which LOBPCG refines in a few steps) plus a 1 %
    random part, so no start vector is orthogonal to a wanted mode."""
    q2 = np.where(pw.mask, np.sum(pw.q**2, -1), np.inf)
    X = 1e-2 * np.random.default_rng(seed).standard_normal((len(pw.k), pw.npw, nev))
    low = np.argsort(q2, axis=1, kind="stable")[:, :nev]
    np.put_along_axis(X, low[:, :, None], 1.0 + np.take_along_axis(X, low[:, :, None], 1),  axis=1)
    return X * pw.mask[:, :, None]


def _complete(w, nbands: int, rtol: float) -> np.ndarray:
    w = np.asarray(w)
    return w[..., -1] - w[..., nbands - 1] > rtol * np.maximum(abs(w[..., -1]), 1e-300)


def solve(pw: PlaneWaveGrid, medium: Medium, polarization: str, nbands: int, *,
          options: EigshOptions = EigshOptions(), v0: list | None = None) -> Bands:
    """The lowest ``nbands`` bands at every wavevector of ``pw`` (differentiable in ``medium``).

    All wavevectors are solved by one compiled, vmapped ``eigsh`` (compiled once per grid shape,
    polarisation and set size). ``v0``: optional start blocks, one ``(npw, nev)`` per wavevector
    (e.g. the previous design's ``Bands.V``); otherwise :func:`kinetic_start`. On concrete values the
    set is widened (for every wavevector, by ``options.extra``) until each wavevector's last wanted
    band is separated from its last computed one."""
    if polarization not in POLARIZATIONS:
        raise ValueError(f"polarization must be one of {POLARIZATIONS}, got {polarization!r}")
    if not 1 <= nbands < pw.nbands - options.extra:
        raise ValueError(f"nbands must be in [1, {pw.nbands - options.extra}) for this grid, got {nbands}")
    arrays = (jnp.asarray(pw.idx), jnp.asarray(pw.q), jnp.asarray(pw.mask, float))
    nev = nbands + options.extra
    start = None if v0 is None or len({np.shape(V) for V in v0}) != 1 else jnp.stack(list(v0))
    while True:
        if start is None or start.shape[2] != nev:
            start = jnp.asarray(kinetic_start(pw, nev), jnp.complex128)
        w, V, info = _batch(*arrays, medium, start, n=pw.n, lam_pad=pw.lam_pad, polarization=polarization, nev=nev,
                            tol=options.tol, maxiter=options.maxiter)
        if isinstance(w, jax.core.Tracer):
            break
        cut = ~_complete(w, nbands, options.cluster_rtol)
        if not cut.any():
            break
        nev += options.extra  # a wanted band's cluster reaches the end of the set: widen it
        if nev >= pw.nbands:
            i = int(np.flatnonzero(cut)[0])
            raise ValueError(f"bands 1..{nbands} at k={pw.k[i]} do not end in a gap below band {pw.nbands}")
    return Bands(w[:, :nbands], list(V), list(w), np.asarray(jax.lax.stop_gradient(info.residuals)),
                 np.asarray(info.iterations))


def frequencies(lam):
    """``ω a / 2πc = √λ / 2π`` (the zero mode at Γ stays 0 with a zero derivative)."""
    pos = lam > 0
    return jnp.where(pos, jnp.sqrt(jnp.where(pos, lam, 1.0)), 0.0) / (2 * jnp.pi)
