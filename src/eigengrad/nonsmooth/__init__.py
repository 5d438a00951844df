"""Eigenvalue optimisation through crossings (docs/derivations.md §6.3–§6.5), framework-neutral.

Objects: a :class:`~.family.Family` (``θ ↦ A_k(θ), B_k(θ)`` with a batched VJP; the front ends
``eigengrad.jax.nonsmooth`` / ``eigengrad.torch.nonsmooth`` build one from a function, and
:class:`AffineFamily` is a NumPy one) and an :class:`Objective` ``f = φ(y)`` of terms
``y_t = max_k λ_i(A_k)`` or ``min_k λ_i(A_k)`` (or a sum of the k largest/smallest eigenvalues of
one matrix), to be minimised.

Functions: :func:`structure` (active clusters), :func:`directional_derivative` (exact ``f'(θ; d)``),
:func:`min_norm_subgradient` (Clarke min-norm element, steepest descent, certificate),
:func:`minimize` (cluster-model optimizer, ``"steepest"`` and naive ``"gradient"`` for comparison),
:func:`minimize_lse` and the value-and-gradient functions of the smooth stand-ins. See docs/nonsmooth.md.
"""

from . import sdpa
from ._blas import blas_threads
from .analysis import ClusterInfo, Structure, Subgradient, directional_derivative, min_norm_subgradient, structure
from .family import AffineFamily, Family, Linearization
from .objectives import (
    BottomSum,
    Max,
    Min,
    Objective,
    Term,
    TopSum,
    lambda_max,
    linear,
    neg_gap,
    neg_gap_midgap,
    neg_lambda_min,
)
from .optimize import History, Result, minimize
from .smooth import lse_value_and_grad, minimize_lse, top_k_sum_value_and_grad

__all__ = [
    "AffineFamily", "BottomSum", "ClusterInfo", "TopSum", "blas_threads", "Family", "History", "Linearization", "Max", "Min", "Objective",
    "Result", "Structure", "Subgradient", "Term", "directional_derivative", "lambda_max", "linear",
    "lse_value_and_grad", "min_norm_subgradient", "minimize", "minimize_lse", "neg_gap",
    "neg_gap_midgap", "neg_lambda_min", "sdpa", "structure", "top_k_sum_value_and_grad",
]
