"""The photonic band problem as an ``eigengrad.nonsmooth`` family.

``BandFamily`` maps the flat design variables ``θ`` of a :class:`~geometry.Design` to the Bloch matrices at every
wavevector, ``A_k(θ)`` and (TM) ``B_k(θ)``, and supplies their batched VJP from JAX. eigengrad's
non-smooth layer does the rest (clusters, generalized gradients, the optimizer): this module only
builds operators.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

import scipy.linalg

from eigengrad.nonsmooth import Linearization

from . import bands
from .geometry import Design
from .operators import BlochOperators


class BandFamily:
    """``θ ↦ (A_k(θ), B_k(θ))`` for all wavevectors of ``ops`` (``B`` None for TE), ``θ`` the flat
    design variables of ``design``."""

    def __init__(self, design: Design, ops: BlochOperators, polarization: str):
        self.design, self.ops, self.polarization = design, ops, polarization
        self._build = jax.jit(lambda th: bands.pencil(ops, design.eps(th), polarization))

        def vjp(th, Abar, Bbar):
            _, pull = jax.vjp(self._build, th)
            # JAX pairs a complex cotangent c with a tangent t as Re Σ c t; the family convention is
            # Re Σ conj(Ā) ∂A (docs/derivations.md §0), hence the conjugates.
            one = lambda a, b: pull((jnp.conj(a), None if b is None else jnp.conj(b)))[0]  # noqa: E731
            # lax.map, not vmap: the vmapped VJP of the TE family (through jnp.linalg.inv) blocked
            # forever on an idle 2-core CPU with jax 0.10.2 (main thread waiting on a result no XLA
            # worker produced); one column at a time ran every time, at the same speed here.
            if Bbar is None:
                return jax.lax.map(lambda a: one(a, None), Abar)
            return jax.lax.map(lambda ab: one(*ab), (Abar, Bbar))

        self._vjp = jax.jit(vjp)

    def matrices(self, theta: np.ndarray):
        A, B = self._build(jnp.asarray(theta, float))
        return np.asarray(A), None if B is None else np.asarray(B)

    def linearize(self, theta: np.ndarray) -> Linearization:
        th = jnp.asarray(theta, float)
        A, B = self.matrices(theta)

        def vjp(Abar, Bbar):
            if self.polarization == "te":
                Bbar = None
            elif Bbar is None:
                Bbar = np.zeros_like(Abar)
            return np.asarray(self._vjp(th, jnp.asarray(Abar), None if Bbar is None else jnp.asarray(Bbar)))

        return Linearization(A, B, vjp)

    def eigenvalues(self, theta: np.ndarray) -> np.ndarray:
        """Ascending ``λ (nk, n)`` of every wavevector's matrix at ``theta`` (NumPy/SciPy, as the
        non-smooth layer computes them)."""
        A, B = self.matrices(theta)
        if B is None:
            return np.linalg.eigvalsh(A)
        return np.stack([scipy.linalg.eigh(a, b, eigvals_only=True) for a, b in zip(A, B)])
