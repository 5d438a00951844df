"""PyTorch registration of the truncated eigensolvers ``eigsh`` and ``eigs`` (k eigenpairs of a
dense, sparse or matrix-free operator). The solve, its checks and the derivative maps live once in
``eigengrad._iterative`` (typed options, the solver chosen from what the operator allows); here an
``autograd.Function`` registers them: its backward solves the adjoint systems and then calls
``torch.autograd.grad`` through the operator's product ONCE, with the whole block of adjoint vectors
(docs/derivations.md §5). Nothing is
differentiated through the iterations. Forward mode (``jvp``) solves the transposed systems
(``partial.hermitian_jvp``, ``partial.general_jvp``) after ONE JVP of the product at the block
``V`` (``dA V``), for every operator form PyTorch's forward AD accepts (not sparse tensors).
``torch.func``: ``grad``/``jvp`` for tensors and SciPy operators, ``vmap`` by a loop over the batch
(the solvers test the data); matrix-free operators (whose derivatives need ``torch.autograd`` through
the function) and derivatives under ``vmap`` raise. Dense inputs with leading batch axes are solved
one matrix at a time by the front ends.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Callable, Sequence

import numpy as np
import torch

from .._iterative import config, driver
from .._solvers.batch import over_batch
from .._solvers.report import NAN_TANGENTS, EigInfo, adjoint, cut, simple
from ._function import plain_mode, readable
from ._operators import Operator, as_operator, host_operator

__all__ = ["EigInfo", "eigs", "eigsh"]


@contextmanager
def _one_thread(n: int, m: int):
    """The solvers run many small operations on (n, m) blocks; torch's intra-op threads fork and join
    on each (LOBPCG at n = 4096 on a loaded 2-core box: 68.6 s with 2 threads, 3.5 s with 1;
    benchmarks/results/solvers.md). One thread below 2**22 entries."""
    if n * m >= 1 << 22:
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _np(x: torch.Tensor) -> np.ndarray:
    return x.detach().cpu().numpy()


def _start(n: int, m: int, dtype: torch.dtype, device, v0) -> torch.Tensor:
    if v0 is not None:
        v0 = torch.as_tensor(v0)
        if v0.shape[0] != n or v0.ndim > 2:
            raise ValueError(f"v0 must have shape (n,) or (n, j) with n = {n}, got {tuple(v0.shape)}")
        v0 = v0.to(dtype=dtype, device=device)
    with plain_mode():  # a constant, also under torch.func.vmap (which refuses random operations)
        return driver.start_block(torch.empty(0, dtype=dtype), n, m, v0, device=device)


def _operators(A, B, n, dtype, params, hermitian, routine):
    opA = as_operator(A, n=n, dtype=dtype, params=params, hermitian=hermitian, name="A", routine=routine)
    opB = None if B is None else as_operator(B, n=opA.n, dtype=dtype, params=None, hermitian=True, name="B",
                                             routine=routine)
    dt = opA.dtype if opB is None else torch.promote_types(opA.dtype, opB.dtype)
    dt = dt if dtype is None else torch.promote_types(dt, dtype)
    if not (dt.is_floating_point or dt.is_complex):
        raise TypeError(f"{routine}: the operator has dtype {dt}; use a floating or complex dtype")
    if opB is not None and opB.n != opA.n:
        raise ValueError(f"{routine}: A is {opA.n}x{opA.n} but B is {opB.n}x{opB.n}")
    return opA, opB, dt


def _probe(ops, X0, hermitian: bool, routine: str) -> None:
    """``driver.check_inputs`` on plain CPU copies (skipped behind torch.func transforms)."""
    opA, opB, T = ops
    tensors = [p for op in (opA, opB) if op is not None for p in op.params]
    if readable(*tensors, X0) is None or any(torch._C._functorch.is_functorch_wrapped_tensor(t) for t in tensors):
        return
    with plain_mode():
        driver.check_inputs(*(_cpu(f, X0.device) for f in (opA.apply, None if opB is None else opB.apply, T)), _np(X0),
                            hermitian=hermitian, check_A=opA.kind != "dense", routine=routine)


def _cpu(f, device):
    """``f`` on NumPy blocks (the probe's arrays), computed on ``device``."""
    return None if f is None else (lambda X: _np(torch.as_tensor(f(torch.as_tensor(X, device=device)))))


def _device(op: Operator):
    return op.params[0].device if op.params else torch.device("cpu")


def _problem(ops, dt: torch.dtype, n: int, has_B: bool, has_T: bool) -> config.Problem:
    """Host: every tensor on the CPU and readable (not behind a torch.func transform)."""
    tensors = [p for op in ops if op is not None for p in op.params]
    host = all(t.device.type == "cpu" for t in tensors) and readable(*tensors) is not None and not any(
        torch._C._functorch.is_functorch_wrapped_tensor(t) for t in tensors)
    rdt = torch.empty((), dtype=dt).real.dtype
    return config.Problem(n=n, real_bits=torch.finfo(rdt).bits, complex=dt.is_complex, has_B=has_B, has_T=has_T,
                          host=bool(host))


_VMAP_DERIVATIVES = (
    "derivatives inside torch.func.vmap (jacrev, jacfwd, hessian, vmap of grad or jvp) are not "
    "supported: the adjoint and tangent solves stop on tests of the data, which vmap cannot batch. "
    "Take torch.func.grad / torch.func.jvp one cotangent or direction at a time, or pass A with "
    "leading batch axes (the front end loops over them) and use torch.autograd.")


def _plain(routine: str, *tensors):
    """The plain values behind ``tensors`` (also inside torch.func.grad/jvp) for the host checks;
    under vmap the solves cannot run, so this raises."""
    got = readable(*tensors)
    if got is None:
        raise NotImplementedError(f"{routine}: {_VMAP_DERIVATIVES}")
    return got


def _host(routine: str, *tensors) -> list:
    """``tensors`` as NumPy arrays (see :func:`_plain`)."""
    got = _plain(routine, *tensors)
    with plain_mode():
        return [_np(t) for t in got]


def _bind(opA: Operator, opB: Operator | None, params: Sequence[torch.Tensor]):
    nA = len(opA.params)
    return opA.bind(params[:nA]), None if opB is None else opB.bind(params[nA:])


def _vmap_loop(fn, info, in_dims, args):
    """``vmap`` rule of the solvers (whose iterations test the data): one solve per batch entry."""
    outs = [fn.apply(*[a.select(d, i) if isinstance(a, torch.Tensor) and d is not None else a
                       for a, d in zip(args, in_dims)]) for i in range(info.batch_size)]
    return tuple(torch.stack(o) for o in zip(*outs)), (0,) * len(outs[0])


def _undefined(cfg, w, gap, routine, report):
    """``(k,)`` mask of the pairs with no tangent (a cut cluster; eigs: a non-simple eigenvalue):
    NaN tangents with a ``DegeneracyWarning``; their right-hand sides are zeroed."""
    w0, gap0 = _plain(routine, w, gap)
    with plain_mode():
        bad = driver.undefined_pairs(cfg, w0, gap0)
        report(_np(w0), _np(gap0), _np(bad), rtol=cfg.rtol, mode="warn", routine=routine + NAN_TANGENTS)
    return bad


class _FirstOrder(torch.autograd.Function):
    """The identity on a gradient, tied to the outputs ``w, V`` of the solve: differentiating the
    gradient again (double backward, nested torch.func.grad) reaches its backward, which raises,
    instead of treating the adjoint solves as constants."""

    @staticmethod
    def forward(routine, g, *outputs):
        return g.clone()

    @staticmethod
    def setup_context(ctx, inputs, output):
        ctx.routine = inputs[0]

    @staticmethod
    def backward(ctx, *_):
        raise NotImplementedError(
            f"{ctx.routine}: second derivatives (double backward, hessian, nested grad) are not supported: "
            "the adjoint solves are not differentiated. Use dense eigh/eig for second derivatives.")

    jvp = backward


def _first_order(routine: str, grads: tuple, *outputs) -> tuple:
    """``grads``, guarded by :class:`_FirstOrder` where a graph of the backward pass is recorded."""
    if not torch.is_grad_enabled():
        return grads
    return tuple(None if g is None else _FirstOrder.apply(routine, g, *outputs) for g in grads)


def _checked(cfg, s: driver.Solved, routine: str) -> tuple:
    driver.check_forward(cfg, _np(s.w), _np(s.V), _np(s.res), _np(s.gram), int(s.iters), mode=cfg.on_failure,
                         routine=routine)
    # own storage: outputs must not be views (forward-mode AD)
    return s.w.clone(), s.V.clone(), s.res, s.gap, torch.as_tensor(s.iters)


def _adjoint_report(cfg, inf, routine):
    res, iters = _host(routine, inf.res, torch.as_tensor(inf.iters))
    adjoint(res, int(iters), tol=cfg.adjoint_tol, mode=cfg.on_failure, routine=routine)


def _host_system(cfg, opA: Operator, opB: Operator | None, T, w: torch.Tensor, V: torch.Tensor):
    """``driver.host_system`` for operators whose values are plain CPU tensors or SciPy matrices."""
    ops = (opA, opB)
    if not _problem(ops, V.dtype, opA.n, opB is not None, T is not None).host:
        return None
    return driver.host_system(cfg, T, _np(w), lambda: tuple(None if op is None else host_operator(op, V.dtype)
                                                            for op in ops), fallback=True)


class _Eigsh(torch.autograd.Function):
    @staticmethod
    def forward(cfg: config.HermitianConfig, opA: Operator, opB: Operator | None, T, X0: torch.Tensor, *params):
        opA, opB = _bind(opA, opB, params)
        with torch.no_grad(), _one_thread(*X0.shape):
            s = driver.solve_hermitian(
                cfg, opA.apply, None if opB is None else opB.apply, T, X0,
                host=lambda: (host_operator(opA, X0.dtype), None if opB is None else host_operator(opB, X0.dtype)))
        return _checked(cfg, s, "eigsh")

    @staticmethod
    def setup_context(ctx, inputs, output):
        cfg, opA, opB, T, _, *params = inputs
        w, V, res, gap, its = output
        ctx.cfg, ctx.T = cfg, T
        ctx.opA, ctx.opB = _bind(opA, opB, params)
        ctx.set_materialize_grads(False)
        ctx.save_for_backward(w, V, gap)
        ctx.save_for_forward(w, V, gap)
        ctx.mark_non_differentiable(res, gap, its)

    @staticmethod
    def vmap(info, in_dims, *args):
        return _vmap_loop(_Eigsh, info, in_dims, args)

    @staticmethod
    def backward(ctx, wbar, Vbar, _res, _gap, _its):
        w, V, gap = ctx.saved_tensors
        cfg, opA, opB = ctx.cfg, ctx.opA, ctx.opB
        routine = "eigsh"
        wbar = torch.zeros_like(w) if wbar is None else wbar.real
        Vbar = torch.zeros_like(V) if Vbar is None else Vbar
        w0, V0, gap0, wbar0, Vbar0 = _plain(routine, w, V, gap, wbar, Vbar)
        with plain_mode():
            if cfg.gauge != "ignore":
                driver.report_hermitian(*map(_np, driver.hermitian_measures(cfg, w0, V0, wbar0, Vbar0)),
                                        mode=cfg.gauge, routine=routine)
            cut(_np(w0), _np(gap0), _np(driver.touched(wbar0, Vbar0)), rtol=cfg.rtol, mode="raise", routine=routine)
        with torch.no_grad(), _one_thread(*V.shape):
            a, b, inf = driver.hermitian_adjoint(cfg, opA.apply, None if opB is None else opB.apply, ctx.T, w0.detach(),
                                                 V0.detach(), wbar0.detach(), Vbar0.detach(),
                                                 host=_host_system(cfg, opA, opB, ctx.T, w0, V0))
        _adjoint_report(cfg, inf, routine)
        grads = opA.cotangent(V, a) + (() if opB is None else opB.cotangent(V, b))
        return (None, None, None, None, None, *_first_order(routine, grads, w, V))

    @staticmethod
    def jvp(ctx, _cfg, _opA, _opB, _T, _X0, *dparams):
        w, V, gap = ctx.saved_tensors
        cfg, opA, opB = ctx.cfg, ctx.opA, ctx.opB
        routine = "eigsh"
        _plain(routine, *(d for d in dparams if d is not None))
        nA = len(opA.params)
        dAV = opA.tangent(V, dparams[:nA])
        dBV = None if opB is None else opB.tangent(V, dparams[nA:])
        bad = _undefined(cfg, w, gap, routine, cut)
        with torch.no_grad(), _one_thread(*V.shape):
            dw, dV, inf = driver.hermitian_tangent(cfg, opA.apply, None if opB is None else opB.apply, ctx.T, w, V,
                                                   torch.zeros_like(V) if dAV is None else dAV, dBV, bad,
                                                   host=_host_system(cfg, opA, opB, ctx.T, w, V))
        _adjoint_report(cfg, inf, routine)
        return dw, dV, None, None, None


class _Eigs(torch.autograd.Function):
    @staticmethod
    def forward(cfg: config.GeneralConfig, opA: Operator, X0: torch.Tensor, *params):
        opA = opA.bind(params)
        with torch.no_grad(), _one_thread(*X0.shape):
            s = driver.solve_general(cfg, opA.apply, X0, host=lambda: host_operator(opA, X0.dtype))
        return _checked(cfg, s, "eigs")

    @staticmethod
    def setup_context(ctx, inputs, output):
        cfg, opA, _, *params = inputs
        w, V, res, gap, its = output
        ctx.cfg, ctx.opA = cfg, opA.bind(params)
        ctx.set_materialize_grads(False)
        ctx.save_for_backward(w, V, gap)
        ctx.save_for_forward(w, V, gap)
        ctx.mark_non_differentiable(res, gap, its)

    @staticmethod
    def vmap(info, in_dims, *args):
        return _vmap_loop(_Eigs, info, in_dims, args)

    @staticmethod
    def backward(ctx, wbar, Vbar, _res, _gap, _its):
        w, V, gap = ctx.saved_tensors
        cfg, opA = ctx.cfg, ctx.opA
        routine = "eigs"
        wbar = torch.zeros_like(w) if wbar is None else wbar
        Vbar = torch.zeros_like(V) if Vbar is None else Vbar
        w0, V0, gap0, wbar0, Vbar0 = _plain(routine, w, V, gap, wbar, Vbar)
        with plain_mode():
            if cfg.gauge != "ignore":
                driver.report_general(*map(_np, driver.general_measures(cfg, w0, V0, wbar0, Vbar0)), mode=cfg.gauge,
                                      routine=routine)
            simple(_np(w0), _np(gap0), _np(driver.touched(wbar0, Vbar0)), rtol=cfg.rtol, mode="raise",
                   routine=routine)
        AH = opA.adjoint(V)
        with torch.no_grad(), _one_thread(*V.shape):
            a, inf = driver.general_adjoint(cfg, AH, w, V, wbar, Vbar)
        _adjoint_report(cfg, inf, routine)
        return (None, None, None, *_first_order(routine, opA.cotangent(V, a), w, V))

    @staticmethod
    def jvp(ctx, _cfg, _opA, _X0, *dparams):
        w, V, gap = ctx.saved_tensors
        cfg, opA = ctx.cfg, ctx.opA
        routine = "eigs"
        _plain(routine, *(d for d in dparams if d is not None))
        dAV = opA.tangent(V, dparams)
        bad = _undefined(cfg, w, gap, routine, simple)
        with torch.no_grad(), _one_thread(*V.shape):
            dw, dV, inf = driver.general_tangent(cfg, opA.apply, w, V, torch.zeros_like(V) if dAV is None else dAV,
                                                 bad)
        _adjoint_report(cfg, inf, routine)
        return dw, dV, None, None, None


def _info(w, res, its, gap) -> EigInfo:
    """Diagnostics of one solve; ``iterations`` an int (a tensor under vmap, where it has no value)."""
    got = readable(its)
    inf = driver.info(driver.Solved(w.detach(), None, res, gap, its, None))
    return inf._replace(iterations=its if got is None else int(got[0]))


def _dense(M) -> bool:
    return isinstance(M, torch.Tensor) and M.layout == torch.strided


@over_batch(_dense)
def eigsh(
    A: Any, k: int, which: str = "smallest", sigma: float | None = None, B: Any = None, *,
    n: int | None = None, params: Sequence[torch.Tensor] | None = None, dtype: torch.dtype | None = None,
    tol: float | None = None, maxiter: int | None = None, v0: torch.Tensor | None = None,
    solver: str | Callable = "auto", preconditioner: Callable | None = None, block_size: int | None = None,
    ncv: int | None = None, adjoint_solver: str | None = None, adjoint_tol: float | None = None,
    adjoint_maxiter: int | None = None, cluster_rtol: float | None = None, gauge: str = "raise",
    on_failure: str = "raise", return_info: bool = False,
):
    """``k`` eigenpairs of a Hermitian operator, ``A v = λ v`` (or ``A v = λ B v``, ``B`` Hermitian
    positive definite, ``V^H B V = I``): the smallest, the largest, or (``sigma``) the nearest to
    ``sigma``. Returns ``w`` (ascending, ``(k,)``) and ``V`` (``(n, k)``), and an :class:`EigInfo`
    with ``return_info=True``.

    ``A``/``B``: a dense tensor (read as ``(A + A^H)/2``), a sparse COO/CSR tensor (gradient with
    its sparsity), a SciPy matrix or LinearOperator (no gradient), or a function ``X -> A X`` on
    ``(n, m)`` blocks (pass ``n``) whose tensors ``params=[...]`` get gradients, or an ``nn.Module``.
    Dense ``A``/``B`` of shape ``(..., n, n)`` (leading axes broadcast) give ``w (..., k)``,
    ``V (..., n, k)`` and batched info fields, by a Python loop over the batch: one solve each.
    ``solver``: ``"auto"`` (default: ARPACK for tensors on the CPU without a preconditioner; on an
    accelerator or under torch.func: native Lanczos, or LOBPCG when ``B`` or a preconditioner is
    given), ``"lobpcg"`` (native, any device; no ``sigma``), ``"lanczos"`` (native thick-restart
    Lanczos / Krylov–Schur with basis size ``ncv``; no ``B``, no ``sigma``), ``"arpack"`` (SciPy on
    the host; ``sigma`` = shift-invert, needs a matrix), ``"primme"`` (optional package PRIMME on the
    host, confirmed like ARPACK; takes the preconditioner), or a callable ``solver(matvec, k, *, B,
    X0, which, sigma, tol, maxiter, preconditioner) -> (w, V)`` returning at least ``k`` B-orthonormal pairs.
    ``preconditioner``: ``X -> T X``, ``T`` Hermitian positive definite ``≈ (A - σB)^{-1}``
    (``(σB - A)^{-1}`` for "largest"), used by LOBPCG and by the adjoint solves.

    Backward: ``Ā = Σ_i a_i v_i^H``, ``a_i = V K e_i - z_i`` (in-span ``K`` with clusters masked;
    ``P^H (A - λ_i B) P z_i = P^H v̄_i`` by CG, MINRES for ``sigma``), then ONE
    ``torch.autograd.grad`` through the product. Faults raise (``on_failure="warn"`` warns):
    forward or adjoint non-convergence or invalid returned pairs
    (:class:`~eigengrad.errors.ConvergenceError`), a cluster cut by the k-th eigenvalue
    (``ClusterCutError``), a gauge-dependent loss (per ``gauge``).

    Forward mode (``torch.autograd.forward_ad``, every form but sparse tensors, which PyTorch cannot
    make dual: write their product as a function of the values instead): with ``R = dA V - dB V Λ``,
    ``dλ_i = Re v_i^H r_i``, ``dV = V C + z`` with ``C = F ∘ V^H R - ½ same ∘ V^H dB V`` (so no
    phase or basis inside a cluster moves) and ``z_i`` from the same projected systems, right-hand
    sides ``-P^H r_i``; ``dA V`` is one JVP of the product (a function must close over the dual
    tensors it is given in ``params``; a module's dual attributes, PyTorch's recipe, are found).
    Pairs of a cluster cut by the k-th eigenvalue have no tangent: NaN, with a ``DegeneracyWarning``.
    ``torch.func``: ``grad``, ``jvp`` and ``vmap`` (a loop) for dense (sparse COO: ``grad``) and
    SciPy operators; matrix-free operators raise (use torch.autograd), as do derivatives under vmap
    (jacrev, jacfwd) and second derivatives (``NotImplementedError`` saying what to use).
    """
    routine = "eigsh"
    size = config.size(A, n, routine)
    opts = dict(block_size=block_size, ncv=ncv, tol=tol, maxiter=maxiter, adjoint_solver=adjoint_solver,
                adjoint_tol=adjoint_tol, adjoint_maxiter=adjoint_maxiter, cluster_rtol=cluster_rtol, gauge=gauge,
                on_failure=on_failure)
    probe = config.Problem(n=size, real_bits=64, complex=False, has_B=B is not None,
                           has_T=preconditioner is not None, host=True)
    config.hermitian(probe, k, which, sigma, solver, **opts)  # options first, before any work
    opA, opB, dt = _operators(A, B, n, dtype, params, True, routine)
    cfg = config.hermitian(_problem((opA, opB), dt, opA.n, B is not None, preconditioner is not None), k, which,
                           sigma, solver, **opts)
    X0 = _start(opA.n, cfg.block, dt, _device(opA), v0)
    _probe((opA, opB, preconditioner), X0, True, routine)
    params_all = opA.params + (() if opB is None else opB.params)
    w, V, res, gap, its = _Eigsh.apply(cfg, opA, opB, preconditioner, X0, *params_all)
    return (w, V, _info(w, res, its, gap)) if return_info else (w, V)


@over_batch(_dense)
def eigs(
    A: Any, k: int, which: str = "largest_real", sigma: complex | None = None, *, n: int | None = None,
    params: Sequence[torch.Tensor] | None = None, dtype: torch.dtype | None = None, tol: float | None = None,
    maxiter: int | None = None, v0: torch.Tensor | None = None, solver: str | Callable = "auto",
    ncv: int | None = None, adjoint_solver: str = "bicgstab", adjoint_tol: float | None = None,
    adjoint_maxiter: int | None = None, restart: int = 30, cluster_rtol: float | None = None,
    gauge: str = "raise", on_failure: str = "raise", return_info: bool = False,
):
    """``k`` eigenpairs ``A v = λ v`` of a general operator, unit-norm right eigenvectors, ordered by
    ``which`` (largest_real, smallest_real, largest_magnitude, smallest_magnitude, largest_imag,
    smallest_imag) or by distance to ``sigma``; complex ``w (k,)``, ``V (n, k)``. Forms of ``A`` as
    in :func:`eigsh` (dense tensors are not symmetrised). ``solver``: ``"auto"`` (default: ARPACK on
    the CPU, the native Arnoldi elsewhere), ``"arpack"``, ``"arnoldi"`` (native Krylov–Schur, basis
    size ``ncv``, any device; no ``sigma``) or a callable ``solver(matvec, k, *, X0, which, sigma, tol,
    maxiter) -> (w, V)``.

    Backward: per pair the bordered system ``[conj(λ_i) - A^H, v_i; v_i^H, 0][a_i; 0] =
    [v̄_i - v_i(v_i^H v̄_i); λ̄_i]`` by block BiCGStab (or GMRES(``restart``)), ``A^H`` from the
    transposed product, then ONE ``torch.autograd.grad`` through the product: ``Ā = Σ a_i v_i^H``.
    Eigenvalues must be simple; a phase-dependent loss raises per ``gauge``. Forward mode: per pair
    ``[λ_i - A, v_i; v_i^H, 0][dv_i; dλ_i] = [dA v_i; 0]`` (gauge ``v_i^H dv_i = 0``, that of the
    backward), same solver; a non-simple eigenvalue gets NaN tangents and a ``DegeneracyWarning``.
    Batching over leading axes of a dense ``A`` and ``torch.func`` support as in :func:`eigsh`.
    """
    routine = "eigs"
    size = config.size(A, n, routine)
    opts = dict(ncv=ncv, tol=tol, maxiter=maxiter, adjoint_solver=adjoint_solver, adjoint_tol=adjoint_tol,
                adjoint_maxiter=adjoint_maxiter, restart=restart, cluster_rtol=cluster_rtol, gauge=gauge,
                on_failure=on_failure)
    config.general(config.Problem(n=size, real_bits=64, complex=True, has_B=False, has_T=False, host=True), k,
                   which, sigma, solver, **opts)
    opA, _, dt = _operators(A, None, n, dtype, params, False, routine)
    cfg = config.general(_problem((opA,), dt, opA.n, False, False), k, which, sigma, solver, **opts)
    X0 = _start(opA.n, 1, dt, _device(opA), v0)
    _probe((opA, None, None), X0, False, routine)
    w, V, res, gap, its = _Eigs.apply(cfg, opA, X0, *opA.params)
    return (w, V, _info(w, res, its, gap)) if return_info else (w, V)
