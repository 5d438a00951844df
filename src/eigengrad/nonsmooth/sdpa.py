"""A reader for SDPA sparse files (``.dat-s``, as in SDPLIB) and the λ_max forms of two SDPLIB families.

Format: line 1 ``m`` (number of variables), line 2 the number of blocks, line 3 the block sizes
(negative: diagonal block), line 4 the vector ``c``, then lines ``k block i j value`` (1-based,
upper triangle) giving the matrices ``F0 … Fm``. Comments start with ``"`` or ``*``; punctuation
``{ } ( ) ,`` is whitespace. The SDP is ``min cᵀx  s.t.  Σ_k x_k F_k - F0 ⪰ 0``.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from .family import AffineFamily


def read(path: str | Path) -> tuple[np.ndarray, list[np.ndarray]]:
    """``(c, [F0, F1, …, Fm])`` with dense symmetric ``F_k`` (blocks placed on the diagonal)."""
    lines = [ln for ln in Path(path).read_text().splitlines() if ln.strip() and ln.lstrip()[0] not in '"*']
    nums = [re.sub(r"[{}(),]", " ", ln).split() for ln in lines]
    try:
        m = int(float(nums[0][0]))
        nblocks = int(float(nums[1][0]))
        sizes = [abs(int(float(s))) for s in nums[2][:nblocks]]
        head, c = 3, []
        while len(c) < m:
            c.extend(float(v) for v in nums[head])
            head += 1
    except (IndexError, ValueError) as err:
        raise ValueError(f"{path}: not an SDPA sparse file (header: m, block count, block sizes, c): {err}") from None
    if m < 0 or len(sizes) != nblocks or len(c) != m:
        raise ValueError(f"{path}: inconsistent SDPA header (m = {m}, {nblocks} blocks, sizes {sizes}, {len(c)} costs)")
    offsets = np.concatenate([[0], np.cumsum(sizes)])
    n = int(offsets[-1])
    F = [np.zeros((n, n)) for _ in range(m + 1)]
    for line, row in enumerate(nums[head:], head + 1):
        try:
            k, blk, i, j = (int(float(v)) for v in row[:4])
            value = float(row[4])
        except (IndexError, ValueError):
            raise ValueError(f"{path}: entry line {line} is not 'k block i j value': {' '.join(row)}") from None
        if not (0 <= k <= m and 1 <= blk <= nblocks and 1 <= i <= sizes[blk - 1] and 1 <= j <= sizes[blk - 1]):
            raise ValueError(f"{path}: entry line {line} ({k} {blk} {i} {j}) is outside the matrices F0…F{m} "
                             f"and blocks {sizes} declared in the header")
        o = offsets[blk - 1]
        F[k][o + i - 1, o + j - 1] = F[k][o + j - 1, o + i - 1] = value
    return np.array(c), F


def theta_family(F: list[np.ndarray]) -> AffineFamily:
    """SDPLIB ``theta*``: ``F0 = J`` (all ones), ``F1 = I``, ``F2… = E_ij + E_ji`` per edge. The SDP's
    value is ``min_y λ_max(J + Σ_e y_e F_e)`` over the edge matrices ``F2…Fm``."""
    return AffineFamily(F[0], np.stack(F[2:]))


def maxcut_family(F: list[np.ndarray]) -> tuple[AffineFamily, float]:
    """SDPLIB ``mcp*``: ``min Σx s.t. Diag(x) ⪰ C`` with ``C = F0`` equals
    ``min_{Σu = 0} n λ_max(C + Diag(u))``. Parameterised by ``u = P z`` with ``P`` an orthonormal
    basis of ``1⊥`` (``n - 1`` parameters); returns the family of ``C + Diag(Pz)`` and the factor ``n``."""
    C = F[0]
    n = C.shape[0]
    Q, _ = np.linalg.qr(np.concatenate([np.ones((n, 1)), np.eye(n)[:, : n - 1]], axis=1))
    P = Q[:, 1:]
    As = np.zeros((n - 1, n, n))
    As[:, np.arange(n), np.arange(n)] = P.T  # As[j] = Diag(P[:, j])
    return AffineFamily(C, As), float(n)
