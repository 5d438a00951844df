"""A linear map with a hand-written transpose: ``jax.custom_derivatives.linear_call``, plus the
batching rule JAX does not ship for it.

The iterative routines use it for their tangent map ``dθ -> (dλ, dV)``: forward mode evaluates the
map (a JVP of the operator's product, then the projected solves), reverse mode evaluates the given
transpose (the adjoint solves, then ONE VJP of the product), so reverse mode never needs a JVP of
the user's product. The batching rule vmaps both maps, so ``vmap``, ``jacfwd`` and ``jacrev`` work.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax.custom_derivatives import linear_call
from jax.extend.core import jaxpr_as_fun
from jax.interpreters import batching

from jax._src.custom_derivatives import linear_call_p  # no public handle to register a rule

__all__ = ["linear_call"]  # linear_call(fun, fun_transpose, residuals, linear), now batchable


def _batch(args, dims, *, callee, transpose_thunk, num_callee_consts, num_res):
    size = next(a.shape[d] for a, d in zip(args, dims) if d is not None)
    nr = num_callee_consts + num_res
    args = [a if d is None else jnp.moveaxis(a, d, 0) for a, d in zip(args, dims)]
    res, lin = args[:nr], args[nr:]
    # Linear inputs are broadcast outside the new call, so their transposes sum over the batch.
    lin = [a if d is not None else jnp.broadcast_to(a, (size, *a.shape)) for a, d in zip(lin, dims[nr:])]
    raxes = [None if d is None else 0 for d in dims[:nr]]
    t_jaxpr, t_consts = transpose_thunk()
    f, t = jaxpr_as_fun(callee), jaxpr_as_fun(t_jaxpr)

    def fun(r, x):
        return jax.vmap(lambda r, x: f(*r, *x), in_axes=(raxes, 0))(r, x)

    def fun_t(r, ct):
        tr = [*t_consts, *r[num_callee_consts:]]
        axes = [None] * len(t_consts) + raxes[num_callee_consts:]
        return jax.vmap(lambda tr, ct: t(*tr, *ct), in_axes=(axes, 0))(tr, ct)

    out = linear_call(fun, fun_t, res, lin)
    return out, [0] * len(out)


batching.primitive_batchers[linear_call_p] = _batch
