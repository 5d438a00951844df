"""The host default's forward in shift-invert mode (``factor.end_inverse``): large sparse planar
problems are solved as the ``k`` eigenvalues nearest a shift ``σ`` that a Gershgorin bound puts
beyond the wanted end and the factorisation's inertia proves there. Same pairs as ARPACK's regular
mode, on both ends, standard and generalized; the backward preconditioned by the same factorisation."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg as la
import scipy.sparse as sp
import scipy.sparse.linalg as sla

from eigengrad._solvers import confirm, factor, window

K = 4
N = 30  # 900 unknowns, solved in shift-invert mode below with the size limit lowered (fixture ``small``)


def _lap(N: int, h: float = 1.0):
    D = sp.diags([-np.ones(N - 1), 2 * np.ones(N), -np.ones(N - 1)], [-1, 0, 1]) / h**2
    I = sp.eye(N)
    return (sp.kron(D, I) + sp.kron(I, D)).tocsr()


def _well(N: int):
    """-Δ (h⁻², Dirichlet) + a Gaussian well on [-10, 10]², CSR."""
    h = 20.0 / (N + 1)
    x = -10 + h * np.arange(1, N + 1)
    X, Y = np.meshgrid(x, x, indexing="ij")
    return (_lap(N, h) + sp.diags(-5.0 * np.exp(-((X - 0.3) ** 2 + 1.3 * (Y + 0.2) ** 2) / 8.0).ravel())).tocsr()


def _mass(n: int):
    return sp.diags([np.full(n - 1, 0.2), np.ones(n), np.full(n - 1, 0.2)], [-1, 0, 1], format="csr")


def _q1_mass(N: int):
    """The consistent Q1 mass matrix on an N x N grid (unit cells): positive definite, its rows not
    diagonally dominant (16/36 on the diagonal against 20/36 off it)."""
    M1 = sp.diags([np.ones(N - 1), 4 * np.ones(N), np.ones(N - 1)], [-1, 0, 1]) / 6
    return sp.kron(M1, M1).tocsr()


def _solve(A, B, which):
    v0 = np.random.default_rng(0).standard_normal(A.shape[0])
    w_all, V_all = confirm.eigsh(A, K, B=B, which=which, v0=v0, tol=1e-10, maxiter=10**5)
    return window.split(w_all, V_all, K, which)


@pytest.fixture
def small(monkeypatch):
    """Shift-invert from 500 unknowns (10^4 by default): dense references stay cheap."""
    monkeypatch.setattr(factor, "MIN_N_SHIFT_INVERT", 500)


@pytest.fixture
def ends(monkeypatch):
    """The shifts of the forward solves in shift-invert mode (None: regular mode)."""
    seen = []
    real = factor.end_inverse

    def wrapped(*a):
        out = real(*a)
        seen.append(None if out is None else out.sigma)
        return out

    monkeypatch.setattr(factor, "end_inverse", wrapped)
    return seen


@pytest.mark.parametrize("dtype", [np.float64, np.complex128])
def test_end_bound_encloses_the_spectrum(dtype):
    rng = np.random.default_rng(3)
    n = 60
    R = sp.random(n, n, density=0.1, random_state=rng, dtype=np.float64)
    A = (R + R.T).astype(dtype)
    if dtype == np.complex128:
        Ri = sp.random(n, n, density=0.1, random_state=rng)
        A = A + 1j * (Ri - Ri.T)
    A = A + sp.diags(rng.standard_normal(n))
    for B in (None, _mass(n)):
        w = np.linalg.eigvalsh(A.toarray()) if B is None else \
            np.real(np.linalg.eigvals(np.linalg.solve(B.toarray(), A.toarray())))
        assert factor.end_bound(A, B, 1.0) < w.min()
        assert factor.end_bound(A, B, -1.0) > w.max()
    indefinite = sp.diags([np.full(n - 1, 0.6), np.ones(n), np.full(n - 1, 0.6)], [-1, 0, 1])
    assert factor.end_bound(A, indefinite, 1.0) is None


@pytest.mark.parametrize("which", ["smallest", "largest"])
@pytest.mark.parametrize("generalized", [False, "banded", "q1"])
def test_same_pairs_as_dense(which, generalized, small, ends):
    A = _well(N)
    B = {False: None, "banded": _mass(A.shape[0]), "q1": _q1_mass(N)}[generalized]
    w, V, guard = _solve(A, B, which)
    assert len(ends) == 1 and ends[0] is not None  # shift-invert ran
    assert (ends[0] < w.min()) if which == "smallest" else (ends[0] > w.max())
    ref = la.eigvalsh(A.toarray(), None if B is None else B.toarray())
    want, nxt = (ref[:K], ref[K]) if which == "smallest" else (ref[-K:], ref[-K - 1])
    scale = np.max(np.abs(ref))
    assert np.max(np.abs(w - want)) <= 1e-10 * scale
    assert abs(guard[0] - nxt) <= 1e-2 * scale  # the next eigenvalue, found loosely: the gap
    BV = V if B is None else B @ V
    assert np.max(np.abs(A @ V - BV * w)) <= 1e-10 * scale
    assert np.allclose(V.T @ BV, np.eye(K), atol=1e-10)


def test_bound_attained_graph_laplacian(small, ends):
    """A graph Laplacian's lowest eigenvalue is its Gershgorin bound, 0: the shift goes a little
    below (A - σI singular otherwise) and 0 comes out, with its constant vector."""
    A = _lap(N)
    A = A - sp.diags(np.asarray(A.sum(axis=1)).ravel())  # zero row sums: the grid graph's Laplacian
    w, V, _ = _solve(A, None, "smallest")
    assert ends[0] is not None and ends[0] < 0
    assert abs(w[0]) <= 1e-12 * 8
    assert np.allclose(np.abs(V[:, 0]), 1 / np.sqrt(A.shape[0]), rtol=1e-8)
    assert np.max(np.abs(w - la.eigvalsh(A.toarray())[:K])) <= 1e-10 * 8


def test_regular_mode_elsewhere(ends):
    """Small problems, volume meshes (their factor fills in) and operators without a matrix run
    ARPACK's regular mode."""
    _solve(_well(90), None, "smallest")  # 8100 < MIN_N_SHIFT_INVERT
    L1 = sp.diags([-np.ones(21), 2 * np.ones(22), -np.ones(21)], [-1, 0, 1])
    I = sp.eye(22)
    L3 = (sp.kron(sp.kron(L1, I), I) + sp.kron(sp.kron(I, L1), I) + sp.kron(sp.kron(I, I), L1)).tocsr()
    _solve(L3, None, "smallest")  # 10648 unknowns, a volume mesh
    _solve(sla.aslinearoperator(_well(100)), None, "smallest")
    assert ends == [None, None, None]


def test_backward_reuses_the_forward_factorisation(small, monkeypatch):
    """The gradient through the default (shift-invert forward at the bound, its factorisation
    preconditioning the backward: one factorisation in all) equals the one through a regular-mode
    forward, whose backward factors at its own shift."""
    import torch

    import eigengrad.torch as et

    factored = []
    real = factor._factor
    monkeypatch.setattr(factor, "_factor", lambda *a: factored.append(a[2]) or real(*a))
    H = _well(N)
    n = H.shape[0]
    probes = torch.as_tensor(np.linspace(0.3 * n, 0.7 * n, 5).astype(int))
    Hc = H.tocoo()
    idx = torch.as_tensor(np.stack([Hc.row, Hc.col]))
    diag = torch.as_tensor(np.flatnonzero(Hc.row == Hc.col))
    grads = []
    for regular in (False, True):
        if regular:
            monkeypatch.setattr(factor, "MIN_N_SHIFT_INVERT", 10 * n)
            monkeypatch.setattr(factor, "_kept", None)  # the same matrix: it would serve again
        factored.clear()
        theta = torch.zeros(n, dtype=torch.float64, requires_grad=True)
        vals = torch.as_tensor(Hc.data).index_add(0, diag, theta)
        w, V = et.eigsh(torch.sparse_coo_tensor(idx, vals, size=(n, n), is_coalesced=True), K, tol=1e-11)
        (w.sum() + n * (V[probes] ** 2).sum()).backward()
        grads.append(theta.grad.numpy())
        if regular:
            assert factored == [factor.shift(w.detach().numpy(), 1.0)]  # the backward's own
        else:
            assert factored == [factor.end_bound(H, None, 1.0)]  # the forward's, used twice
    assert np.max(np.abs(grads[0] - grads[1])) <= 1e-8 * np.max(np.abs(grads[1]))
