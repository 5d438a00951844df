"""Cluster models of an objective at a point (docs/derivations.md §6.3–§6.4).

For an active eigenvalue ``λ_i(A_k)`` of term ``t`` with cluster ``c`` (indices ``c0..c1``,
eigenvectors ``V_c``, ``B``-orthonormal) the local model is the set of ``r × r`` Hermitian matrices
``G_j = V_cᴴ (∂_j A - λ ∂_j B) V_c``, one per parameter. They are never formed from the Jacobian:
in the orthonormal basis ``E_b`` of Hermitian ``r × r`` matrices, ``<E_b, G_j>`` for all ``j`` at
once is one VJP with cotangents ``Ā = V_c E_b V_cᴴ``, ``B̄ = -V_c herm(E_b Λ_c) V_cᴴ`` — ``r²`` VJPs
(``r(r+1)/2`` for real families). With eigenvalues ``Λ_c`` not exactly equal, ``G_j`` is the
first-order part of the compressed pencil, ``V_cᴴ∂A V_c - herm(Λ_c V_cᴴ∂B V_c)``.

A :class:`Block` is such a cluster with its sign ``s`` (``+1`` in a Max term, ``-1`` in a Min term);
``C`` holds the coordinates of ``s·G`` for all blocks side by side, so that the generalized gradient
of the objective for block matrices ``Z_p`` (trace ``w_t`` per term) is ``g = C z``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import _spectraplex as sp
from .family import Linearization, Spectrum
from .objectives import Objective


@dataclass(frozen=True)
class Block:
    """Eigenvalues ``idx`` of matrix ``k`` in term ``term`` with sign ``sign`` around the target index
    ``target``; ``rank`` = position of the target from the extreme (``0``: the target is the top of
    the ``s·`` cluster, the regular case). For a sum term, ``count`` cluster members are summed
    (``0`` for an eigenvalue term)."""

    term: int
    k: int
    sign: int
    idx: tuple[int, ...]
    rank: int
    target: int
    count: int = 0


@dataclass(frozen=True)
class Model:
    """Blocks, coordinates ``C (p, M)`` of ``s·G``, offsets ``l (M,)`` of ``s·Λ - s·y_t``, layout."""

    blocks: tuple[Block, ...]
    C: np.ndarray
    l: np.ndarray
    layout: sp.BlockLayout
    f: float
    y: np.ndarray
    weights: np.ndarray
    g0: np.ndarray  # gradient of the smooth parts (eigenvalues wholly inside a sum term), weighted

    def block_matrices(self, v: np.ndarray) -> list[np.ndarray]:
        """``[L_p + Σ_j v_j (s G_p)_j]`` if ``v`` is a parameter vector ``(p,)``."""
        out = []
        coords = self.C.T @ v + self.l
        for E, sl in zip(self.layout.bases(), self.layout.slices()):
            out.append(sp.to_matrix(coords[sl], E))
        return out

    def slopes(self, d: np.ndarray) -> np.ndarray:
        """Per block, ``s·λ_i'(θ; d)``: eigenvalue number ``rank`` from the top of ``s·G_c(d)``, or the
        sum of its ``count`` largest eigenvalues for a sum term."""
        out = []
        for blk, E, sl in zip(self.blocks, self.layout.bases(), self.layout.slices()):
            ev = np.linalg.eigvalsh(sp.to_matrix(self.C[:, sl].T @ d, E))
            out.append(ev[len(ev) - blk.count :].sum() if blk.count else ev[len(ev) - 1 - blk.rank])
        return np.array(out)

    def derivative(self, d: np.ndarray) -> float:
        """``f'(θ; d) = g0·d + Σ_t w_t max_{p ∈ t} s λ_p'(θ; d)`` (exact for :func:`exact_blocks`)."""
        best = np.full(len(self.weights), -np.inf)
        for blk, v in zip(self.blocks, self.slopes(d)):
            best[blk.term] = max(best[blk.term], v)
        has = np.isfinite(best)
        return float(self.g0 @ d + self.weights[has] @ best[has])

    def value(self, d: np.ndarray) -> float:
        """``f + Σ_t w_t max_p λ_max(L_p + G_p(d))``: the cluster model of ``f(θ + d)``."""
        tops = np.full(len(self.weights), -np.inf)
        for blk, M in zip(self.blocks, self.block_matrices(d)):
            tops[blk.term] = max(tops[blk.term], np.linalg.eigvalsh(M)[-1])
        act = self.weights > 0
        return self.f + float(self.weights[act] @ tops[act])


def cluster(w: np.ndarray, i: int, tol: float) -> tuple[int, int]:
    """``(c0, c1)``: the run of ascending eigenvalues around ``w[i]`` with neighbour gaps ``≤ tol``."""
    c0, c1 = i, i
    while c0 > 0 and w[c0] - w[c0 - 1] <= tol:
        c0 -= 1
    while c1 < len(w) - 1 and w[c1 + 1] - w[c1] <= tol:
        c1 += 1
    return c0, c1


def exact_blocks(obj: Objective, spec: Spectrum, rtol: float) -> tuple[tuple[Block, ...], tuple[Block, ...]]:
    """Clusters of the active pieces of every term (pieces within ``tol = rtol · obj.scale`` of the
    term's extreme; neighbours closer than ``tol`` share a cluster), and the smooth parts: for a sum
    term, the eigenvalues counted wholly (beyond the cluster of its boundary index, or the whole
    cluster when every member is counted)."""
    tol = rtol * obj.scale(spec.w)
    out, smooth = [], []
    n = spec.w.shape[1]
    for t, term in enumerate(obj.terms):
        ks, ii, vals = term.pieces(spec.w)
        s = term.sign
        top = (s * vals).max()
        for k, i, v in zip(ks, ii, vals):
            if s * v < top - tol:
                continue
            c0, c1 = cluster(spec.w[k], int(i), tol)
            rank = c1 - i if s > 0 else i - c0
            if not term.is_sum:
                out.append(Block(t, int(k), s, tuple(range(c0, c1 + 1)), rank, int(i)))
                continue
            count = rank + 1  # cluster members counted by the sum
            whole = count == c1 - c0 + 1
            rest = range(c0 if whole else c1 + 1, n) if s > 0 else range(0, c1 + 1 if whole else c0)
            smooth.append(Block(t, int(k), s, tuple(rest), 0, int(i)))
            if not whole:
                out.append(Block(t, int(k), s, tuple(range(c0, c1 + 1)), 0, int(i), count))
    return tuple(out), tuple(smooth)


def window_blocks(obj: Objective, spec: Spectrum, delta: float, extra: int, max_size: int) -> tuple[Block, ...]:
    """Blocks for the optimizer's model: pieces within ``delta`` of their term's extreme; for each,
    the eigenvalues on the inner side of the target (at or below it in a Max term, at or above it in
    a Min term) within ``delta`` of it, plus ``extra`` more, at most ``max_size`` in all. Eigenvalue
    terms only (:func:`~.optimize.minimize` refuses sum terms).

    Restricting to the inner side makes the model an upper bound of the compressed model's
    ``s·λ_i`` (Cauchy interlacing), so it never predicts a gap that the full model would not have."""
    out = []
    for t, term in enumerate(obj.terms):
        ks, ii, vals = term.pieces(spec.w)
        s = term.sign
        top = (s * vals).max()
        for k, i, v in zip(ks, ii, vals):
            if s * v < top - delta:
                continue
            w = spec.w[k]
            side = np.arange(i, -1, -1) if s > 0 else np.arange(i, len(w))
            near = int(np.sum(np.abs(w[side] - w[i]) <= delta))
            take = side[: min(len(side), max_size, near + extra)]
            out.append(Block(t, int(k), s, tuple(sorted(int(j) for j in take)), 0, int(i)))
    return tuple(out)


def build(
    obj: Objective,
    spec: Spectrum,
    lin: Linearization,
    blocks: tuple[Block, ...],
    smooth: tuple[Block, ...] = (),
    max_type: bool = True,
    chunk_bytes: float = 2**27,
) -> Model:
    """Coordinates of every block's ``s·G`` by batched VJPs, the offsets ``s·Λ - s·y_t``, and the
    weighted gradient ``g0`` of the ``smooth`` parts (one VJP each, cotangent ``s Σ_i v_i v_iᴴ``).

    With ``max_type`` (needed by subgradients and steps), a negative effective weight raises and the
    blocks of zero-weight terms are dropped."""
    y = obj.values(spec.w)
    f, _ = obj.evaluate(y)
    weights = obj.weights(y)
    if max_type:
        blocks = tuple(b for b in blocks if weights[b.term] != 0)
    if max_type and np.any(weights < 0):
        bad = [obj.terms[t] for t in np.flatnonzero(weights < 0)]
        raise ValueError(
            f"{obj.name} is not of max type here: terms {bad} have effective weight < 0 (∂φ/∂y of the "
            "wrong sign), so the convex-hull model does not describe f. Flip the term (Max <-> Min) or "
            "check φ."
        )
    complex_ = np.iscomplexobj(lin.A) or np.iscomplexobj(spec.V)
    counts = np.ones(len(weights))
    for b in blocks:
        counts[b.term] = b.count or 1
    layout = sp.BlockLayout(
        tuple(len(b.idx) for b in blocks), tuple(b.term for b in blocks), tuple(weights * counts), complex_,
        tuple(weights[b.term] if b.count else None for b in blocks),
    )
    K, n = spec.w.shape
    cot_A, cot_B, l_parts = [], [], []
    for blk, E in zip(blocks, layout.bases()):
        V = spec.V[blk.k][:, list(blk.idx)]
        lam = spec.w[blk.k][list(blk.idx)]
        cot_A.append((blk.sign * V) @ E @ V.conj().T)
        if lin.B is not None:
            EL = E * lam[None, None, :]
            cot_B.append(-(blk.sign * V) @ ((EL + np.conj(np.swapaxes(EL, 1, 2))) / 2) @ V.conj().T)
        l_parts.append(np.concatenate([blk.sign * (lam - y[blk.term]), np.zeros(E.shape[0] - len(lam))]))
    C = _vjp_columns(lin, blocks, cot_A, cot_B if lin.B is not None else None, K, n, chunk_bytes)
    l = np.concatenate(l_parts) if l_parts else np.zeros(0)
    g0 = np.zeros(C.shape[0])
    if smooth:
        Ab = np.zeros((len(smooth), K, n, n), np.result_type(lin.A, spec.V))
        Bb = None if lin.B is None else np.zeros_like(Ab)
        for r, b in enumerate(smooth):
            V = spec.V[b.k][:, list(b.idx)]
            Ab[r, b.k] = b.sign * weights[b.term] * (V @ V.conj().T)
            if Bb is not None:
                Bb[r, b.k] = -b.sign * weights[b.term] * ((V * spec.w[b.k][list(b.idx)]) @ V.conj().T)
        g0 = np.asarray(lin.vjp(Ab, Bb), float).sum(axis=0)
    return Model(blocks, C, l, layout, float(f), y, weights, g0)


def _vjp_columns(lin, blocks, cot_A, cot_B, K, n, chunk_bytes) -> np.ndarray:
    """``C[:, b]`` = VJP of basis cotangent ``b``, embedded at its matrix ``k``; chunked in memory."""
    dtype = np.result_type(lin.A, *cot_A) if cot_A else lin.A.dtype
    items = [(blk.k, p, b) for p, blk in enumerate(blocks) for b in range(cot_A[p].shape[0])]
    per = max(1, int(chunk_bytes // (K * n * n * np.dtype(dtype).itemsize * (1 if cot_B is None else 2))))
    cols = []
    for start in range(0, len(items), per):
        part = items[start : start + per]
        Ab = np.zeros((len(part), K, n, n), dtype)
        Bb = None if cot_B is None else np.zeros((len(part), K, n, n), dtype)
        for r, (k, p, b) in enumerate(part):
            Ab[r, k] = cot_A[p][b]
            if Bb is not None:
                Bb[r, k] = cot_B[p][b]
        cols.append(np.asarray(lin.vjp(Ab, Bb), float))
    if not cols:  # no blocks: only the parameter count is needed
        return np.zeros((lin.vjp(np.zeros((1, K, n, n), lin.A.dtype), None).shape[1], 0))
    return np.concatenate(cols, 0).T


def curvature(
    lin: Linearization, spec: Spectrum, m: Model, Z: list[np.ndarray], outer: int = 60,
    rank_rtol: float = 1e-8, chunk_bytes: float = 2**27,
) -> np.ndarray:
    """``H (p, p)``: the Hessian of the window model's Lagrangian from eigenvalues outside the windows.

    For block ``p`` with weight matrix ``Z_p = Σ_a ζ_a x_a x_aᴴ`` (``y_a = V_p x_a``), target ``μ`` and
    each eigenvalue ``λ_i`` outside the window on the inner side, second-order perturbation theory
    adds ``ζ_a |y_aᴴ (Σ_j d_j ∂_j A - μ ∂_j B) v_i|² / |μ - λ_i|`` to the model, so
    ``H = 2 Σ ζ_a / |μ - λ_i| (h_R h_Rᵀ + h_I h_Iᵀ)`` with ``h_R + i h_I = y_aᴴ (∂A - μ ∂B) v_i``, one
    VJP each. Eigenvalues on the outer side would add concave terms; they are left to the trust
    region, so ``H ⪰ 0``. Only the ``outer`` eigenvalues nearest the window count (the terms decay
    like ``1/|μ - λ_i|``); the cost is ``rank(Z_p) · outer`` VJPs per block (twice that if complex).
    Second derivatives of ``A(θ)`` itself are not included (zero for affine families)."""
    K, n = spec.w.shape
    complex_ = m.layout.complex_
    items, coef = [], []
    for blk, Zp in zip(m.blocks, Z):
        zeta, X = np.linalg.eigh(Zp)
        keep = zeta > rank_rtol * max(zeta.max(), 1e-300)
        V = spec.V[blk.k][:, list(blk.idx)]
        w = spec.w[blk.k]
        mu = w[blk.idx[-1] if blk.sign > 0 else blk.idx[0]]
        inner = range(blk.idx[0] - 1, max(blk.idx[0] - 1 - outer, -1), -1) if blk.sign > 0 else \
            range(blk.idx[-1] + 1, min(blk.idx[-1] + 1 + outer, n))
        for a in np.flatnonzero(keep):
            y = V @ X[:, a]
            for i in inner:
                gap = abs(mu - w[i])
                if gap <= 0:
                    continue
                for phase in ((1.0, 1j) if complex_ else (1.0,)):
                    items.append((blk.k, phase * np.outer(y, spec.V[blk.k][:, i].conj()), mu))
                    coef.append(2 * zeta[a] / gap)
    p = m.C.shape[0]
    if not items:
        return np.zeros((p, p))
    dtype = np.complex128 if complex_ else np.float64
    per = max(1, int(chunk_bytes // (K * n * n * 16 * 2)))
    H = np.zeros((p, p))
    for start in range(0, len(items), per):
        part = items[start : start + per]
        Ab = np.zeros((len(part), K, n, n), dtype)
        Bb = None if lin.B is None else np.zeros_like(Ab)
        for r, (k, Y, mu) in enumerate(part):
            Ab[r, k] = (Y + Y.conj().T) / 2
            if Bb is not None:
                Bb[r, k] = -mu * Ab[r, k]
        Hs = np.asarray(lin.vjp(Ab, Bb), float)
        Hs = Hs * np.sqrt(np.array(coef[start : start + per]))[:, None]  # Σ c h hᵀ without squaring h
        H += Hs.T @ Hs
    return H
