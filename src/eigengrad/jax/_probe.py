"""An identity on tangents whose transpose inspects the cotangent: how a ``custom_jvp`` rule, which
never sees cotangents, still detects gauge-dependent losses in reverse mode.

``probe(t, w, V, same)`` returns ``t``. When JAX transposes it (``grad``, ``vjp``), the cotangent of
``t`` is the cotangent of the eigen-output it stands for, and the check of ``_report`` runs: eagerly
it raises or warns in Python; under ``jit``/``vmap`` (traced values) it warns through
``jax.debug.callback`` at run time, since a compiled backward pass cannot raise.
"""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
from jax.extend.core import Primitive
from jax.interpreters import ad, batching, mlir

from .. import _report
from .._backend import diag_embed, mH
from .._rules import eig as eig_rules
from .._rules import svd as svd_rules
from .._rules.clusters import cluster_spread, skew_defect
from ._values import concrete

probe_p = Primitive("eigengrad_cotangent_probe")


def check_tangent(defect, args, mode: str, routine: str, values: bool = False) -> None:
    """Eager forward mode: ``_report.report_forward`` on ``defect(*args)`` (NumPy), which measures the
    couplings inside clusters that a forward rule drops. Skipped when an argument is traced (``jit``,
    ``vmap``, and the linearisation of reverse mode, whose cotangents the probes check instead)."""
    if mode == "ignore":
        return
    plain = [concrete(a) for a in args]
    if all(p is not None for p in plain):
        _report.report_forward(*defect(*plain), mode, routine, values)


def probe(t, w, V, same, *, kind: str, mode: str, routine: str):
    """Identity in ``t``. ``kind``: ``"vectors"`` (t is dV, shape ..., n, n) or ``"values"`` (dw)."""
    if mode == "ignore":
        return t
    return probe_p.bind(t, w, V, same, kind=kind, mode=mode, routine=routine)


probe_p.def_impl(lambda t, w, V, same, **_: t)
probe_p.def_abstract_eval(lambda t, w, V, same, **_: t)
mlir.register_lowering(probe_p, mlir.lower_fun(lambda t, w, V, same, **_: t, multiple_results=False))


def _jvp(primals, tangents, **params):
    out = probe_p.bind(*primals, **params)
    dt = tangents[0]
    return out, (ad.instantiate_zeros(dt) if type(dt) is ad.Zero else dt)


ad.primitive_jvps[probe_p] = _jvp


def _measure(ct, w, V, same, kind):
    # JAX cotangents of complex outputs are the conjugate of ∂L/∂Re + i ∂L/∂Im.
    return _MEASURES[kind](jnp.conj(ct), w, V, same)


def _transpose(ct, t, w, V, same, *, kind, mode, routine):
    if type(ct) is not ad.Zero:
        args = _measure(ct, w, V, same, kind)
        report, gate = _REPORTS[kind], _GATES[kind]
        if any(isinstance(a, jax.core.Tracer) for a in args):
            traced_mode = "warn" if mode == "raise" else mode
            callback = partial(jax.debug.callback, partial(report, mode=traced_mode, routine=routine), *args)
            jax.lax.cond(gate(*args), callback, lambda: None)  # only a defect goes to the host
        elif bool(gate(*args)):
            report(*(np.asarray(a) for a in args), mode=mode, routine=routine)
    return [ct, None, None, None]


ad.primitive_transposes[probe_p] = _transpose


def _batch(args, dims, **params):
    size = next(a.shape[d] for a, d in zip(args, dims) if d is not None)
    moved = [
        jnp.broadcast_to(a, (size,) + a.shape) if d is None else jnp.moveaxis(a, d, 0)
        for a, d in zip(args, dims)
    ]
    return probe_p.bind(*moved, **params), 0


batching.primitive_batchers[probe_p] = _batch


# Kinds of the general eigenproblem and the SVD (see ``_rules/eig.py`` and ``_rules/svd.py``).
# "eig_basis": t = M = F∘P, ct = M̄; "eig_phase": t = dV or [dV; dVL], V = V or [V; VL];
# "eig_values": t = dw (complex).
# "svd": t = [Ωu; Ωv], same = [cluster mask; zero-cluster block]; "svd_null": t = dU (or dV),
# V = U (or V), same = zero-cluster mask; "svd_values": t = ds, same as for "svd".


def _svd_masks(same):
    k = same.shape[-1]
    return same[..., :k, :], jnp.diagonal(same[..., k:, :], axis1=-2, axis2=-1)


def _measure_svd(bar, s, _, same):
    k = bar.shape[-1]
    same, zero = _svd_masks(same)
    return (s, *svd_rules.svd_gauge_defect(bar[..., :k, :], bar[..., k:, :], same, zero), zero)


def _measure_svd_null(bar, s, U, zero):
    d, scale = svd_rules.svd_null_defect(U, bar, zero)
    return s, diag_embed(d), scale, zero


def _measure_svd_values(bar, s, _, same):
    return (s, *svd_rules.value_defects(jnp.real(bar), *_svd_masks(same)))


def _measure_vectors(bar, w, V, same):
    X = mH(V) @ bar
    return w, skew_defect(X, same), jnp.max(jnp.abs(X), axis=(-2, -1))


_MEASURES = {  # compiled: eagerly, each would otherwise dispatch (and compile) op by op
    "vectors": jax.jit(_measure_vectors),
    "values": jax.jit(lambda bar, w, V, same: (w, cluster_spread(bar, same), jnp.max(jnp.abs(bar), axis=-1))),
    "eig_basis": jax.jit(lambda bar, w, V, same: (w, *eig_rules.basis_defect(bar, same))),
    "eig_phase": jax.jit(lambda bar, w, V, same: (w, *eig_rules.phase_defect(V, bar))),
    "eig_values": jax.jit(
        lambda bar, w, V, same: (w, eig_rules.value_spread(bar, same), jnp.max(jnp.abs(bar), axis=-1))
    ),
    "svd": jax.jit(_measure_svd),
    "svd_null": jax.jit(_measure_svd_null),
    "svd_values": jax.jit(_measure_svd_values),
}


def _exceeds(defect, scale):
    """Any ``defect`` above the gauge tolerance ``sqrt(eps)`` relative to ``scale`` (as ``_report``)."""
    tol = float(np.sqrt(np.finfo(defect.dtype).eps))
    worst = jnp.max(defect, axis=(-2, -1)) if defect.ndim > scale.ndim else defect
    return jnp.any(worst > tol * scale)


_GATES = {  # decided on the device: clean cotangents (the usual case) cost no host transfer
    "vectors": jax.jit(lambda w, defect, scale: _exceeds(defect, scale)),
    "values": jax.jit(lambda w, spread, scale: _exceeds(spread, scale)),
    "eig_basis": jax.jit(lambda w, defect, scale: _exceeds(defect, scale)),
    "eig_phase": jax.jit(lambda w, defect, scale: _exceeds(defect, scale)),
    "eig_values": jax.jit(lambda w, spread, scale: _exceeds(spread, scale)),
    "svd": jax.jit(lambda s, defect, scale, zero: _exceeds(defect, scale)),
    "svd_null": jax.jit(lambda s, defect, scale, zero: _exceeds(defect, scale)),
    "svd_values": jax.jit(lambda s, spread, at_zero, scale: _exceeds(spread, scale) | _exceeds(at_zero, scale)),
}
_REPORTS = {
    "vectors": _report.report_vectors,
    "values": _report.report_values,
    "eig_basis": _report.report_vectors,
    "eig_phase": _report.report_vectors,
    "eig_values": _report.report_values,
    "svd": _report.report_svd,
    "svd_null": _report.report_svd,
    "svd_values": _report.report_singular_values,
}
