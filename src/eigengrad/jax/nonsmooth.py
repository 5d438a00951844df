"""Eigenvalue optimisation through crossings for JAX families: ``import eigengrad.jax.nonsmooth as ns``.

:class:`Family` wraps ``A(θ)`` (and optionally ``B(θ)``), JAX functions of a real parameter vector
returning ``(n, n)`` or ``(K, n, n)`` Hermitian arrays; the VJPs the non-smooth layer needs come
from one ``jax.vjp`` per point, batched with ``jax.vmap``. Everything else — objectives,
:func:`structure`, :func:`directional_derivative`, :func:`min_norm_subgradient`, :func:`minimize`,
the smooth stand-ins — is the framework-neutral ``eigengrad.nonsmooth`` (NumPy in and out); see
docs/nonsmooth.md. :func:`objective` turns a JAX function ``φ(y)`` into an objective.

>>> import jax.numpy as jnp, numpy as np
>>> import eigengrad.jax.nonsmooth as ns
>>> fam = ns.Family(lambda t: jnp.array([[1 + t[0], t[1]], [t[1], 1 - t[0]]]))
>>> sub = ns.min_norm_subgradient(fam, ns.lambda_max(), np.zeros(2))   # the unit disk contains 0
>>> round(sub.stationarity, 8), sub.structure.multiplicities
(0.0, (2,))
"""

from __future__ import annotations

from typing import Callable, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from ..nonsmooth import *  # noqa: F401,F403  (the neutral API, re-exported)
from ..nonsmooth import Linearization, Objective, Term, _checks, __all__ as _neutral_all

__all__ = ["Family", "objective", *_neutral_all]


def _stack(M):
    return M[None] if M.ndim == 2 else M


class Family:
    """``θ ↦ (A(θ), B(θ))`` from JAX functions; ``B=None`` is the standard problem.

    ``A`` and ``B`` take a real 1-D ``θ`` (float64 if ``jax_enable_x64`` is set) and return
    ``(n, n)`` or ``(K, n, n)`` arrays (one matrix per Bloch wavevector, say). Only their Hermitian
    parts count. ``p``, the number of parameters, is optional; given, every ``θ`` is checked
    against it (JAX clamps out-of-range indices, so a short ``θ`` would otherwise go unnoticed)."""

    def __init__(self, A: Callable, B: Callable | None = None, p: int | None = None):
        self._A, self._B = _checks.function(A, "A"), _checks.function(B, "B", optional=True)
        self.p = None if p is None else _checks.count(p, "p", 0)

    def _pair(self, theta):
        A = _stack(self._A(theta))
        return (A, None) if self._B is None else (A, jnp.broadcast_to(_stack(self._B(theta)), A.shape))

    def matrices(self, theta):
        A, B = self._pair(jnp.asarray(theta))
        return np.asarray(A), None if B is None else np.asarray(B)

    def linearize(self, theta) -> Linearization:
        (A, B), pullback = jax.vjp(self._pair, jnp.asarray(theta))
        batched = jax.vmap(lambda a, b: pullback((a, b))[0])

        def vjp(Abar, Bbar):
            # JAX pairs cotangents without conjugation: Re tr(Āᴴ dA) needs conj(Ā).
            a = jnp.conj(jnp.asarray(Abar, A.dtype)) if jnp.iscomplexobj(A) else jnp.asarray(np.real(Abar), A.dtype)
            if B is None:
                return np.asarray(jax.vmap(lambda x: pullback((x, None))[0])(a))
            Bbar = np.zeros(Abar.shape, B.dtype) if Bbar is None else Bbar
            b = jnp.conj(jnp.asarray(Bbar, B.dtype)) if jnp.iscomplexobj(B) else jnp.asarray(np.real(Bbar), B.dtype)
            return np.asarray(batched(a, b))

        return Linearization(np.asarray(A), None if B is None else np.asarray(B), vjp)


def objective(terms: Sequence[Term], phi: Callable, name: str = "objective") -> Objective:
    """``f = φ(y_1, …, y_T)`` with ``φ`` a JAX function of a 1-D array (differentiated by JAX)."""
    _checks.function(phi, "phi")
    vg = jax.value_and_grad(lambda y: phi(y))

    def phi_np(y):
        v, g = vg(jnp.asarray(y))
        return float(v), np.asarray(g, float)

    return Objective(tuple(terms), phi_np, name)
