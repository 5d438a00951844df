"""A linear map with a hand-written transpose: ``jax.custom_derivatives.linear_call``, plus the
batching rule JAX does not ship for it.

The iterative routines use it for their tangent map ``dθ -> (dλ, dV)``: forward mode evaluates the
map (a JVP of the operator's product, then the projected solves), reverse mode evaluates the given
transpose (the adjoint solves, then ONE VJP of the product), so reverse mode never needs a JVP of
the user's product. The batching rule vmaps both maps, so ``vmap``, ``jacfwd`` and ``jacrev`` work.
``first_order`` marks the map's residuals so that a second derivative raises a clear error.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
from jax.custom_derivatives import linear_call
from jax.extend.core import Primitive, jaxpr_as_fun
from jax.interpreters import ad, batching, mlir

from jax._src.custom_derivatives import linear_call_p  # no public handle to register a rule

__all__ = ["first_order", "linear_call"]  # linear_call(fun, fun_transpose, residuals, linear), now batchable


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


# The residuals of the tangent map (eigenpairs, operator arrays) must not carry tangents themselves:
# that would be a second derivative, which the hand-written transpose does not provide.
first_order_p = Primitive("eigengrad_first_order")
first_order_p.def_impl(lambda x, *, routine: x)
first_order_p.def_abstract_eval(lambda x, *, routine: x)
mlir.register_lowering(first_order_p, mlir.lower_fun(lambda x, *, routine: x, multiple_results=False))
batching.primitive_batchers[first_order_p] = lambda args, dims, *, routine: (
    first_order_p.bind(*args, routine=routine), dims[0])


def _second_order(primals, tangents, *, routine):
    raise NotImplementedError(
        f"{routine}: second derivatives (hessian, jacfwd of grad, jvp of jvp) are not supported: the "
        "derivative's linear solves are not differentiated again. Use dense eigh/eig for second "
        "derivatives, or differentiate once.")


ad.primitive_jvps[first_order_p] = _second_order


def first_order(tree: Any, routine: str) -> Any:
    """``tree`` unchanged; differentiating its floating leaves raises (a second derivative)."""
    def mark(x):
        return first_order_p.bind(x, routine=routine) if jnp.issubdtype(jnp.result_type(x), jnp.inexact) else x
    return jax.tree_util.tree_map(mark, tree)
