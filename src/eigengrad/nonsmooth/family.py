"""Parameterised Hermitian families ``θ ↦ (A_1(θ), …, A_K(θ))`` (optionally with ``B_k(θ) ≻ 0``), as the
non-smooth layer sees them: concrete NumPy matrices plus a batched vector-Jacobian product.

Convention (docs/derivations.md §0): the VJP of a cotangent ``Ā`` (and ``B̄``) returns the vector
``c_j = Σ_k Re tr(Ā_kᴴ ∂_j A_k + B̄_kᴴ ∂_j B_k)``. Matrices are read as their Hermitian part, so the
non-smooth layer only ever passes Hermitian cotangents.

The front ends (``eigengrad.jax.nonsmooth``, ``eigengrad.torch.nonsmooth``) build these from a user
function with the framework's autodiff; :class:`AffineFamily` is a NumPy one for
``A(θ) = A0 + Σ_j θ_j A_j``, used by tests and benchmarks.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Protocol

import numpy as np
import scipy.linalg

from . import _checks


@dataclass(frozen=True)
class Linearization:
    """The family at one point: ``A`` and ``B`` as ``(K, n, n)`` arrays (``B`` None means ``I``) and
    ``vjp(Abar, Bbar) -> (m, p)`` for stacks ``(m, K, n, n)`` of cotangents (``Bbar`` None: zero)."""

    A: np.ndarray
    B: np.ndarray | None
    vjp: Callable[[np.ndarray, np.ndarray | None], np.ndarray]


class Family(Protocol):
    """What the non-smooth layer needs of a parameterised family. A family may also declare its
    number of parameters as an attribute ``p``; then every ``θ`` passed in is checked against it."""

    def matrices(self, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """``(A, B)`` at ``theta``, each ``(K, n, n)`` (``B`` may be None)."""

    def linearize(self, theta: np.ndarray) -> Linearization:
        """Matrices and VJP at ``theta``."""


@dataclass(frozen=True)
class Spectrum:
    """Ascending eigenvalues ``w (K, n)`` and eigenvectors ``V (K, n, n)`` (``B``-orthonormal)."""

    w: np.ndarray
    V: np.ndarray


def _pencil(a: np.ndarray, b: np.ndarray, k: int, eigvals_only: bool):
    try:
        return scipy.linalg.eigh(a, b, eigvals_only=eigvals_only)
    except np.linalg.LinAlgError:
        raise ValueError(
            f"B(θ) of matrix {k} is not positive definite (its Cholesky factorisation failed), so "
            "A v = λ B v is not a Hermitian-definite problem at this θ"
        ) from None


def _herm(M: np.ndarray) -> np.ndarray:
    """Hermitian part, halving first so that entries near the top of the range do not overflow."""
    return M / 2 + np.conj(np.swapaxes(M, -1, -2)) / 2


def spectrum(A: np.ndarray, B: np.ndarray | None) -> Spectrum:
    """Eigen-decomposition of every matrix of the family (Hermitian parts)."""
    A = _herm(A)
    if B is None:
        w, V = np.linalg.eigh(A)
        return Spectrum(w, V)
    pairs = [_pencil(a, b, k, False) for k, (a, b) in enumerate(zip(A, _herm(B)))]
    return Spectrum(np.stack([p[0] for p in pairs]), np.stack([p[1] for p in pairs]))


def eigenvalues(A: np.ndarray, B: np.ndarray | None) -> np.ndarray:
    """Ascending eigenvalues ``(K, n)`` only."""
    A = _herm(A)
    if B is None:
        return np.linalg.eigvalsh(A)
    return np.stack([_pencil(a, b, k, True) for k, (a, b) in enumerate(zip(A, _herm(B)))])


def evaluate(family: Family, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """``family.matrices(θ)``, checked: ``(K, n, n)`` floating stacks, finite, ``B`` shaped as ``A``."""
    return _checks.family_matrices(*family.matrices(theta))


def linearize(family: Family, theta: np.ndarray) -> Linearization:
    """``family.linearize(θ)`` with its matrices checked as in :func:`evaluate`."""
    lin = family.linearize(theta)
    A, B = _checks.family_matrices(lin.A, lin.B)
    return Linearization(A, B, lin.vjp)


def _stack_arg(M, name: str, ndim: int) -> np.ndarray:
    """An ``AffineFamily`` argument: floating, finite, ``ndim`` or ``ndim + 1`` axes (a ``K`` axis
    inserted after the first ``ndim - 2`` if absent), square in the last two."""
    arr = np.asarray(M)
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        raise TypeError(f"{name} must be a numeric array, got dtype {arr.dtype}")
    if arr.ndim not in (ndim, ndim + 1) or arr.shape[-1] != arr.shape[-2] or arr.shape[-1] == 0:
        extra = "p, " if ndim == 3 else ""
        raise ValueError(f"{name} must have shape ({extra}n, n) or ({extra}K, n, n), n >= 1, got {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} has non-finite entries")
    arr = arr if np.issubdtype(arr.dtype, np.inexact) else arr.astype(np.float64)
    return np.expand_dims(arr, ndim - 2) if arr.ndim == ndim else arr


class AffineFamily:
    """``A(θ) = A0 + Σ_j θ_j A_j`` (and optionally ``B(θ) = B0 + Σ_j θ_j B_j``), NumPy only.

    ``A0`` is ``(n, n)`` or ``(K, n, n)``; ``As`` is ``(p, n, n)`` or ``(p, K, n, n)`` (likewise ``B0``,
    ``Bs``); a missing ``K`` axis is shared by all ``K`` matrices.
    """

    def __init__(self, A0, As, B0=None, Bs=None):
        if Bs is not None and B0 is None:
            raise ValueError("Bs given without B0: B(θ) = B0 + Σ θ_j Bs_j needs B0")
        A0, As = _stack_arg(A0, "A0", 2), _stack_arg(As, "As", 3)
        B0 = None if B0 is None else _stack_arg(B0, "B0", 2)
        Bs = None if Bs is None else _stack_arg(Bs, "Bs", 3)
        n, p = A0.shape[-1], As.shape[0]
        Ks = {M.shape[-3] for M in (A0, As, B0, Bs) if M is not None} - {1}
        if len(Ks) > 1 or any(M is not None and M.shape[-1] != n for M in (As, B0, Bs)) or (Bs is not None and Bs.shape[0] != p):
            shapes = ", ".join(f"{k} {np.shape(v)}" for k, v in (("A0", A0), ("As", As), ("B0", B0), ("Bs", Bs)) if v is not None)
            raise ValueError(f"AffineFamily: inconsistent shapes {shapes}; need A0, B0 (n, n) or (K, n, n) and "
                             "As, Bs (p, n, n) or (p, K, n, n), with the same n, K and p")
        K = Ks.pop() if Ks else 1
        self.A0 = np.broadcast_to(A0, (K, n, n))
        self.As = np.broadcast_to(As, (p, K, n, n))
        self.B0 = None if B0 is None else np.broadcast_to(B0, (K, n, n))
        self.Bs = None if Bs is None else np.broadcast_to(Bs, (p, K, n, n))
        self.p = self.As.shape[0]
        self._flatA = self.As.reshape(self.p, -1)
        self._flatB = None if self.Bs is None else self.Bs.reshape(self.p, -1)

    def matrices(self, theta):
        theta = _checks.real_vector(theta, "theta", self.p)
        A = self.A0 + np.tensordot(theta, self.As, axes=1)
        if self.B0 is None:
            return A, None
        B = self.B0 if self.Bs is None else self.B0 + np.tensordot(theta, self.Bs, axes=1)
        return A, B

    def linearize(self, theta):
        A, B = self.matrices(theta)

        def vjp(Abar, Bbar):
            m = Abar.shape[0]
            out = np.real(np.conj(Abar.reshape(m, -1)) @ self._flatA.T)
            if Bbar is not None and self._flatB is not None:
                out = out + np.real(np.conj(Bbar.reshape(m, -1)) @ self._flatB.T)
            return out

        return Linearization(A, B, vjp)
