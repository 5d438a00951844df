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

A term may also be the sum of the ``k`` largest (``TopSum(k, matrix)``, a Max-like, convex term) or
smallest (``BottomSum``, Min-like) eigenvalues of one matrix; its Clarke set at a cluster split by
the ``k``-th eigenvalue is ``{G_fixed + g(Z) : 0 ⪯ Z ⪯ I, tr Z = s}`` (``s`` cluster members
counted). Sums are analysed (structure, derivatives, subgradients) but not optimised.

Examples: ``lambda_max()`` minimises ``max_k λ_max(A_k)``; ``neg_gap(m)`` maximises the gap
``min_k λ_{m+1} - max_k λ_m`` (bands counted from 1); ``neg_gap_midgap(m)`` maximises
``2 (b - a)/(b + a)`` with ``a = max_k λ_m``, ``b = min_k λ_{m+1}`` (the photonic gap–midgap ratio,
with ``λ`` the band frequencies, or their squares if that is what the family holds).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from . import _checks

Phi = Callable[[np.ndarray], "tuple[float, np.ndarray]"]


@dataclass(frozen=True)
class Term:
    """``max_k λ_index(A_k)`` (``kind="max"``) or ``min_k`` (``"min"``) over ``matrices`` (None: all);
    or, for one matrix, the sum of its ``index`` largest (``"topsum"``) or smallest (``"bottomsum"``)
    eigenvalues."""

    kind: str
    index: int
    matrices: tuple[int, ...] | None = None

    def __post_init__(self):
        if self.kind not in ("max", "min", "topsum", "bottomsum"):
            raise ValueError(f"Term.kind must be 'max', 'min', 'topsum' or 'bottomsum', got {self.kind!r}")
        object.__setattr__(self, "index", _checks.count(self.index, "Term.index", 1 if self.is_sum else None))
        if self.matrices is not None:
            if isinstance(self.matrices, (str, bytes)) or not hasattr(self.matrices, "__iter__"):
                raise TypeError(f"Term.matrices must be None or a sequence of matrix numbers, got {self.matrices!r}")
            ks = tuple(_checks.count(k, "Term.matrices entry", 0) for k in self.matrices)
            if not ks:
                raise ValueError("Term.matrices is empty: name at least one matrix, or None for all")
            object.__setattr__(self, "matrices", ks)
        if self.is_sum and (self.matrices is None or len(self.matrices) != 1):
            raise ValueError("a sum term needs exactly one matrix")

    def check(self, K: int, n: int) -> None:
        """Raise unless the term fits a family of ``K`` matrices ``n × n`` (no wrapping around)."""
        if self.matrices is not None and max(self.matrices) >= K:
            raise ValueError(f"{self}: matrix {max(self.matrices)} does not exist, the family has {K} (0 … {K - 1})")
        if self.is_sum and self.index > n:
            raise ValueError(f"{self}: the sum of {self.index} eigenvalues of an {n}×{n} matrix")
        if not self.is_sum and not -n <= self.index < n:
            raise ValueError(f"{self}: eigenvalue index {self.index} is out of range for {n}×{n} matrices "
                             f"(0 … {n - 1} from the bottom, -1 … -{n} from the top)")

    @property
    def sign(self) -> int:
        """``+1`` for terms that are convex in ``A`` (max, top sum), ``-1`` for concave ones."""
        return 1 if self.kind in ("max", "topsum") else -1

    @property
    def is_sum(self) -> bool:
        return self.kind.endswith("sum")

    def ks(self, K: int) -> tuple[int, ...]:
        return tuple(range(K)) if self.matrices is None else tuple(self.matrices)

    def pieces(self, w: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Matrix indices ``k``, eigenvalue indices ``i`` and values: ``λ_i(A_k)``, or for a sum term
        the boundary index (the last one counted, ``n - k`` or ``k - 1``) and the sum."""
        K, n = w.shape
        ks = np.array(self.ks(K))
        self.check(K, n)
        if not self.is_sum:
            i = self.index % n  # in range by check: a negative index counts from the top
            return ks, np.full(len(ks), i), w[ks, i]
        top = self.kind == "topsum"
        i = n - self.index if top else self.index - 1
        rows = w[ks]
        return ks, np.full(len(ks), i), (rows[:, i:] if top else rows[:, : i + 1]).sum(axis=1)

    def value(self, w: np.ndarray) -> float:
        vals = self.pieces(w)[2]
        return float(vals.max() if self.sign > 0 else vals.min())


def Max(index: int = -1, matrices: Sequence[int] | None = None) -> Term:
    """``max_k λ_index(A_k)``; ``Max()`` is ``max_k λ_max(A_k)``."""
    return Term("max", index, matrices)


def Min(index: int = 0, matrices: Sequence[int] | None = None) -> Term:
    """``min_k λ_index(A_k)``; ``Min()`` is ``min_k λ_min(A_k)``."""
    return Term("min", index, matrices)


def TopSum(k: int, matrix: int = 0) -> Term:
    """Sum of the ``k`` largest eigenvalues of ``A_matrix`` (convex in ``A``: Ky Fan)."""
    return Term("topsum", k, (matrix,))


def BottomSum(k: int, matrix: int = 0) -> Term:
    """Sum of the ``k`` smallest eigenvalues of ``A_matrix`` (concave in ``A``)."""
    return Term("bottomsum", k, (matrix,))


@dataclass(frozen=True)
class Objective:
    """``f = φ(y)`` for terms ``y_t``; ``phi(y) -> (value, gradient)`` in NumPy."""

    terms: tuple[Term, ...]
    phi: Phi
    name: str = "objective"

    def __post_init__(self):
        terms = tuple(self.terms) if hasattr(self.terms, "__iter__") else self.terms
        if not isinstance(terms, tuple) or not terms or not all(isinstance(t, Term) for t in terms):
            raise TypeError(f"Objective.terms must be a non-empty sequence of Term (Max, Min, TopSum, …), got {self.terms!r}")
        if not callable(self.phi):
            raise TypeError(f"Objective.phi must be callable y -> (value, gradient), got {self.phi!r}")
        object.__setattr__(self, "terms", terms)

    def check(self, K: int, n: int) -> None:
        """Raise unless every term fits a family of ``K`` matrices ``n × n``."""
        for t in self.terms:
            t.check(K, n)

    def evaluate(self, y: np.ndarray) -> tuple[float, np.ndarray]:
        """``φ(y)`` and its gradient, checked: a finite number and a finite vector of ``len(y)``."""
        try:
            f, g = self.phi(y)
        except (TypeError, ValueError) as err:
            if "unpack" not in str(err):
                raise
            raise TypeError(f"{self.name}: phi must return a pair (value, gradient)") from None
        f, g = np.asarray(f), np.asarray(g)
        if f.size != 1 or g.shape != y.shape or np.iscomplexobj(f) or np.iscomplexobj(g):
            raise ValueError(f"{self.name}: phi(y) must return a real number and a real gradient of shape "
                             f"{y.shape}, got shapes {f.shape} and {g.shape}")
        if not (np.isfinite(f).all() and np.isfinite(g).all()):
            raise ValueError(f"{self.name}: phi(y) is not finite at y = {y} (value {f}, gradient {g})")
        return float(f.reshape(())), g.astype(float)

    def values(self, w: np.ndarray) -> np.ndarray:
        return np.array([t.value(w) for t in self.terms])

    def __call__(self, w: np.ndarray) -> float:
        """``f`` from the eigenvalues ``w (K, n)`` of the family."""
        return self.evaluate(self.values(w))[0]

    def scale(self, w: np.ndarray) -> float:
        """``max |λ_i(A_k)|`` over every piece of every term: the size that tolerances are relative
        to (not the whole spectrum, whose far end — high bands, say — is irrelevant to ``f``)."""
        out = 0.0
        for t in self.terms:
            ks, ii, vals = t.pieces(w)
            if t.is_sum:
                vals = w[ks, ii[0]:] if t.kind == "topsum" else w[ks, : ii[0] + 1]
            out = max(out, float(np.abs(vals).max()))
        return out

    def weights(self, y: np.ndarray) -> np.ndarray:
        """Effective weights ``w_t = s_t ∂φ/∂y_t`` (all ``≥ 0`` for a max-type objective)."""
        return self.evaluate(y)[1] * np.array([t.sign for t in self.terms])


def objective_arg(obj, eigenvalue_terms_only: bool = False) -> Objective:
    """``obj`` checked to be an :class:`Objective` (with no sum terms if ``eigenvalue_terms_only``)."""
    if not isinstance(obj, Objective):
        raise TypeError(f"obj must be an Objective (lambda_max(), neg_gap(m), linear([...], [...]), …), got {type(obj).__name__}")
    if eigenvalue_terms_only and any(t.is_sum for t in obj.terms):
        raise NotImplementedError(f"{obj.name}: sum terms (TopSum/BottomSum) are analysed, not optimised or smoothed")
    return obj


def linear(terms: Sequence[Term], coefficients: Sequence[float], name: str = "linear") -> Objective:
    """``f = Σ_t c_t y_t``."""
    terms = tuple(terms)
    c = _checks.real_vector(coefficients, "coefficients", len(terms))
    return Objective(terms, lambda y: (float(c @ y), c), name)


def lambda_max(matrices: Sequence[int] | None = None) -> Objective:
    """Minimise ``max_k λ_max(A_k)``."""
    return linear([Max(-1, matrices)], [1.0], "lambda_max")


def neg_lambda_min(matrices: Sequence[int] | None = None) -> Objective:
    """Maximise ``min_k λ_min(A_k)`` (minimise its negative)."""
    return linear([Min(0, matrices)], [-1.0], "-lambda_min")


def neg_gap(m: int, matrices: Sequence[int] | None = None) -> Objective:
    """Maximise the gap ``min_k λ_{m+1}(A_k) - max_k λ_m(A_k)`` above band ``m`` (1-based)."""
    m = _checks.count(m, "m (the band below the gap, counted from 1)", 1)
    return linear([Max(m - 1, matrices), Min(m, matrices)], [1.0, -1.0], f"-gap({m})")


def neg_gap_midgap(m: int, matrices: Sequence[int] | None = None, squared: bool = False) -> Objective:
    """Maximise the gap–midgap ratio ``2 (b - a) / (b + a)``, ``a = max_k λ_m``, ``b = min_k λ_{m+1}``
    (needs ``a, b > 0``: a ``ValueError`` otherwise). With ``squared=True`` the eigenvalues are squared
    frequencies (Maxwell: ``λ = ω²``) and the ratio is taken in ``ω``: ``2 (√b - √a) / (√b + √a)``."""
    m = _checks.count(m, "m (the band below the gap, counted from 1)", 1)

    def phi(y):
        a, b = y
        if not (a > 0 and b > 0):
            raise ValueError(f"neg_gap_midgap({m}): the gap-midgap ratio needs positive band edges, got "
                             f"a = max λ_{m} = {a:.6g}, b = min λ_{m + 1} = {b:.6g}; use neg_gap for a plain gap")
        if not squared:
            s = a + b
            return -2.0 * (b - a) / s, np.array([4.0 * b / s**2, -4.0 * a / s**2])
        ra, rb = np.sqrt(a), np.sqrt(b)
        s = ra + rb
        return -2.0 * (rb - ra) / s, np.array([2.0 * rb / (ra * s**2), -2.0 * ra / (rb * s**2)])

    return Objective((Max(m - 1, matrices), Min(m, matrices)), phi, f"-gap_midgap({m})")
