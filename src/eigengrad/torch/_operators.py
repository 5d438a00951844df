"""Operators for the iterative routines of ``eigengrad.torch``: every accepted form of ``A`` becomes
an ``Operator`` with a product on blocks of columns (run without autograd), the tensors that get
gradients (``params``, the inputs of the ``autograd.Function``), their cotangents and their tangents.

Accepted forms: a dense tensor; a sparse COO or CSR tensor (gradient with the same sparsity); a
SciPy sparse matrix or ``LinearOperator`` (no gradient); a function ``X -> A X`` on ``(n, m)`` blocks
with its parameters given as ``params=[...]`` (tensors it closes over), or an ``nn.Module`` (its
parameters that require grad, and under forward-mode AD the dual tensors set as its attributes).
Cotangents follow ``dL = Re Σ_i ⟨a_i, dA v_i⟩`` for adjoint vectors ``a`` (``Ā = Σ a_i v_i^H``),
PyTorch's convention (``∂L/∂Re + i ∂L/∂Im``): one call of ``torch.autograd.grad`` through the product
at the block ``V``. Tangents are ``dA V``: for a function, the product evaluated once at ``V`` with
forward-mode AD on, so that the dual tensors it closes over carry ``dA`` into it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Callable, Sequence

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as sla
import torch
import torch.autograd.forward_ad as fwAD

_SPARSE = (torch.sparse_coo, torch.sparse_csr)
_ft = torch._C._functorch


@dataclass
class Operator:
    """``fn(X) = A X``; ``kind`` in dense, sparse, function, scipy."""

    fn: Callable[[torch.Tensor], torch.Tensor]
    params: tuple
    n: int
    dtype: torch.dtype
    kind: str
    hermitian: bool
    host: Any = None

    @property
    def real(self) -> bool:
        return not self.dtype.is_complex

    def bind(self, params: Sequence[torch.Tensor]) -> Operator:
        """The same operator with its matrix taken from ``params`` (the tensors an ``autograd.Function``
        receives, unwrapped or wrapped by ``torch.func``); a function keeps its own closure."""
        if self.kind == "dense":
            (M,) = params
            return replace(self, fn=lambda X: _mm(M.detach(), X), params=(M,))
        if self.kind == "sparse":
            (M,) = params
            return replace(self, fn=lambda X: _mm(M.detach(), X), params=(M,))
        return self

    def apply(self, X: torch.Tensor) -> torch.Tensor:
        """``A X`` without autograd; a real operator acts on complex blocks part by part."""
        with torch.no_grad():
            return self._apply(X)

    def _apply(self, X: torch.Tensor) -> torch.Tensor:
        if self.real and X.is_complex():
            return torch.complex(self.fn(X.real), self.fn(X.imag))
        return self.fn(X)

    def adjoint(self, like: torch.Tensor) -> Callable[[torch.Tensor], torch.Tensor]:
        """``Y -> A^H Y`` (for blocks shaped like ``like``): by the transposed product."""
        if self.kind == "dense":
            MH = self.params[0].detach().mH
            return lambda Y: _mm(MH, Y)
        if self.kind == "sparse":
            MH = self.params[0].detach().to_sparse_coo().transpose(0, 1).conj().coalesce()
            return lambda Y: _mm(MH, Y)
        if self.kind == "scipy":
            AH = self.host.H if hasattr(self.host, "H") else self.host.conj().T
            return lambda Y: torch.as_tensor(np.asarray(AH @ Y.cpu().numpy()), device=Y.device)
        x = torch.zeros(like.shape, dtype=like.dtype, device=like.device, requires_grad=True)
        with torch.enable_grad():
            y = self._apply(x)

        def ah(Y):
            (g,) = torch.autograd.grad(y, x, Y, retain_graph=True)
            return g
        return ah

    def tangent(self, V: torch.Tensor, dparams: Sequence[torch.Tensor | None]) -> torch.Tensor | None:
        """``dA V`` for the tangents ``dparams`` of ``params`` (None where a tensor has none); None when
        none has one. PyTorch has no forward-mode AD for sparse tensors, so they never get here."""
        if all(d is None for d in dparams):
            return None
        if self.kind == "dense":
            return _mm(dparams[0], V)
        with fwAD._set_fwd_grad_enabled(True), torch.no_grad():  # off inside an autograd.Function's jvp
            Y = self._apply(fwAD.unpack_dual(V).primal)
            dY = fwAD.unpack_dual(Y).tangent
        if dY is None:
            raise ValueError(
                "the matrix-free operator does not depend on the dual tensors given as params: under "
                "torch.autograd.forward_ad the function must close over the tensors made by make_dual "
                "(pass those same tensors as params=[...])")
        return dY

    def cotangent(self, V: torch.Tensor, a: torch.Tensor) -> tuple:
        """Gradients of ``params`` for ``Ā = Σ_i a_i v_i^H`` (``herm(Ā)`` entries for a Hermitian
        sparse matrix, which is read as ``(A + A^H)/2``)."""
        if not self.params:
            return ()
        if self.kind == "dense":  # the input was symmetrised outside when Hermitian
            (M,) = self.params
            return (_as(a @ V.mH, M),)
        if self.kind == "sparse":
            (M,) = self.params
            if M.layout == torch.sparse_csr:
                crow, col = M.crow_indices(), M.col_indices()
                row = torch.repeat_interleave(torch.arange(self.n, device=crow.device), crow.diff())
            else:  # one gradient entry per stored position: duplicates of an uncoalesced input share it
                M = M.coalesce()
                row, col = M._indices()
            g = (a[row] * V[col].conj()).sum(-1)
            if self.hermitian:
                g = (g + (V[row] * a[col].conj()).sum(-1)) / 2
            g = _as(g, M)
            if M.layout == torch.sparse_csr:
                return (torch.sparse_csr_tensor(crow, col, g, M.shape, check_invariants=False),)
            # coalesced: `sparse_coo_tensor`'s backward to `values` stays O(nnz) (0.9 s against 1.6 s
            # at n = 10^6), and an uncoalesced input's duplicates each get the position's gradient (an
            # uncoalesced gradient with the input's duplicates was summed: 2x the right value)
            return (torch.sparse_coo_tensor(M._indices(), g, M.shape, check_invariants=False, is_coalesced=True),)
        with torch.enable_grad():
            y = self._apply(V.detach())
            grads = torch.autograd.grad(y, self.params, a, allow_unused=True)
        return tuple(torch.zeros_like(p) if g is None else g for g, p in zip(grads, self.params))


def _as(g: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    return (g if like.is_complex() else g.real).to(like.dtype)


def _mm(M: torch.Tensor, X: torch.Tensor) -> torch.Tensor:
    """``M @ X`` (dense or sparse ``M``), a real ``M`` acting on a complex ``X`` part by part, in
    the block's precision (a float32 ``M`` in a float64 problem is promoted)."""
    rdt = X.dtype.to_real()
    if torch.finfo(M.dtype.to_real()).bits < torch.finfo(rdt).bits:
        M = M.to(torch.promote_types(M.dtype, rdt))
    if X.is_complex() and not M.is_complex():
        return torch.complex(M @ X.real, M @ X.imag)
    return M @ X


def as_operator(A: Any, *, n: int | None, dtype: torch.dtype | None, params: Sequence[torch.Tensor] | None,
                hermitian: bool, name: str, routine: str) -> Operator:
    """Normalise ``A`` (see the module docstring)."""
    if isinstance(A, torch.Tensor) and A.layout in _SPARSE:
        if A.ndim != 2 or A.shape[0] != A.shape[1]:
            raise ValueError(f"{routine}: {name} must be a square 2-D sparse tensor, got shape {tuple(A.shape)}")
        return Operator(lambda X: _mm(A.detach(), X), (A,), A.shape[0], A.dtype, "sparse", hermitian)
    if isinstance(A, torch.Tensor):
        if A.ndim != 2 or A.shape[0] != A.shape[1]:
            raise ValueError(f"{routine}: {name} must be a square matrix (n, n), got shape {tuple(A.shape)}")
        if not (A.dtype.is_floating_point or A.dtype.is_complex):
            raise TypeError(f"{routine}: {name} has dtype {A.dtype}; use a floating or complex dtype")
        M = (A + A.mH) / 2 if hermitian else A
        return Operator(lambda X: _mm(M.detach(), X), (M,), A.shape[0], A.dtype, "dense", hermitian)
    if isinstance(A, (sp.spmatrix, sp.sparray, sla.LinearOperator)):
        if A.shape[0] != A.shape[1]:
            raise ValueError(f"{routine}: {name} must be square, got shape {A.shape}")
        dt = dtype or torch.float64
        if np.iscomplexobj(np.zeros((), A.dtype)):
            dt = torch.promote_types(dt, torch.complex64)
        return Operator(lambda X: torch.as_tensor(np.asarray(A @ X.cpu().numpy()), device=X.device).to(
            torch.promote_types(X.dtype, dt)), (), A.shape[0], dt, "scipy", hermitian, host=A)
    if callable(A):
        ps = _module_tensors(A) if isinstance(A, torch.nn.Module) and params is None else tuple(params or ())
        if n is None:
            raise TypeError(f"{routine}: {name} is a function X -> {name} X; pass its size as n=...")
        dt = dtype or (ps[0].dtype if ps else torch.get_default_dtype())
        dev = ps[0].device if ps else None
        try:
            with torch.no_grad():
                out = A(torch.zeros(n, 1, dtype=dt, device=dev))
        except RuntimeError as e:
            raise TypeError(f"{routine}: {name}(X) failed on an ({n}, 1) block of dtype {dt}: {e}. Pass dtype= "
                            f"(the dtype the function works in) and n= (its size)") from e
        if _ft.is_functorch_wrapped_tensor(out) or any(_ft.is_functorch_wrapped_tensor(p) for p in ps):
            raise NotImplementedError(
                f"{routine}: {name} is a function of tensors transformed by torch.func (grad, jvp, vmap, "
                "jacrev, ...); its derivative needs torch.autograd through the function, which torch.func "
                "does not allow. Use torch.autograd (backward, torch.autograd.grad) or "
                "torch.autograd.forward_ad with matrix-free operators, or pass a dense matrix to use torch.func.")
        if tuple(out.shape) != (n, 1):
            raise ValueError(f"{routine}: {name}(X) must map an (n, m) block to (n, m); got {tuple(out.shape)} for (n, 1)")
        return Operator(A, ps, n, torch.promote_types(out.dtype, dt), "function", hermitian)
    raise TypeError(f"{routine}: {name} must be a tensor, a SciPy matrix/LinearOperator or a function, got {type(A).__name__}")


def _module_tensors(module: torch.nn.Module) -> tuple:
    """A module's parameters that require grad, then the dual tensors (forward-mode AD) set as
    attributes of it or its submodules (PyTorch's recipe replaces parameters by ``make_dual``)."""
    ps = [p for p in module.parameters() if p.requires_grad]
    for m in module.modules():
        for t in list(vars(m).values()) + list(m._buffers.values()):
            if isinstance(t, torch.Tensor) and t.layout == torch.strided and fwAD.unpack_dual(t).tangent is not None:
                ps.append(t)
    return tuple(ps)


def host_operator(op: Operator, dtype: torch.dtype) -> Any:
    """A SciPy form of ``op`` for the ARPACK backend, acting on vectors of the working ``dtype``
    (complex when the problem is, even for a real operator)."""
    if op.kind == "scipy":
        return op.host
    wdt = torch.promote_types(op.dtype, dtype.to_real())
    if op.kind == "dense":
        return op.params[0].detach().to(wdt).cpu().numpy()
    if op.kind == "sparse":
        M = op.params[0].detach().to_sparse_coo().coalesce().cpu()
        idx, val = M.indices().numpy(), M.values().to(wdt).numpy()
        return sp.csr_matrix((val, (idx[0], idx[1])), shape=(op.n, op.n))
    dev = op.params[0].device if op.params else None
    dt = np.dtype(str(dtype).replace("torch.", ""))
    mm = lambda X: np.array(op.apply(torch.as_tensor(X.reshape(op.n, -1).astype(dt), device=dev)).cpu().numpy(),  # noqa: E731
                            dtype=dt)
    return sla.LinearOperator((op.n, op.n), matvec=lambda x: mm(x)[:, 0], matmat=mm, dtype=dt)
