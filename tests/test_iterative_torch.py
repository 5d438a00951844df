"""PyTorch-specific: sparse COO/CSR values, parameters of a matvec function or an nn.Module, and
the count of product VJPs in the backward pass."""

import numpy as np
import pytest
import torch

import eigengrad.torch as et
from test_iterative_problems import grid

pytestmark = pytest.mark.usefixtures("torch_float64")


def _dense_grad(L, k, M, c):
    A = torch.tensor(L.toarray(), requires_grad=True)
    w, V = et.eigh(A)
    (c * w[:k]).sum().add((M * V[:, :k].abs() ** 2).sum()).backward()
    return A.grad


def test_sparse_coo_and_csr_values():
    L = grid(12)
    k = 4
    rng = np.random.default_rng(0)
    M, c = torch.tensor(rng.standard_normal((144, k))), torch.tensor(rng.standard_normal(k))
    G = _dense_grad(L, k, M, c)
    for layout in ("coo", "csr"):
        D = torch.tensor(L.toarray())
        A = (D.to_sparse_coo() if layout == "coo" else D.to_sparse_csr()).requires_grad_()
        w, V = et.eigsh(A, k)
        ((c * w).sum() + (M * V.abs() ** 2).sum()).backward()
        g = A.grad.to_dense()
        mask = D != 0
        assert ((g - G) * mask).abs().max() < 1e-8 * G.abs().max()
        assert (g[~mask] == 0).all()


def test_uncoalesced_coo_values():
    """An uncoalesced COO input (the diagonal stored twice, half in each copy): each stored value's
    gradient is that of its position, as for the dense matrix the duplicates sum to (regression: the
    gradient came back uncoalesced and torch summed it over the duplicates, 2x the right value)."""
    L = grid(6).toarray()
    n, k = L.shape[0], 3
    r, c = np.nonzero(L)
    d = np.arange(n)
    idx = torch.as_tensor(np.concatenate([np.stack([r, c]), np.stack([d, d])], axis=1))
    values = np.concatenate([L[r, c] - 0.5 * L[r, c] * (r == c), 0.5 * np.diag(L)])
    M = torch.as_tensor(np.random.default_rng(1).standard_normal((n, k)))

    def loss(w, V):
        return w.sum() + (M * V.abs() ** 2).sum()

    vals = torch.as_tensor(values).requires_grad_()
    A = torch.sparse_coo_tensor(idx, vals, (n, n))
    assert not A.is_coalesced()
    loss(*et.eigsh(A, k)).backward()
    ref = torch.as_tensor(values).requires_grad_()
    D = torch.zeros(n, n, dtype=torch.float64).index_put((idx[0], idx[1]), ref, accumulate=True)
    w, V = torch.linalg.eigh(D)
    loss(w[:k], V[:, :k]).backward()
    assert (vals.grad - ref.grad).abs().max() < 1e-8 * ref.grad.abs().max()


def test_module_parameters():
    L = grid(12)
    k = 3

    class Hamiltonian(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.L = torch.tensor(L.toarray()).to_sparse_csr()
            self.theta = torch.nn.Parameter(torch.zeros(144))

        def forward(self, X):
            return self.L @ X + self.theta[:, None] * X

    H = Hamiltonian()
    rng = np.random.default_rng(1)
    M, c = torch.tensor(rng.standard_normal((144, k))), torch.tensor(rng.standard_normal(k))
    w, V = et.eigsh(H, k, n=144)
    ((c * w).sum() + (M * V.abs() ** 2).sum()).backward()
    G = _dense_grad(L, k, M, c)
    assert (H.theta.grad - G.diagonal()).abs().max() < 1e-8 * G.abs().max()


def test_one_vjp_whatever_the_iteration_count():
    """Backward: one product evaluated with autograd on (the VJP), however many forward steps."""
    L = torch.tensor(grid(12).toarray())
    k = 3
    M = torch.tensor(np.random.default_rng(2).standard_normal((144, k)))
    forward_calls = []
    for tol in (1e-5, 1e-12):
        calls = {"grad": 0, "nograd": 0}
        theta = torch.zeros(144, requires_grad=True)

        def mv(X):
            calls["grad" if torch.is_grad_enabled() else "nograd"] += 1
            return L @ X + theta[:, None] * X

        w, V = et.eigsh(mv, k, n=144, params=[theta], tol=tol)
        assert calls["grad"] == 0
        forward_calls.append(calls["nograd"])
        (w.sum() + (M * V.abs() ** 2).sum()).backward()
        assert calls["grad"] == 1
    assert forward_calls[1] > forward_calls[0] + 5


def test_forward_mode_dense_matches_eigh():
    """Forward-mode AD (dual tensors) of eigsh on dense A (and B) against dense eigh's JVP."""
    import torch.autograd.forward_ad as fwAD

    from test_iterative_problems import laplacian_1d, mass_1d

    rng = np.random.default_rng(3)
    k = 4
    A = torch.tensor((laplacian_1d(144)).toarray())
    B = torch.tensor(mass_1d(144).toarray())
    dA = torch.tensor(rng.standard_normal((144, 144)))
    dA = dA + dA.T
    dB = torch.diag(torch.tensor(rng.random(144)))

    def tangents(fn, B, dB):
        with fwAD.dual_level():
            w, V = fn(fwAD.make_dual(A, dA), None if B is None else fwAD.make_dual(B, dB))
            return fwAD.unpack_dual(w).tangent, fwAD.unpack_dual(V.abs() ** 2).tangent

    def dense(A, B):
        w, V = et.eigh(A) if B is None else et.eigh(A, B)
        return w[:k], V[:, :k]

    for b, db in ((None, None), (B, dB)):
        dw, dP = tangents(lambda A, B: et.eigsh(A, k, B=B), b, db)
        rw, rP = tangents(dense, b, db)
        assert (dw - rw).abs().max() < 1e-7 * rw.abs().max()
        assert (dP - rP).abs().max() < 1e-7 * rP.abs().max()


def test_central_differences_matvec_params():
    """Gradient through a matvec with parameters against central differences of tight solves."""
    from test_iterative_problems import laplacian_1d

    n, k = 60, 3
    L = torch.tensor(laplacian_1d(n).toarray())
    rng = np.random.default_rng(5)
    V0 = torch.tensor(-2.0 * np.exp(-((np.arange(n) - 25.0) / 6) ** 2))
    P = torch.tensor(rng.standard_normal((n, k)))

    def loss(theta):
        w, V = et.eigsh(lambda X: L @ X + (V0 + theta)[:, None] * X, k, n=n, params=[theta], tol=1e-12,
                        adjoint_tol=1e-12)
        return (w ** 2).sum() + (P * V.abs() ** 2).sum()

    theta = torch.tensor(0.05 * rng.standard_normal(n), requires_grad=True)
    (g,) = torch.autograd.grad(loss(theta), theta)
    for _ in range(2):
        d = torch.tensor(rng.standard_normal(n))
        h = 1e-3
        with torch.no_grad():
            c = [(loss(theta + s * d) - loss(theta - s * d)) / (2 * s) for s in (h, h / 2)]
        fd = (4 * c[1] - c[0]) / 3
        assert abs(float(g @ d) - float(fd)) < 1e-7 * abs(float(fd))
