"""JAX registration of the general eigenproblem: one ``custom_jvp`` per routine, whose JVP is the
neutral rule of ``eigengrad._rules.eig``; reverse mode and higher orders come by transposition."""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from .. import _report, _validation
from .._backend import mH
from .._rules import eig as rules
from .._rules.clusters import coupling_defect, inverse_gaps, resolve_rtol
from ._probe import check_tangent, probe
from ._values import as_array, scale_exponent, scaled, unscaled


def _concrete(*xs) -> bool:
    return not any(isinstance(x, jax.core.Tracer) for x in xs)


def _solve(A, left):
    w, V = jnp.linalg.eig(A)
    return (w, mH(rules.inv(V)), V) if left else (w, V)


@partial(jax.jit, static_argnums=(2,))
def _factors(w, V, rtol, Vinv=None):
    """``V^{-1}``, clusters, gap matrix and conditioning in one compiled call (eagerly, each of these
    dozens of small operations would otherwise be compiled and dispatched on its own)."""
    Vinv = rules.inv(V) if Vinv is None else Vinv
    same = rules.eig_clusters(w, rtol)
    return Vinv, same, inverse_gaps(w, same), rules.conditioning(w, Vinv, same)


def _warn_conditioning(w, conditioning, rtol, routine):
    """ConditioningWarning when the matrix is within ``rtol`` of a defective one (jit: at run time)."""
    args = (w, *conditioning)
    report = partial(_report.report_conditioning, rtol=rtol, routine=routine)
    if _concrete(*args):
        report(*(np.asarray(a) for a in args))
    else:  # only a nearly defective matrix goes to the host
        jax.lax.cond(jnp.any(~(conditioning[0] >= rtol)), partial(jax.debug.callback, report, *args), lambda: None)


# The stages of ``rules.eig_jvp`` compiled separately, with the gauge probes between them left
# outside so that their transposes run eagerly (and can raise) in eager reverse mode.
_jvp_values = jax.jit(rules.eig_jvp_values)
_jvp_vectors = jax.jit(rules.eig_jvp_vectors, static_argnums=3)


@jax.jit
def _split(T):
    n = T.shape[-1]
    return T[..., :n, :], T[..., n:, :]


def _coupling(w, V, Vinv, dA, same):
    return coupling_defect(Vinv @ (dA.astype(V.dtype) @ V), w, same)


@partial(jax.custom_jvp, nondiff_argnums=(1, 2, 3))
def _eig(A, rtol, gauge, left):
    return _solve(A, left)


@_eig.defjvp
def _eig_jvp(rtol, gauge, left, primals, tangents):
    (A,), (dA,) = primals, tangents
    out = _eig(A, rtol, gauge, left)
    w, V = out[0], out[-1]
    Vinv, same, F, conditioning = _factors(w, V, rtol, mH(out[1]) if left else None)
    _warn_conditioning(w, conditioning, rtol, "eig")
    check_tangent(_coupling, (w, V, Vinv, dA, same), gauge, "eig")

    W = jnp.concatenate([V, out[1]], axis=-2) if left else V

    def hook(kind, t):
        return probe(t, w, W if kind == "eig_phase" else V, same, kind=kind, mode=gauge, routine="eig")

    dw, M = _jvp_values(V, Vinv, dA, F)
    T = hook("eig_phase", _jvp_vectors(V, Vinv, hook("eig_basis", M), left))
    dw = hook("eig_values", dw)
    if not left:
        return out, (dw, T)
    dV, dVL = _split(T)
    return out, (dw, dVL, dV)


_eigvals_tangent = jax.jit(rules.eigvals_jvp)


@partial(jax.custom_jvp, nondiff_argnums=(1, 2))
def _eigvals(A, rtol, gauge):
    return jnp.linalg.eigvals(A)


@_eigvals.defjvp
def _eigvals_jvp(rtol, gauge, primals, tangents):
    (A,), (dA,) = primals, tangents
    w, V = _eig(A, rtol, gauge, False)  # values and vectors of one solve, so they match
    Vinv, same, _, conditioning = _factors(w, V, rtol)
    _warn_conditioning(w, conditioning, rtol, "eigvals")
    check_tangent(_coupling, (w, V, Vinv, dA, same), gauge, "eigvals", values=True)
    dw = _eigvals_tangent(V, Vinv, dA)
    return w, probe(dw, w, V, same, kind="eig_values", mode=gauge, routine="eigvals")


def _prepare(A, routine):
    """Validated ``A`` and whether to rescale it by a power of two: always when traced, eagerly when
    its entries lie outside ``_validation.needs_scaling``'s range (LAPACK's ``geev`` through JAX is
    inaccurate at ``1e±150``; eigenvalues scale exactly, eigenvectors not at all)."""
    A = as_array(A, "A", routine)
    _validation.check_matrix(A, "A", routine)
    if not _concrete(A):
        return A, True
    amax = _validation.check_values(np.asarray(A), "A", routine, hermitian=False)
    return A, _validation.needs_scaling(amax, A.dtype)


def _empty(A, left):
    """Outputs for an empty batch or ``0 x 0`` matrices (constants)."""
    dtype = jnp.result_type(A.dtype, jnp.complex64)
    w, V = jnp.zeros(A.shape[:-1], dtype), jnp.zeros(A.shape, dtype)
    return (w, V, V) if left else (w, V)


def eig(A, left: bool = False, *, cluster_rtol: float | None = None, gauge: str = "raise"):
    """Eigenvalues and right eigenvectors of a general square ``A`` (``A V = V diag(w)``), and with
    ``left=True`` the left eigenvectors ``VL`` (``VL^H A = diag(w) VL^H``); batched, CPU only (as
    ``jnp.linalg.eig``). Returns ``(w, V)`` or ``(w, VL, V)``, always complex.

    Conventions, honoured by the derivatives: eigenvalues in LAPACK's order (unsorted; a real
    ``A``'s conjugate pairs adjacent, positive imaginary part first), which derivatives assume
    locally constant; each ``v_i`` of unit 2-norm; ``VL = V^{-H}`` so ``VL^H V = I``. Derivatives
    (JVP, VJP, any order, jit, vmap): ``dw_i = vl_i^H dA v_i``, ``dV = V C`` with
    ``C_ij = vl_i^H dA v_j / (w_j - w_i)`` off the diagonal and ``v_j^H dv_j = 0``; pairs in a cluster
    (``|w_i - w_j| <= cluster_rtol * max|w|`` chained, default ``sqrt(eps)``) get no ``1/(w_j - w_i)``,
    exact for losses that see a cluster only through its invariant subspace. A loss depending on
    the phase of ``v_i`` or the basis inside a cluster raises :class:`eigengrad.errors.GaugeError`
    (``gauge="raise"``; ``"warn"``, ``"ignore"``; under ``jit`` it warns). A nearly defective
    ``A`` gets a :class:`eigengrad.errors.ConditioningWarning` with the condition estimate.

    Input checks, exact power-of-two rescaling, empty inputs and the forward-mode warning: as
    :func:`eigengrad.jax.eigh`.

    >>> import jax.numpy as jnp, eigengrad.jax as ej
    >>> w, V = ej.eig(jnp.array([[2.0, 1.0], [0.0, 3.0]]))
    >>> [complex(x) for x in w]
    [(2+0j), (3+0j)]
    """
    _report.check_mode(gauge)
    left = _validation.check_flag(left, "left", "eig")
    A, scale = _prepare(A, "eig")
    rtol = resolve_rtol(cluster_rtol, A)
    if A.size == 0:
        return _empty(A, left)
    e = scale_exponent(A) if scale else None
    out = _eig(scaled(A, e) if scale else A, rtol, gauge, left)
    if left:
        w, VL, V = out
        _warn_conditioning(w, _factors(w, V, rtol, mH(VL))[3], rtol, "eig")
    return (unscaled(out[0], e), *out[1:]) if scale else out


def eigvals(A, *, cluster_rtol: float | None = None, gauge: str = "raise"):
    """Eigenvalues of a general square ``A`` in LAPACK's order (see :func:`eig`), complex;
    ``dw_i = vl_i^H dA v_i`` with ``vl_i^H v_i = 1``. Weighting the eigenvalues of a degenerate
    cluster unequally warns (:class:`eigengrad.errors.DegeneracyWarning`).

    >>> import jax, jax.numpy as jnp, eigengrad.jax as ej
    >>> g = jax.grad(lambda A: ej.eigvals(A).real.sum())(jnp.array([[1.0, 2.0], [3.0, 4.0]]))
    >>> bool(jnp.allclose(g, jnp.eye(2), atol=1e-5))      # d tr(A) / dA = I
    True
    """
    _report.check_mode(gauge)
    A, scale = _prepare(A, "eigvals")
    rtol = resolve_rtol(cluster_rtol, A)
    if A.size == 0:
        return _empty(A, False)[0]
    if not scale:
        return _eigvals(A, rtol, gauge)
    e = scale_exponent(A)
    return unscaled(_eigvals(scaled(A, e), rtol, gauge), e)
