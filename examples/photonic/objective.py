"""The band-gap objective and its local (cluster) model at non-smooth points.

For bands ``m`` and ``m+1`` (1-based ``m``), with reduced frequencies ``f_j(k) = √λ_j(k) / 2π``:

    U = max_k f_m(k)          (top of the band below the gap)
    L = min_k f_{m+1}(k)      (bottom of the band above it)
    R = 2 (L − U) / (L + U)   (gap–midgap ratio; negative when the bands overlap)

``U`` is a max over wavevectors of the largest eigenvalue of a cluster, ``L`` a min of smallest
ones: both are non-smooth where several wavevectors tie or where the edge is a degenerate eigenvalue
(symmetry-protected doublets at Γ and M). Their local model (design/adjoints.md §6.3–6.4): for the
*active* eigenvectors ``V_c`` at each wavevector (those within ``delta`` of the edge, relative),

    G_{ab} = ∂/∂θ [ v_aᴴ (A_k(θ) − λ̄_{ab} B_k(θ)) v_b ] / (8π² f_edge)   (∂f = ∂λ / 8π² f),

and ``U'(θ; d) = max_{Z ∈ S} ⟨g_U(Z), d⟩``, ``L'(θ; d) = min_{Z ∈ S} ⟨g_L(Z), d⟩`` with
``g(Z) = Σ_ab Z_ba G_ab`` and ``S`` the spectraplex (``Z ⪰ 0``, ``tr Z = 1``) over the direct sum of
the active subspaces (cross-wavevector blocks of ``G`` vanish). ``G`` is computed with JAX
reverse-mode through the operator assembly (``r²`` VJPs for ``r`` active vectors), never through
the eigensolver.
"""

from __future__ import annotations

from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np

from . import bands
from .geometry import Design
from .operators import BlochOperators


def edges(f: np.ndarray, m: int) -> tuple[float, float]:
    """``(U, L)``: top of band ``m`` and bottom of band ``m+1`` (1-based) over all wavevectors."""
    return float(np.max(f[:, m - 1])), float(np.min(f[:, m]))


def gap_midgap(f: np.ndarray, m: int) -> float:
    """Gap–midgap ratio ``2(L − U)/(L + U)`` between bands ``m`` and ``m+1``."""
    U, L = edges(f, m)
    return 2 * (L - U) / (L + U)


def ratio_jax(f, m: int):
    """:func:`gap_midgap` as a JAX expression (smooth wherever the edges are simple and unique)."""
    U, L = jnp.max(f[:, m - 1]), jnp.min(f[:, m])
    return 2 * (L - U) / (L + U)


@dataclass(frozen=True)
class GapProblem:
    """Maximise the gap between bands ``m`` and ``m+1`` of one polarisation over a design."""

    design: Design
    ops: BlochOperators
    polarization: str
    m: int

    def __post_init__(self):
        if not 1 <= self.m < self.ops.nbands:
            raise ValueError(f"band index m={self.m} outside 1..{self.ops.nbands - 1}")
        object.__setattr__(self, "_eig", jax.jit(lambda th: bands.eigenvalues(self.ops, self.design.eps(th), self.polarization)))
        object.__setattr__(self, "_solve", jax.jit(lambda th: bands.solve(self.ops, self.design.eps(th), self.polarization, gauge="ignore")))

    def frequencies(self, theta) -> np.ndarray:
        return np.asarray(bands.frequencies(self._eig(jnp.asarray(theta))))

    def ratio(self, theta) -> float:
        return gap_midgap(self.frequencies(theta), self.m)

    def solve(self, theta):
        lam, V = self._solve(jnp.asarray(theta))
        return np.asarray(lam), np.asarray(V)

    def projected(self, theta, blocks):
        """``[V_cᴴ (A_k − λ̄ B_k) V_c for (k, V_c, λ) in blocks]`` as one real vector (Re, Im parts),
        ``λ̄_{ab} = (λ_a + λ_b)/2``; ``B_k = I`` for TE."""
        A, B = bands.pencil(self.ops, self.design.eps(theta), self.polarization)
        out = []
        for k, Vc, lam in blocks:
            Vc = jnp.asarray(Vc)
            PA = jnp.conj(Vc.T) @ A[k] @ Vc
            PB = jnp.conj(Vc.T) @ (B[k] @ Vc) if B is not None else jnp.eye(Vc.shape[1])
            out.append(PA - (lam[:, None] + lam[None, :]) / 2 * PB)
        flat = jnp.concatenate([P.reshape(-1) for P in out])
        return jnp.concatenate([jnp.real(flat), jnp.imag(flat)])


@dataclass(frozen=True)
class ClusterModel:
    """Local model of ``R`` at ``θ``: ``R(θ+d) ≈ R + α L'(d) − β U'(d)`` with the generalized
    gradients ``GL``/``GU`` (``(r, r, p)`` complex, block diagonal over wavevectors),
    ``α = ∂R/∂L = 4U/(L+U)²``, ``β = −∂R/∂U = 4L/(L+U)²``, and which (k, band) are active."""

    U: float
    L: float
    GU: np.ndarray
    GL: np.ndarray
    active_U: list[tuple[int, tuple[int, ...]]]
    active_L: list[tuple[int, tuple[int, ...]]]

    @property
    def alpha(self) -> float:
        return 4 * self.U / (self.U + self.L) ** 2

    @property
    def beta(self) -> float:
        return 4 * self.L / (self.U + self.L) ** 2

    def slope(self, d: np.ndarray) -> float:
        """One-sided directional derivative ``R'(θ; d)`` (exact when ``delta`` isolates the true
        active set): ``α λ_min(Σ d_p GL_p) − β λ_max(Σ d_p GU_p)``."""
        HL, HU = np.tensordot(self.GL, d, 1), np.tensordot(self.GU, d, 1)
        return self.alpha * np.linalg.eigvalsh(HL)[0] - self.beta * np.linalg.eigvalsh(HU)[-1]

    def subgradient(self, ZL: np.ndarray, ZU: np.ndarray) -> np.ndarray:
        """``α g_L(Z_L) − β g_U(Z_U)``, an element of the generalized gradient of ``R``."""
        gL = np.real(np.einsum("ba,abp->p", ZL, self.GL))
        gU = np.real(np.einsum("ba,abp->p", ZU, self.GU))
        return self.alpha * gL - self.beta * gU


def _active(f: np.ndarray, bands_: range, edge: float, delta: float, upper: bool):
    out = []
    for k in range(f.shape[0]):
        js = tuple(j for j in bands_ if (f[k, j] >= edge * (1 - delta) if upper else f[k, j] <= edge * (1 + delta)))
        if js:
            out.append((k, js))
    return out


def _block_diag(J: np.ndarray, sizes: list[int]) -> np.ndarray:
    """Assemble ``(r, r, p)`` from the flattened per-block Jacobian rows."""
    r = sum(sizes)
    G = np.zeros((r, r, J.shape[1]), complex)
    off, row = 0, 0
    for s in sizes:
        G[off : off + s, off : off + s] = J[row : row + s * s].reshape(s, s, -1)
        off, row = off + s, row + s * s
    return G


def cluster_model(problem: GapProblem, theta: np.ndarray, delta: float) -> ClusterModel:
    """Active sets within relative ``delta`` of each edge, and their generalized-gradient tensors."""
    lam, V = problem.solve(theta)
    f = np.asarray(bands.frequencies(lam))
    m = problem.m
    U, L = edges(f, m)
    aU = _active(f, range(0, m), U, delta, upper=True)
    aL = _active(f, range(m, f.shape[1]), L, delta, upper=False)
    blocks = [(k, V[k][:, list(js)], lam[k, list(js)]) for k, js in aU + aL]
    jac = np.asarray(jax.jacrev(problem.projected)(jnp.asarray(theta), blocks))
    jac = jac.reshape(jac.shape[0], -1)  # parameters flattened: p = theta.size
    half = jac.shape[0] // 2
    J = jac[:half] + 1j * jac[half:]
    sizes = [len(js) for _, js in aU + aL]
    nU = sum(s * s for s in sizes[: len(aU)])
    GU = _block_diag(J[:nU], sizes[: len(aU)]) / (8 * np.pi**2 * U)
    GL = _block_diag(J[nU:], sizes[len(aU) :]) / (8 * np.pi**2 * L)
    return ClusterModel(U, L, GU, GL, aU, aL)
