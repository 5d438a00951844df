"""The matrix-free band problem as an ``eigengrad.nonsmooth`` family: the eigsh window.

At ``θ`` every wavevector's lowest eigenpairs ``(λ_i, w_i)`` come from :func:`iterative.solve`
(widened until the window ends in a gap, so no band-edge cluster is cut). The family's matrix at
wavevector ``k`` is ``D_k(θ) = diag λ_k`` and its derivative is the projected one, applied by FFT,

    Ḋ_k = W_kᴴ (Ȧ_k − S_k ∘ Ḃ_k) W_k,     (S_k)_ij = (λ_i + λ_j) / 2.

Inside a cluster of equal eigenvalues ``λ̄`` this is ``W_cᴴ (Ȧ − λ̄ Ḃ) W_c``, whose eigenvalues are
the one-sided derivatives of the cluster: the exact first-order model, from the whole cluster,
that eigengrad.nonsmooth's first-order methods (``"steepest"``, ``"gradient"``) build their
generalized gradients from. Entries between different clusters are not derivatives of ``D``, so
the ``"cluster"`` method (whose second-order metric reads them) is refused.

Several gaps ``(polarisation, m)`` are handled in one family by aligning their band indices: the
matrices of a polarisation whose gap lies above band ``m < M = max m`` get ``M − m`` constant
eigenvalues ``−1`` below the bands. Then every gap lies above eigenvalue ``M`` of every matrix and
the complete gap (the overlap) is eigengrad.nonsmooth's ``neg_gap_midgap(M, squared=True)`` over
all of them. Windows of different length are padded at the top with ``λ_pad`` (above every band).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from eigengrad.nonsmooth import Linearization

from . import iterative
from .grid import Bloch, Medium, PlaneWaveGrid

_DUMMY = -1.0


def _diag(lam: np.ndarray) -> np.ndarray:
    """``diag λ_k`` as complex matrices: the projected derivative is complex Hermitian, so the
    non-smooth layer must model every cluster over ℂ (a real ``D`` makes it keep only ``Re Ḋ``)."""
    return np.einsum("ki,ij->kij", lam, np.eye(lam.shape[1], dtype=complex))


class WindowFamily:
    """``θ ↦ diag λ_k(θ)`` over the wavevectors of ``pw`` for each gap ``(polarisation, m)`` of
    ``gaps``, ``medium(θ)`` a JAX function (e.g. ``lambda t: grid.grid_medium(design.eps(t))``) and
    ``p`` the number of variables. ``band`` is the aligned index ``M``: maximise the gap with
    ``objective.neg_gap_midgap(family.band)``. ``options.cluster_rtol`` (default 1e-2, eigengrad's
    default ``window_rtol``) keeps every eigenvalue within 1 % of a gap's edges in the window."""

    def __init__(self, pw: PlaneWaveGrid, medium: Callable[[jnp.ndarray], Medium], p: int,
                 gaps: Sequence[tuple[str, int]], options: iterative.EigshOptions | None = None):
        gaps = tuple((pol, int(m)) for pol, m in gaps)
        if not gaps or any(pol not in iterative.POLARIZATIONS or m < 1 for pol, m in gaps):
            raise ValueError(f"gaps: give (one of {iterative.POLARIZATIONS}, band >= 1) pairs, got {gaps!r}")
        self.pw, self.medium, self.p, self.gaps = pw, medium, int(p), gaps
        self.options = options or iterative.EigshOptions(cluster_rtol=1e-2)
        self.band = max(m for _, m in gaps)
        self._cache: tuple[bytes, list] | None = None
        self._warm: list | None = None
        arrays = tuple(jnp.asarray(a) for a in (pw.idx, pw.q, pw.mask))

        def model(theta, Ws, Ss):
            """``W^H (A(θ) − S ∘ B(θ)) W`` per wavevector, stacked over the gaps (``W``, ``S`` fixed)."""
            med = self.medium(theta)

            def one(pol, idx, q, mask, W, S):
                op = Bloch(pw.n, idx, q, mask, pw.lam_pad)
                if pol == "te":
                    return W.conj().T @ op.te_a(med, W)
                return W.conj().T @ op.tm_a(W) - S * (W.conj().T @ op.tm_b(med, W))

            return jnp.concatenate([jax.vmap(lambda *a, pol=pol: one(pol, *a))(*arrays, W, S)
                                    for (pol, _), W, S in zip(gaps, Ws, Ss)])

        def vjp(theta, Ws, Ss, cot):
            _, pull = jax.vjp(lambda t: model(t, Ws, Ss), theta)
            # JAX pairs a complex cotangent c with a tangent t as Re Σ c t; the family convention is
            # Re Σ conj(Ā) Ḋ (docs/derivations.md §0), hence the conjugate.
            return jax.vmap(lambda c: pull(jnp.conj(c).astype(jnp.complex128))[0])(cot)

        self._vjp = jax.jit(vjp)

    def _solve(self, theta: np.ndarray) -> list:
        theta = np.asarray(theta, float)
        if theta.shape != (self.p,):
            raise ValueError(f"theta must have shape ({self.p},), got {theta.shape}")
        key = theta.tobytes()
        if self._cache is not None and self._cache[0] == key:
            return self._cache[1]
        med = self.medium(jnp.asarray(theta))
        out = []
        for g, (pol, m) in enumerate(self.gaps):
            v0 = None
            if self._warm is not None:
                v0 = [V[:, : m + 1 + self.options.extra] for V in self._warm[g].V]
            out.append(iterative.solve(self.pw, med, pol, m + 1, options=self.options, v0=v0))
        self._cache, self._warm = (key, out), out
        return out

    def _windows(self, solved: list):
        """Per gap: eigenvalues ``(nk, n)`` (dummies, window, padding), ``W (nk, npw, n)``, ``S``."""
        n = max(self.band - m + V.shape[1] for (_, m), b in zip(self.gaps, solved) for V in b.V)
        lams, Ws, Ss = [], [], []
        for (_, m), b in zip(self.gaps, solved):
            lam = np.full((len(b.V), n), self.pw.lam_pad)
            W = np.zeros((len(b.V), self.pw.npw, n), complex)
            for i, V in enumerate(b.V):
                w = np.asarray(b.window[i])
                s = self.band - m
                lam[i, :s] = _DUMMY
                lam[i, s:s + len(w)] = w
                W[i, :, s:s + len(w)] = np.asarray(V)
            lams.append(lam)
            Ws.append(W)
            Ss.append((lam[:, :, None] + lam[:, None, :]) / 2)
        return np.concatenate(lams), Ws, Ss

    def matrices(self, theta: np.ndarray):
        return _diag(self._windows(self._solve(theta))[0]), None

    def linearize(self, theta: np.ndarray) -> Linearization:
        lam, Ws, Ss = self._windows(self._solve(theta))
        th, Ws, Ss = jnp.asarray(theta, float), tuple(map(jnp.asarray, Ws)), tuple(map(jnp.asarray, Ss))

        def vjp(Abar, Bbar):
            return np.asarray(self._vjp(th, Ws, Ss, jnp.asarray(Abar)))

        return Linearization(_diag(lam), None, vjp)

    def eigenvalues(self, theta: np.ndarray) -> np.ndarray:
        """``λ (K, n)``: the aligned, padded windows (what the non-smooth layer sees)."""
        return self._windows(self._solve(theta))[0]

    def frequencies(self, theta: np.ndarray) -> list[np.ndarray]:
        """Per gap, the reduced frequencies ``(nk, m + 1)`` of its bands at ``theta``."""
        return [np.asarray(iterative.frequencies(b.lam)) for b in self._solve(theta)]
