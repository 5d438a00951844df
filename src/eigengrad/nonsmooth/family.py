"""Parameterised Hermitian families ``θ ↦ (A_1(θ), …, A_K(θ))`` (optionally with ``B_k(θ) ≻ 0``), as the
non-smooth layer sees them: concrete NumPy matrices plus a batched vector-Jacobian product.

Convention (design/adjoints.md §0): the VJP of a cotangent ``Ā`` (and ``B̄``) returns the vector
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


@dataclass(frozen=True)
class Linearization:
    """The family at one point: ``A`` and ``B`` as ``(K, n, n)`` arrays (``B`` None means ``I``) and
    ``vjp(Abar, Bbar) -> (m, p)`` for stacks ``(m, K, n, n)`` of cotangents (``Bbar`` None: zero)."""

    A: np.ndarray
    B: np.ndarray | None
    vjp: Callable[[np.ndarray, np.ndarray | None], np.ndarray]


class Family(Protocol):
    """What the non-smooth layer needs of a parameterised family."""

    def matrices(self, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """``(A, B)`` at ``theta``, each ``(K, n, n)`` (``B`` may be None)."""

    def linearize(self, theta: np.ndarray) -> Linearization:
        """Matrices and VJP at ``theta``."""


@dataclass(frozen=True)
class Spectrum:
    """Ascending eigenvalues ``w (K, n)`` and eigenvectors ``V (K, n, n)`` (``B``-orthonormal)."""

    w: np.ndarray
    V: np.ndarray


def spectrum(A: np.ndarray, B: np.ndarray | None) -> Spectrum:
    """Eigen-decomposition of every matrix of the family (Hermitian parts)."""
    A = (A + np.conj(np.swapaxes(A, -1, -2))) / 2
    if B is None:
        w, V = np.linalg.eigh(A)
        return Spectrum(w, V)
    B = (B + np.conj(np.swapaxes(B, -1, -2))) / 2
    pairs = [scipy.linalg.eigh(a, b) for a, b in zip(A, B)]
    return Spectrum(np.stack([p[0] for p in pairs]), np.stack([p[1] for p in pairs]))


def eigenvalues(A: np.ndarray, B: np.ndarray | None) -> np.ndarray:
    """Ascending eigenvalues ``(K, n)`` only."""
    A = (A + np.conj(np.swapaxes(A, -1, -2))) / 2
    if B is None:
        return np.linalg.eigvalsh(A)
    B = (B + np.conj(np.swapaxes(B, -1, -2))) / 2
    return np.stack([scipy.linalg.eigh(a, b, eigvals_only=True) for a, b in zip(A, B)])


def as_stack(M) -> np.ndarray:
    """``(n, n)`` or ``(K, n, n)`` to ``(K, n, n)``."""
    M = np.asarray(M)
    return M[None] if M.ndim == 2 else M


class AffineFamily:
    """``A(θ) = A0 + Σ_j θ_j A_j`` (and optionally ``B(θ) = B0 + Σ_j θ_j B_j``), NumPy only.

    ``A0`` is ``(n, n)`` or ``(K, n, n)``; ``As`` is ``(p, n, n)`` or ``(p, K, n, n)``.
    """

    def __init__(self, A0, As, B0=None, Bs=None):
        self.A0 = as_stack(A0)
        As = np.asarray(As)
        self.As = As[:, None] if As.ndim == 3 else As
        self.B0 = None if B0 is None else as_stack(B0)
        self.Bs = None if Bs is None else (np.asarray(Bs)[:, None] if np.ndim(Bs) == 3 else np.asarray(Bs))
        self.p = self.As.shape[0]
        self._flatA = self.As.reshape(self.p, -1)
        self._flatB = None if self.Bs is None else self.Bs.reshape(self.p, -1)

    def matrices(self, theta):
        theta = np.asarray(theta, float)
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
