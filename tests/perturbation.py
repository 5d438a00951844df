"""NumPy references from first-order perturbation theory, for tests that would otherwise compile a
dense JAX rule only to check an iterative one. Every formula assumes simple eigenvalues in the
window (the tests choose problems where they are).

Hermitian ``H v_i = λ_i v_i`` with orthonormal ``v``:
``dλ_i = v_iᴴ dH v_i`` and ``dv_i = Σ_{j≠i} v_j (v_jᴴ dH v_i) / (λ_i − λ_j)`` (so ``v_iᴴ dv_i = 0``).
General ``A v_i = λ_i v_i``, ``u_iᴴ A = λ_i u_iᴴ``: ``dλ_i = u_iᴴ dA v_i / (u_iᴴ v_i)``.
"""

from __future__ import annotations

import numpy as np
import scipy.linalg


def _ratio(num, den, keep) -> np.ndarray:
    """``num / den`` where ``keep`` (the ``j ≠ i`` terms), 0 elsewhere; complex."""
    num = np.asarray(num, dtype=complex)
    return np.divide(num, den, out=np.zeros(np.broadcast_shapes(num.shape, np.shape(den)), complex), where=keep)


def potential_gradient(H: np.ndarray, k: int, M: np.ndarray | None = None) -> np.ndarray:
    """``∂L/∂θ`` at θ = 0 for ``L = Σ_{i<k} λ_i + Σ_{x,i} M_xi |v_i(x)|²``, the k lowest pairs of the
    Hermitian ``H + diag θ``:
    ``Σ_i |v_i|² + 2 Re Σ_i v_i ⊙ Σ_{j≠i} conj(v_j) conj(v_jᴴ g_i)/(λ_i − λ_j)`` with ``g_i = M_{:,i} ⊙ v_i``."""
    w, V = np.linalg.eigh(H)
    Vk = V[:, :k]
    grad = np.sum(np.abs(Vk) ** 2, axis=1)
    if M is not None:
        diff = w[:k][None, :] - w[:, None]
        off = np.arange(len(w))[:, None] != np.arange(k)
        C = _ratio(np.conj(V.conj().T @ (M * Vk)), diff, off)
        grad = grad + 2 * np.real(np.sum(Vk * (V.conj() @ C), axis=1))
    return grad


def eigenvalue_sum_gradient(A: np.ndarray, k: int) -> np.ndarray:
    """``∂ Σ Re λ_i / ∂A`` (real A) over the k eigenvalues of largest real part:
    ``Re Σ_i conj(u_i) v_iᵀ / (u_iᴴ v_i)``."""
    lam, U, R = scipy.linalg.eig(A, left=True, right=True)
    idx = np.argsort(-lam.real)[:k]
    U, R = U[:, idx], R[:, idx]
    return np.real((U.conj() / np.sum(U.conj() * R, axis=0)) @ R.T)


def _weighted_square_tangent(V: np.ndarray, dV: np.ndarray, M: np.ndarray) -> np.ndarray:
    """Tangent of ``Σ_x M_xi |V_xi|²``: ``Σ_x M_xi 2 Re(conj(V_xi) dV_xi)``."""
    return np.sum(M * 2 * np.real(V.conj() * dV), axis=0)


def hermitian_window_jvp(A, dA, k: int, which: str, M, B=None, dB=None) -> np.ndarray:
    """Tangent of ``[λ_window, Σ_x M |V|²]`` for the Hermitian pencil ``(A, B)`` (``Vᴴ B V = I``):
    ``dλ_i = v_iᴴ (dA − λ_i dB) v_i``, ``dv_i = Σ_{j≠i} v_j v_jᴴ(dA − λ_i dB)v_i / (λ_i − λ_j)
    − ½ v_i (v_iᴴ dB v_i)``."""
    n = A.shape[0]
    B = np.eye(n) if B is None else B
    dB = np.zeros_like(A) if dB is None else dB
    w, V = scipy.linalg.eigh(A, B)
    idx = np.arange(k) if which == "smallest" else np.arange(n - k, n)
    dw = np.empty(k)
    dV = np.empty((n, k), complex)
    for col, i in enumerate(idx):
        v = V[:, i]
        r = (dA - w[i] * dB) @ v
        dw[col] = np.real(v.conj() @ r)
        coef = _ratio(V.conj().T @ r, w[i] - w, np.arange(n) != i)
        dV[:, col] = V @ coef - 0.5 * v * (v.conj() @ dB @ v)
    return np.concatenate([dw, _weighted_square_tangent(V[:, idx], dV, M)])


def general_window_jvp(A, dA, k: int, M) -> np.ndarray:
    """Tangent of ``[λ, Σ_x M |v|²]`` for the k eigenvalues of largest real part of ``A`` with unit
    right vectors: ``dλ_i = u_iᴴ dA v_i / (u_iᴴ v_i)``, ``dv_i = Σ_{j≠i} v_j (u_jᴴ dA v_i) /
    ((λ_i − λ_j) u_jᴴ v_j)`` less its component along v_i (the normalisation)."""
    lam, U, R = scipy.linalg.eig(A, left=True, right=True)
    R = R / np.linalg.norm(R, axis=0)
    UdAR = U.conj().T @ dA @ R / np.sum(U.conj() * R, axis=0)[:, None]
    idx = np.argsort(-lam.real)[:k]
    n = A.shape[0]
    dV = np.empty((n, k), complex)
    for col, i in enumerate(idx):
        coef = _ratio(UdAR[:, i], lam[i] - lam, np.arange(n) != i)
        d = R @ coef
        dV[:, col] = d - R[:, i] * np.real(R[:, i].conj() @ d)
    return np.concatenate([np.diag(UdAR)[idx], _weighted_square_tangent(R[:, idx], dV, M)])
