"""Eigenvalue optimisation through crossings for PyTorch families: ``import eigengrad.torch.nonsmooth as ns``.

:class:`Family` wraps ``A(θ)`` (and optionally ``B(θ)``), torch functions of a real parameter
vector returning ``(n, n)`` or ``(K, n, n)`` Hermitian tensors; the VJPs come from one
``torch.func.vjp`` per point, batched with ``torch.func.vmap`` (a loop if the function cannot be
vmapped). Everything else is the framework-neutral ``eigengrad.nonsmooth`` (NumPy in and out); see
docs/nonsmooth.md. :func:`objective` turns a torch function ``φ(y)`` into an objective.

>>> import torch, numpy as np
>>> import eigengrad.torch.nonsmooth as ns
>>> fam = ns.Family(lambda t: torch.stack([torch.stack([1 + t[0], t[1]]), torch.stack([t[1], 1 - t[0]])]))
>>> round(ns.directional_derivative(fam, ns.lambda_max(), np.zeros(2), np.array([0.6, 0.8])), 12)  # = |d|
1.0
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np
import torch

from ..nonsmooth import *  # noqa: F401,F403  (the neutral API, re-exported)
from ..nonsmooth import Linearization, Objective, Term, _checks, __all__ as _neutral_all

__all__ = ["Family", "objective", *_neutral_all]


def _stack(M):
    return M[None] if M.ndim == 2 else M


class Family:
    """``θ ↦ (A(θ), B(θ))`` from torch functions; ``B=None`` is the standard problem.

    ``θ`` is passed as a float64 1-D tensor (``dtype`` to change it); ``A``, ``B`` return ``(n, n)`` or
    ``(K, n, n)`` tensors. Only their Hermitian parts count. ``p``, the number of parameters, is
    optional; given, every ``θ`` is checked against it."""

    def __init__(self, A: Callable, B: Callable | None = None, dtype: torch.dtype = torch.float64, p: int | None = None):
        self._A, self._B = _checks.function(A, "A"), _checks.function(B, "B", optional=True)
        if dtype not in (torch.float32, torch.float64):
            raise TypeError(f"dtype must be torch.float32 or torch.float64 (θ is real), got {dtype!r}")
        self.dtype = dtype
        self.p = None if p is None else _checks.count(p, "p", 0)

    def _pair(self, theta):
        A = _stack(self._A(theta))
        if self._B is None:
            return (A,)
        return A, _stack(self._B(theta)).expand(A.shape)

    def matrices(self, theta):
        with torch.no_grad():
            out = self._pair(torch.as_tensor(np.asarray(theta), dtype=self.dtype))
        return out[0].numpy(), None if len(out) == 1 else out[1].numpy()

    def linearize(self, theta) -> Linearization:
        out, pullback = torch.func.vjp(self._pair, torch.as_tensor(np.asarray(theta), dtype=self.dtype))
        mats = [o.detach() for o in out]

        def vjp(Abar, Bbar):
            cots = [torch.as_tensor(Abar if mats[0].is_complex() else np.real(Abar), dtype=mats[0].dtype)]
            if len(mats) == 2:
                Bbar = np.zeros(Abar.shape) if Bbar is None else Bbar
                cots.append(torch.as_tensor(Bbar if mats[1].is_complex() else np.real(Bbar), dtype=mats[1].dtype))
            try:
                res = torch.func.vmap(lambda *c: pullback(tuple(c))[0])(*cots)
            except RuntimeError:  # functions that vmap cannot trace: one pullback per cotangent
                res = torch.stack([pullback(tuple(c[r] for c in cots))[0] for r in range(cots[0].shape[0])])
            return res.detach().numpy()

        return Linearization(mats[0].numpy(), None if len(mats) == 1 else mats[1].numpy(), vjp)


def objective(terms: Sequence[Term], phi: Callable, name: str = "objective") -> Objective:
    """``f = φ(y_1, …, y_T)`` with ``φ`` a torch function of a 1-D tensor (differentiated by autograd)."""
    _checks.function(phi, "phi")

    def phi_np(y):
        yt = torch.tensor(np.asarray(y, float), dtype=torch.float64, requires_grad=True)
        v = phi(yt)
        (g,) = torch.autograd.grad(v, yt)
        return float(v.detach()), g.numpy()

    return Objective(tuple(terms), phi_np, name)
