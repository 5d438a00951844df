"""The adjoint solves moved to the host and preconditioned by an exact factorisation of ``±(A - σB)``
(``_solvers.factor``, ``driver.host_system``): the same gradient as the unpreconditioned solves (a
matrix-free closure over the same matrix takes that path), on both front ends, in reverse and forward
mode; no preconditioner where ``±(A - σB)`` is not definite."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
import scipy.sparse.linalg as sla

from eigengrad._iterative import config, driver
from eigengrad._solvers import factor

K = 4


def _well(N: int, complex_: bool = False):
    """-Δ (5-point, h⁻², Dirichlet; Bloch phase on one axis when complex) + a Gaussian well, CSR."""
    L = 20.0
    h = L / (N + 1)
    D = sp.diags([-np.ones(N - 1), 2 * np.ones(N), -np.ones(N - 1)], [-1, 0, 1], format="lil").astype(complex)
    if complex_:
        D[0, N - 1], D[N - 1, 0] = -np.exp(-0.7j), -np.exp(0.7j)
    else:
        D = D.real
    D = D.tocsr() / h**2
    x = -L / 2 + h * np.arange(1, N + 1)
    X, Y = np.meshgrid(x, x, indexing="ij")
    V0 = -5.0 * np.exp(-((X - 0.3) ** 2 + 1.3 * (Y + 0.2) ** 2) / 8.0)
    I = sp.eye(N)
    H = (sp.kron(D, I) + sp.kron(I, D) + sp.diags(V0.ravel())).tocsr()
    H.sort_indices()
    return H


def _mass(n: int):
    return sp.diags([np.full(n - 1, 0.1), np.ones(n), np.full(n - 1, 0.1)], [-1, 0, 1], format="csr")


@pytest.fixture
def spy(monkeypatch):
    """Records whether each adjoint/tangent solve ran on the host (``driver.host_system`` not None)."""
    used = []
    real = driver.host_system

    def wrapped(*a, **kw):
        out = real(*a, **kw)
        used.append(out is not None)
        return out

    monkeypatch.setattr(driver, "host_system", wrapped)
    return used


def _torch_grads(H, B, which, closure: bool):
    import torch

    import eigengrad.torch as et

    n = H.shape[0]
    probes = torch.as_tensor(np.linspace(0.3 * n, 0.7 * n, 5).astype(int))
    theta = torch.zeros(n, dtype=torch.float64, requires_grad=True)
    Bt = None if B is None else torch.as_tensor(B.toarray()).to_sparse_csr()
    crow, col, data = (torch.as_tensor(a) for a in (H.indptr, H.indices, H.data))
    if closure:
        Ht = torch.sparse_csr_tensor(crow, col, data, size=(n, n))
        w, V = et.eigsh(lambda X: Ht @ X + theta[:, None] * X, K, which, B=Bt, n=n, params=[theta], tol=1e-12,
                        solver="arpack")
    else:
        rows = np.repeat(np.arange(n), np.diff(H.indptr))
        diag = torch.as_tensor(np.flatnonzero(rows == H.indices))
        Ht = torch.sparse_csr_tensor(crow, col, data.index_add(0, diag, theta), size=(n, n))
        w, V = et.eigsh(Ht, K, which, B=Bt, tol=1e-12, solver="arpack")
    (w.sum() + n * (V[probes].abs() ** 2).sum()).backward()
    return theta.grad.numpy()


def _jax_grads(H, B, which, closure: bool, mode: str = "rev"):
    import jax
    import jax.numpy as jnp
    from jax.experimental import sparse as jsparse

    import eigengrad.jax as ej

    jax.config.update("jax_enable_x64", True)
    n = H.shape[0]
    probes = jnp.asarray(np.linspace(0.3 * n, 0.7 * n, 5).astype(int))
    Hc = H.tocoo()
    idx = jnp.asarray(np.stack([np.r_[Hc.row, np.arange(n)], np.r_[Hc.col, np.arange(n)]], axis=1))
    Bj = None if B is None else jsparse.BCOO.from_scipy_sparse(B)

    def loss(theta):
        M = jsparse.BCOO((jnp.concatenate([jnp.asarray(Hc.data), theta.astype(Hc.dtype)]), idx), shape=(n, n))
        if closure:
            w, V = ej.eigsh(lambda X: M @ X, K, which, B=Bj, n=n, tol=1e-12, solver="arpack")
        else:
            w, V = ej.eigsh(M, K, which, B=Bj, tol=1e-12, solver="arpack")
        return jnp.sum(w) + n * jnp.sum(jnp.abs(V[probes]) ** 2)

    th = jnp.zeros(n)
    if mode == "rev":
        return np.asarray(jax.grad(loss)(th))
    d = jnp.asarray(np.random.default_rng(1).standard_normal(n))
    return float(jax.jvp(loss, (th,), (d,))[1])


CASES = [("smallest", False), ("largest", False), ("smallest", True)]


@pytest.mark.parametrize("which,generalized", CASES)
@pytest.mark.parametrize("front", [pytest.param("jax", marks=pytest.mark.slow), "torch"])
def test_preconditioned_gradient_equals_unpreconditioned(front, which, generalized, spy):
    H = _well(12)
    B = _mass(H.shape[0]) if generalized else None
    grads = _jax_grads if front == "jax" else _torch_grads
    g_fast = grads(H, B, which, closure=False)
    assert spy == [True]  # the host path ran
    g_ref = grads(H, B, which, closure=True)
    assert spy.count(True) == 1  # a closure has no matrix to factor: the plain solves
    assert np.max(np.abs(g_fast - g_ref)) <= 1e-9 * np.max(np.abs(g_ref))


@pytest.mark.slow
def test_complex_bloch_jax(spy):
    H = _well(12, True)
    g_fast, g_ref = _jax_grads(H, None, "smallest", False), _jax_grads(H, None, "smallest", True)
    assert spy == [True]
    assert np.max(np.abs(g_fast - g_ref)) <= 1e-9 * np.max(np.abs(g_ref))


@pytest.mark.slow
def test_forward_mode_jax(spy):
    H = _well(12)
    t_fast, t_ref = _jax_grads(H, None, "smallest", False, "fwd"), _jax_grads(H, None, "smallest", True, "fwd")
    assert spy == [True]
    assert abs(t_fast - t_ref) <= 1e-9 * abs(t_ref)


def test_gradient_matches_central_differences():
    """Independent of the unpreconditioned path: the loss's directional derivative by tight solves."""
    H = _well(10)
    n = H.shape[0]
    probes = np.linspace(0.3 * n, 0.7 * n, 5).astype(int)
    g = _torch_grads(H, None, "smallest", closure=False)
    d = np.random.default_rng(2).standard_normal(n)

    def L(s):
        w, V = sla.eigsh(H + sp.diags(s * d), K, sigma=-10.0, which="LM", tol=1e-14)
        return np.sum(w) + n * np.sum(V[probes] ** 2)

    e = 1e-5
    fd = (L(e) - L(-e)) / (2 * e)
    assert abs(g @ d - fd) <= 1e-6 * abs(fd)


def _cfg(which="smallest"):
    p = config.Problem(n=144, real_bits=64, complex=False, has_B=False, has_T=False, host=True)
    return config.hermitian(p, K, which, None, "arpack", block_size=None, ncv=None, tol=None, maxiter=None,
                            adjoint_solver=None, adjoint_tol=None, adjoint_maxiter=None, cluster_rtol=None,
                            gauge="raise", on_failure="raise")


def test_no_preconditioner_where_shift_is_not_definite():
    """A forward solve that missed the lowest eigenvalue (or an indefinite matrix) puts the shift
    inside the spectrum: the factorisation's pivots show it and no preconditioner is built."""
    H = _well(12)
    w = np.linalg.eigvalsh(H.toarray())
    host = lambda: (H, None)  # noqa: E731
    assert driver.host_system(_cfg(), None, w[:K], host) is not None
    assert driver.host_system(_cfg(), None, w[1:K + 1], host) is None  # the lowest pair missed
    assert driver.host_system(_cfg("largest"), None, w[-K - 1:-1], host) is None
    assert factor.shifted_inverse(H, None, w[0] + 1e-3, 1.0) is None


def test_only_for_sparse_matrices_without_a_preconditioner():
    H = _well(8)
    w = np.linalg.eigvalsh(H.toarray())[:K]
    assert driver.host_system(_cfg(), None, w, lambda: (sla.aslinearoperator(H), None)) is None
    assert driver.host_system(_cfg(), None, w, lambda: (H.toarray(), None)) is None
    assert driver.host_system(_cfg(), lambda X: X, w, lambda: (H, None)) is None
    assert driver.host_system(_cfg(), None, w, None) is None


def test_shifted_inverse_solves():
    H = _well(8)
    s = np.linalg.eigvalsh(H.toarray())[0] - 0.5
    T = factor.shifted_inverse(H, _mass(64), s, 1.0)
    X = np.random.default_rng(0).standard_normal((64, 3))
    assert np.allclose((H - s * _mass(64)) @ T(X), X, atol=1e-10 * np.abs(X).max())
    T32 = factor.shifted_inverse(H.astype(np.float32), None, s, 1.0)
    assert T32(X.astype(np.float32)).dtype == np.float32


def test_volume_meshes_are_not_factorised():
    """Past ``MAX_N_VOLUME`` only planar sparsity graphs are factorised (a volume mesh's LU fills like
    n^{4/3} at a cost ~ n^2): the graph's ball growth tells them apart."""
    N = 22  # 10648 unknowns, just past MAX_N_VOLUME
    D = sp.diags([-np.ones(N - 1), 2.0 * np.ones(N), -np.ones(N - 1)], [-1, 0, 1])
    I = sp.eye(N)
    L3 = (sp.kron(sp.kron(D, I), I) + sp.kron(sp.kron(I, D), I) + sp.kron(sp.kron(I, I), D)).tocsr()
    assert L3.shape[0] > factor.MAX_N_VOLUME
    assert factor.mesh_dimension(L3) > factor.PLANAR
    assert factor.shifted_inverse(L3, None, -0.1, 1.0) is None
    H = _well(110)  # 12100 unknowns, planar: factorised
    assert factor.mesh_dimension(H) <= factor.PLANAR
    assert factor.shifted_inverse(H, None, -10.0, 1.0) is not None
    n, i = 3000, np.arange(3000)  # a ring with random chords: small diameter, no mesh
    E = sp.coo_matrix((np.ones(2 * n), (np.r_[i, i], np.r_[(i + 1) % n, np.random.default_rng(0).permutation(n)])))
    assert factor.mesh_dimension(E + E.T) == float("inf")
