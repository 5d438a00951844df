"""JAX registration of the Hermitian rules: ``custom_jvp`` gives forward, reverse (by transposition)
and higher derivatives from one JVP formula in ``eigengrad._rules.eigh``."""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from .. import _forward, _report, _validation
from .._backend import herm, mH
from .._rules import eigh as rules
from .._rules.clusters import coupling_defect, inverse_gaps, resolve_rtol, sorted_clusters
from ._probe import check_tangent, probe
from ._values import as_array, concrete, scale_exponent, scaled, unscaled


def _coupling(w, V, dA, same):
    return coupling_defect(mH(V) @ dA @ V, w, same)


def _pencil_coupling(w, V, dA, dB, same):
    return coupling_defect(mH(V) @ dA @ V - (mH(V) @ dB @ V) * w[..., None, :], w, same)


@partial(jax.custom_jvp, nondiff_argnums=(1, 2))
def _eigh(A, rtol, gauge):
    return _forward.eigh(A)


@_eigh.defjvp
def _eigh_jvp(rtol, gauge, primals, tangents):
    (A,), (dA,) = primals, tangents
    w, V = _eigh(A, rtol, gauge)
    same = sorted_clusters(w, rtol)
    check_tangent(_coupling, (w, V, dA, same), gauge, "eigh")
    dw, dV = rules.eigh_jvp(w, V, dA, inverse_gaps(w, same))
    dw = probe(dw, w, V, same, kind="values", mode=gauge, routine="eigh")
    dV = probe(dV, w, V, same, kind="vectors", mode=gauge, routine="eigh")
    return (w, V), (dw, dV)


@partial(jax.custom_jvp, nondiff_argnums=(1, 2))
def _eigvalsh(A, rtol, gauge):
    return _forward.eigh(A)[0]


@_eigvalsh.defjvp
def _eigvalsh_jvp(rtol, gauge, primals, tangents):
    (A,), (dA,) = primals, tangents
    w, V = _eigh(A, rtol, gauge)
    same = sorted_clusters(w, rtol)
    check_tangent(_coupling, (w, V, dA, same), gauge, "eigvalsh", values=True)
    dw = jnp.real(jnp.sum(jnp.conj(V) * (dA @ V), axis=-2))  # Re diag(V^H dA V), one product
    return w, probe(dw, w, V, same, kind="values", mode=gauge, routine="eigvalsh")


@partial(jax.custom_jvp, nondiff_argnums=(2, 3))
def _geigh(A, B, rtol, gauge):
    return _forward.geigh(A, B)


@_geigh.defjvp
def _geigh_jvp(rtol, gauge, primals, tangents):
    (A, B), (dA, dB) = primals, tangents
    w, V = _geigh(A, B, rtol, gauge)
    same = sorted_clusters(w, rtol)
    check_tangent(_pencil_coupling, (w, V, dA, dB, same), gauge, "eigh(A, B)")
    known = concrete(same)  # V^H A V only where clusters exist (always under jit)
    L = None if known is not None and known.sum() == known.size // max(known.shape[-1], 1) else mH(V) @ A @ V
    dw, dV = rules.geigh_jvp(w, V, dA, dB, inverse_gaps(w, same), same, L)
    dw = probe(dw, w, V, same, kind="values", mode=gauge, routine="eigh(A, B)")
    dV = probe(dV, w, V, same, kind="vectors", mode=gauge, routine="eigh(A, B)")
    return (w, V), (dw, dV)


def _prepare(A, B, routine):
    """Validated ``A`` (and ``B``, promoted and broadcast), and whether to rescale them: always when
    traced, and eagerly when an entry size lies outside ``_validation.needs_scaling``'s range."""
    A = as_array(A, "A", routine)
    _validation.check_matrix(A, "A", routine)
    if B is not None:
        B = as_array(B, "B", routine)
        _validation.check_matrix(B, "B", routine)
        _validation.check_pair(A, B, routine)
        dtype = np.promote_types(A.dtype, B.dtype)
        A, B = A.astype(dtype), B.astype(dtype)
        batch = np.broadcast_shapes(A.shape[:-2], B.shape[:-2])
        A = jnp.broadcast_to(A, batch + A.shape[-2:])
        B = jnp.broadcast_to(B, batch + B.shape[-2:])
    scale = False
    for M, name in ((A, "A"), (B, "B")):
        value = None if M is None else concrete(M)
        if value is not None:
            amax = _validation.check_values(value, name, routine, hermitian=True)
            scale = scale or _validation.needs_scaling(amax, value.dtype)
        elif M is not None:
            scale = True
    return A, B, scale


def _empty(A):
    """Eigenvalues and eigenvectors of an empty batch or ``0 x 0`` matrices (constants)."""
    return jnp.zeros(A.shape[:-1], jnp.finfo(A.dtype).dtype), jnp.zeros(A.shape, A.dtype)


def _check_finite(w, routine):
    """Eagerly: eigenvalues that overflow the floating range (entries near its top) are an error."""
    value = concrete(w)
    if value is not None and not np.all(np.isfinite(value)):
        raise OverflowError(
            f"{routine}: eigenvalues exceed the largest {value.dtype} number; rescale the input."
        )


def _solve(A, B, rtol, gauge, scale, routine):
    """``(w, V)`` of ``herm(A)`` or of the pencil, rescaled by powers of two when ``scale`` (exact:
    no overflow in ``(A + A^H)/2`` near the top of the range, no underflow at the bottom)."""
    if B is None:
        if not scale:
            return _eigh(herm(A), rtol, gauge)
        e = scale_exponent(A)
        w, V = _eigh(herm(scaled(A, e)), rtol, gauge)
        return unscaled(w, e), V
    ea = scale_exponent(A) if scale else None
    eb = scale_exponent(B, even=True) if scale else None
    As, Bs = (scaled(A, ea), scaled(B, eb)) if scale else (A, B)
    w, V = _geigh(herm(As), herm(Bs), rtol, gauge)
    value = concrete(w)
    if value is not None and not np.all(np.isfinite(value)):  # JAX's Cholesky gives NaN on failure
        raise _validation.not_positive_definite(routine)
    if scale:  # As v = λs Bs v: λ = λs 2^(ea - eb); Vs^H Bs Vs = I: V = Vs 2^(-eb/2)
        w = unscaled(unscaled(w, ea), -eb)
        V = unscaled(V, -eb // 2)
    return w, V


def eigh(A, B=None, *, cluster_rtol: float | None = None, gauge: str = "raise"):
    """Eigenvalues (ascending) and eigenvectors (columns) of a Hermitian ``A``, or of the
    Hermitian-definite pencil ``A v = λ B v`` with ``V^H B V = I``; batched over leading axes.

    The input is read as ``herm(A) = (A + A^H)/2`` (after a check that it is Hermitian to
    ``sqrt(eps)``), so derivatives are Hermitian matrices. Derivatives (JVP, VJP, any order):
    ``dλ_i = v_i^H (dA - λ_i dB) v_i``; eigenvector derivatives drop ``1/(λ_j - λ_i)`` inside
    clusters of eigenvalues closer than ``cluster_rtol * max|λ|`` (default ``sqrt(eps)``), which is
    exact for every loss that sees a cluster only through its subspace. A loss that depends on the
    gauge (a phase, a basis inside a cluster) raises :class:`eigengrad.errors.GaugeError`
    (``gauge="raise"``), warns (``"warn"``), or is accepted (``"ignore"``); under ``jit`` the check
    warns through ``jax.debug.callback``.

    Input: a dense float32/float64/complex64/complex128 array (integer and half precision inputs,
    sparse matrices, non-finite entries and malformed options raise an error naming the argument).
    Homogeneity is exploited: matrices with entries outside ``2^±(emax/8)`` (always under ``jit``)
    are rescaled by a power of two, exactly, so every scale from the bottom to the top of the range
    is accurate; results beyond the range raise ``OverflowError``. Empty inputs give empty results.
    Forward mode warns (:class:`eigengrad.errors.GaugeWarning`, eagerly) when a tangent couples two
    resolved members of one cluster, a coupling the rule drops.

    >>> import jax.numpy as jnp, eigengrad.jax as ej
    >>> w, V = ej.eigh(jnp.array([[2.0, 1.0], [1.0, 2.0]]))
    >>> [round(float(x), 6) for x in w]
    [1.0, 3.0]
    """
    routine = "eigh" if B is None else "eigh(A, B)"
    _report.check_mode(gauge)
    A, B, scale = _prepare(A, B, routine)
    rtol = resolve_rtol(cluster_rtol, A)
    if A.size == 0:
        return _empty(A)
    w, V = _solve(A, B, rtol, gauge, scale, routine)
    _check_finite(w, routine)
    return w, V


def eigvalsh(A, B=None, *, cluster_rtol: float | None = None, gauge: str = "raise"):
    """Eigenvalues (ascending) of Hermitian ``A`` or of the pencil ``(A, B)``; see :func:`eigh`.

    ``dλ_i = v_i^H (dA - λ_i dB) v_i``; a loss weighting the eigenvalues of a degenerate cluster
    unequally is not differentiable there and gets a :class:`~eigengrad.errors.DegeneracyWarning`.

    >>> import jax, jax.numpy as jnp, eigengrad.jax as ej
    >>> g = jax.grad(lambda A: ej.eigvalsh(A).sum())(jnp.eye(3))   # d tr(A) / dA = I
    >>> bool(jnp.allclose(g, jnp.eye(3)))
    True
    """
    if B is not None:
        return eigh(A, B, cluster_rtol=cluster_rtol, gauge=gauge)[0]
    _report.check_mode(gauge)
    A, _, scale = _prepare(A, None, "eigvalsh")
    rtol = resolve_rtol(cluster_rtol, A)
    if A.size == 0:
        return _empty(A)[0]
    if not scale:
        return _eigvalsh(herm(A), rtol, gauge)
    e = scale_exponent(A)
    w = unscaled(_eigvalsh(herm(scaled(A, e)), rtol, gauge), e)
    _check_finite(w, "eigvalsh")
    return w
