"""JAX registration of the thin SVD: ``custom_jvp`` with the neutral rule of ``eigengrad._rules.svd``;
reverse mode and higher orders by transposition."""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from .. import _report, _validation
from .._backend import mH
from .._rules import svd as rules
from .._rules.clusters import resolve_rtol
from ._probe import check_tangent, probe
from ._values import as_array, scale_exponent, scaled, unscaled


def _concrete(*xs) -> bool:
    return not any(isinstance(x, jax.core.Tracer) for x in xs)


# The stages of ``rules.svd_jvp`` compiled separately, with the gauge probes between them left
# outside so that their transposes run eagerly (and can raise) in eager reverse mode.
@jax.jit
def _jvp_core(U, s, V, dA, Fm, G, sinv):
    """``(O = [Ωu; Ωv], ds, Ru, Rv)``: the Ω blocks stacked for one probe."""
    Ou, Ov, ds, Ru, Rv = rules.svd_jvp_core(U, s, V, dA, Fm, G, sinv)
    return jnp.concatenate([Ou, Ov], axis=-2), ds, Ru, Rv


@jax.jit
def _jvp_vectors(U, V, O, Ru, Rv):
    k = U.shape[-1]
    return rules.svd_jvp_vectors(U, V, O[..., :k, :], O[..., k:, :], Ru, Rv)
_mH = jax.jit(mH)


@partial(jax.custom_jvp, nondiff_argnums=(1, 2))
def _svd(A, rtol, gauge):
    return tuple(jnp.linalg.svd(A, full_matrices=False))


@partial(jax.jit, static_argnums=(1,))
def _factors(s, rtol):
    """Cluster masks (``stacked = [same; zero block]`` for the probes), ``Fm``, ``G`` and ``S⁺``,
    compiled as one call."""
    same, zero = rules.svd_clusters(s, rtol)
    stacked = jnp.concatenate([same, zero[..., :, None] & zero[..., None, :]], axis=-2)
    return same, zero, stacked, *rules.gap_factors(s, same, zero)


@_svd.defjvp
def _svd_jvp(rtol, gauge, primals, tangents):
    (A,), (dA,) = primals, tangents
    U, s, Vh = _svd(A, rtol, gauge)
    same, zero, stacked, Fm, G, sinv = _factors(s, rtol)
    V = _mH(Vh)
    check_tangent(rules.svd_coupling_defect, (U, s, V, dA, same, zero), gauge, "svd")

    def hook(kind, t):
        if kind == "svd":
            return probe(t, s, U, stacked, kind="svd", mode=gauge, routine="svd")
        return probe(t, s, U if kind == "svd_null_u" else V, zero, kind="svd_null", mode=gauge, routine="svd")

    O, ds, Ru, Rv = _jvp_core(U, s, V, dA, Fm, G, sinv)
    dU, dV = _jvp_vectors(U, V, hook("svd", O), Ru, Rv)
    dU = dU if Ru is None else hook("svd_null_u", dU)
    dVh = _mH(dV if Rv is None else hook("svd_null_v", dV))
    ds = probe(ds, s, U, stacked, kind="svd_values", mode=gauge, routine="svd")
    return (U, s, Vh), (dU, ds, dVh)


@partial(jax.custom_jvp, nondiff_argnums=(1, 2))
def _svdvals(A, rtol, gauge):
    return jnp.linalg.svd(A, full_matrices=False, compute_uv=False)  # never the full U


@_svdvals.defjvp
def _svdvals_jvp(rtol, gauge, primals, tangents):
    (A,), (dA,) = primals, tangents
    U, s, Vh = _svd(A, rtol, gauge)  # values and vectors of one solve, so they match
    same, zero, stacked = _factors(s, rtol)[:3]
    check_tangent(rules.svd_coupling_defect, (U, s, _mH(Vh), dA, same, zero), gauge, "svdvals", values=True)
    ds = jnp.real(jnp.sum(jnp.conj(U) * (dA.astype(U.dtype) @ jnp.conj(jnp.swapaxes(Vh, -1, -2))), axis=-2))
    return s, probe(ds, s, U, stacked, kind="svd_values", mode=gauge, routine="svdvals")


def _prepare(A, routine, full_matrices):
    """Validated ``A`` and whether to rescale it by a power of two (see ``_eig._prepare``)."""
    _validation.check_thin_svd(full_matrices, routine)
    A = as_array(A, "A", routine)
    _validation.check_matrix(A, "A", routine, square=False)
    if not _concrete(A):
        return A, True
    amax = _validation.check_values(np.asarray(A), "A", routine, hermitian=False)
    return A, _validation.needs_scaling(amax, A.dtype)


def _empty(A):
    """Thin SVD of an empty batch or of matrices with a zero dimension (constants)."""
    m, n = A.shape[-2:]
    k, batch = min(m, n), A.shape[:-2]
    real = jnp.finfo(A.dtype).dtype
    return jnp.zeros(batch + (m, k), A.dtype), jnp.zeros(batch + (k,), real), jnp.zeros(batch + (k, n), A.dtype)


def svd(A, full_matrices: bool = False, *, cluster_rtol: float | None = None, gauge: str = "raise"):
    """Thin SVD ``A = U diag(s) Vh`` of an ``m x n`` matrix (tall, wide or square; real or complex;
    batched): ``U`` ``m x k``, ``s`` descending, ``Vh`` ``k x n``, ``k = min(m, n)``.

    Derivatives (JVP, VJP, any order, jit, vmap) keep ``U^H U = V^H V = I`` and split the phase of
    each pair ``(u_i, v_i)`` evenly. Singular values closer than ``cluster_rtol * s_max`` (default
    ``sqrt(eps)``) form clusters without ``1/(s_j² - s_i²)``, exact for losses invariant to a
    common rotation inside a cluster; the cluster of singular values ``<= cluster_rtol * s_max`` is
    treated as zero (``S⁺ = 0``), exact for losses blind to its undetermined singular vectors (such
    as ``U diag(f(s)) Vh`` with ``f(0) = 0``). Other losses raise
    :class:`eigengrad.errors.GaugeError` (``gauge="raise"``; ``"warn"``, ``"ignore"``; under ``jit``
    they warn), naming the phase, cluster or zero singular value at fault.

    Input checks, exact power-of-two rescaling, empty inputs and the forward-mode warning: as
    :func:`eigengrad.jax.eigh`.

    >>> import jax.numpy as jnp, eigengrad.jax as ej
    >>> U, s, Vh = ej.svd(jnp.array([[3.0, 0.0], [0.0, 4.0], [0.0, 0.0]]))
    >>> [float(x) for x in s]
    [4.0, 3.0]
    """
    _report.check_mode(gauge)
    A, scale = _prepare(A, "svd", full_matrices)
    rtol = resolve_rtol(cluster_rtol, A)
    if A.size == 0:
        return _empty(A)
    if not scale:
        return _svd(A, rtol, gauge)
    e = scale_exponent(A)
    U, s, Vh = _svd(scaled(A, e), rtol, gauge)
    return U, unscaled(s, e), Vh


def svdvals(A, *, cluster_rtol: float | None = None, gauge: str = "raise"):
    """Singular values of ``A``, descending (see :func:`svd`): ``ds_i = Re u_i^H dA v_i``. Weighting
    the values of one cluster unequally, or a zero singular value at all (a kink of ``|x|``), warns
    with :class:`eigengrad.errors.DegeneracyWarning`.

    >>> import jax, jax.numpy as jnp, eigengrad.jax as ej
    >>> g = jax.grad(lambda A: (ej.svdvals(A) ** 2).sum())(jnp.array([[1.0, 2.0], [3.0, 4.0]]))
    >>> bool(jnp.allclose(g, 2 * jnp.array([[1.0, 2.0], [3.0, 4.0]])))   # d |A|_F² / dA = 2A
    True
    """
    _report.check_mode(gauge)
    A, scale = _prepare(A, "svdvals", False)
    rtol = resolve_rtol(cluster_rtol, A)
    if A.size == 0:
        return _empty(A)[1]
    if not scale:
        return _svdvals(A, rtol, gauge)
    e = scale_exponent(A)
    return unscaled(_svdvals(scaled(A, e), rtol, gauge), e)
