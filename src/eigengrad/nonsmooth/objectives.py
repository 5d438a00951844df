"""Objectives built from extreme eigenvalues of a family, always to be *minimised*.

A :class:`Term` is the max (or min) over several matrices ``k`` of one eigenvalue ``λ_i(A_k)``
(``i`` 0-based ascending; negative ``i`` counts from the top, ``-1`` is ``λ_max``)::

    Max(i):  y = max_k λ_i(A_k)          Min(i):  y = min_k λ_i(A_k)

An :class:`Objective` is ``f(θ) = φ(y_1(θ), …, y_T(θ))`` with a smooth ``φ``. The non-smooth
machinery (subdifferential, steepest descent, the optimizer) is exact when ``f`` is of *max type*
at ``θ``: every effective weight ``w_t = s_t ∂φ/∂y_t`` is ``≥ 0`` (``s_t = +1`` for Max, ``-1`` for
Min) and every active eigenvalue is the extreme of its cluster on that side (the top of its cluster
in a Max term, the bottom in a Min term). Then ``f'(θ; d) = Σ_t w_t max_p s_t λ_{i_p}'(d)`` and the
Clarke subdifferential is ``Σ_t w_t conv_p ∂(s_t λ_{i_p})``.

Examples: ``lambda_max()`` minimises ``max_k λ_max(A_k)``; ``neg_gap(m)`` maximises the gap
``min_k λ_{m+1} - max_k λ_m`` (bands counted from 1); ``neg_gap_midgap(m)`` maximises
``2 (b - a)/(b + a)`` with ``a = max_k λ_m``, ``b = min_k λ_{m+1}`` (the photonic gap–midgap ratio,
with ``λ`` the band frequencies, or their squares if that is what the family holds).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

Phi = Callable[[np.ndarray], "tuple[float, np.ndarray]"]


@dataclass(frozen=True)
class Term:
    """``max_k λ_index(A_k)`` (``kind="max"``) or ``min_k`` (``"min"``) over ``matrices`` (None: all)."""

    kind: str
    index: int
    matrices: tuple[int, ...] | None = None

    def __post_init__(self):
        if self.kind not in ("max", "min"):
            raise ValueError(f"Term.kind must be 'max' or 'min', got {self.kind!r}")

    @property
    def sign(self) -> int:
        return 1 if self.kind == "max" else -1

    def ks(self, K: int) -> tuple[int, ...]:
        return tuple(range(K)) if self.matrices is None else tuple(self.matrices)

    def pieces(self, w: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Matrix indices ``k``, absolute eigenvalue indices ``i`` and values ``λ_i(A_k)``."""
        K, n = w.shape
        ks = np.array(self.ks(K))
        i = self.index % n
        return ks, np.full(len(ks), i), w[ks, i]

    def value(self, w: np.ndarray) -> float:
        vals = self.pieces(w)[2]
        return float(vals.max() if self.sign > 0 else vals.min())


def Max(index: int = -1, matrices: Sequence[int] | None = None) -> Term:
    """``max_k λ_index(A_k)``; ``Max()`` is ``max_k λ_max(A_k)``."""
    return Term("max", int(index), None if matrices is None else tuple(matrices))


def Min(index: int = 0, matrices: Sequence[int] | None = None) -> Term:
    """``min_k λ_index(A_k)``; ``Min()`` is ``min_k λ_min(A_k)``."""
    return Term("min", int(index), None if matrices is None else tuple(matrices))


@dataclass(frozen=True)
class Objective:
    """``f = φ(y)`` for terms ``y_t``; ``phi(y) -> (value, gradient)`` in NumPy."""

    terms: tuple[Term, ...]
    phi: Phi
    name: str = "objective"

    def values(self, w: np.ndarray) -> np.ndarray:
        return np.array([t.value(w) for t in self.terms])

    def __call__(self, w: np.ndarray) -> float:
        """``f`` from the eigenvalues ``w (K, n)`` of the family."""
        return float(self.phi(self.values(w))[0])

    def scale(self, w: np.ndarray) -> float:
        """``max |λ_i(A_k)|`` over every piece of every term: the size that tolerances are relative
        to (not the whole spectrum, whose far end — high bands, say — is irrelevant to ``f``)."""
        return max(float(np.abs(t.pieces(w)[2]).max()) for t in self.terms)

    def weights(self, y: np.ndarray) -> np.ndarray:
        """Effective weights ``w_t = s_t ∂φ/∂y_t`` (all ``≥ 0`` for a max-type objective)."""
        return self.phi(y)[1] * np.array([t.sign for t in self.terms])


def linear(terms: Sequence[Term], coefficients: Sequence[float], name: str = "linear") -> Objective:
    """``f = Σ_t c_t y_t``."""
    c = np.asarray(coefficients, float)
    return Objective(tuple(terms), lambda y: (float(c @ y), c), name)


def lambda_max(matrices: Sequence[int] | None = None) -> Objective:
    """Minimise ``max_k λ_max(A_k)``."""
    return linear([Max(-1, matrices)], [1.0], "lambda_max")


def neg_lambda_min(matrices: Sequence[int] | None = None) -> Objective:
    """Maximise ``min_k λ_min(A_k)`` (minimise its negative)."""
    return linear([Min(0, matrices)], [-1.0], "-lambda_min")


def neg_gap(m: int, matrices: Sequence[int] | None = None) -> Objective:
    """Maximise the gap ``min_k λ_{m+1}(A_k) - max_k λ_m(A_k)`` above band ``m`` (1-based)."""
    return linear([Max(m - 1, matrices), Min(m, matrices)], [1.0, -1.0], f"-gap({m})")


def neg_gap_midgap(m: int, matrices: Sequence[int] | None = None, squared: bool = False) -> Objective:
    """Maximise the gap–midgap ratio ``2 (b - a) / (b + a)``, ``a = max_k λ_m``, ``b = min_k λ_{m+1}``
    (needs ``a, b > 0``). With ``squared=True`` the eigenvalues are squared frequencies (Maxwell:
    ``λ = ω²``) and the ratio is taken in ``ω``: ``2 (√b - √a) / (√b + √a)``."""

    def phi(y):
        a, b = y
        if not squared:
            s = a + b
            return -2.0 * (b - a) / s, np.array([4.0 * b / s**2, -4.0 * a / s**2])
        ra, rb = np.sqrt(a), np.sqrt(b)
        s = ra + rb
        return -2.0 * (rb - ra) / s, np.array([2.0 * rb / (ra * s**2), -2.0 * ra / (rb * s**2)])

    return Objective((Max(m - 1, matrices), Min(m, matrices)), phi, f"-gap_midgap({m})")
