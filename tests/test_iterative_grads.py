"""eigsh / eigs against dense eigengrad eigh / eig: eigenvalues and gradients of losses mixing
eigenvalues and gauge-invariant eigenvector functions, on both front ends (``fw`` fixture)."""

import numpy as np
import pytest
import scipy.sparse as sp

from test_iterative_problems import advection_diffusion, grid, laplacian_1d, loss_weights, mass_1d

RTOL = 1e-7


def rel(a, b):
    return float(np.max(np.abs(np.asarray(a) - np.asarray(b))) / np.max(np.abs(np.asarray(b))))


def hermitian_loss(fw, c, M):
    c, M = fw.asarray(c), fw.asarray(M)
    return lambda w, V: fw.xp.sum(c * w) + fw.xp.sum(M * fw.xp.abs(V) ** 2)


def dense_window(fw, A, k, which, B=None, sigma=None, n=None):
    """The k wanted pairs of a dense solve, ascending; for ``sigma`` the indices come from the
    NumPy spectrum ``sigma=(value, eigenvalues)``."""
    w, V = fw.eg.eigh(A) if B is None else fw.eg.eigh(A, B)
    if sigma is not None:
        value, wn = sigma
        idx = np.sort(np.argsort(np.abs(wn - value), kind="stable")[:k])
    else:
        m = w.shape[0]
        idx = np.arange(k) if which == "smallest" else np.arange(m - k, m)
    idx = fw.asarray(idx)
    return w[idx], V[:, idx]


@pytest.mark.parametrize("which,solver", [("smallest", "lobpcg"), ("largest", "lobpcg"), ("smallest", "arpack"),
                                          ("largest", "lanczos")])
def test_real_grid(fw, which, solver):
    rng = np.random.default_rng(0)
    A = grid(12).toarray()  # n = 144
    k = 4
    c, M = loss_weights(rng, A.shape[0], k)
    loss = hermitian_loss(fw, c, M)
    At = fw.asarray(A)
    w, _ = fw.eg.eigsh(At, k, which=which, solver=solver)
    w_ref, _ = dense_window(fw, At, k, which)
    assert rel(fw.numpy(w), fw.numpy(w_ref)) < 1e-12
    g = fw.grad(lambda A: loss(*fw.eg.eigsh(A, k, which=which, solver=solver)), At)
    g_ref = fw.grad(lambda A: loss(*dense_window(fw, A, k, which)), At)
    assert rel(g, g_ref) < RTOL


@pytest.mark.parametrize("solver", ["lobpcg", "lanczos"])
def test_complex_bloch(fw, solver):
    rng = np.random.default_rng(1)
    A = grid(12, phase=(0.7, -1.3)).toarray()  # n = 144, complex Hermitian
    assert np.abs(A.imag).max() > 0.1
    k = 4
    c, M = loss_weights(rng, A.shape[0], k)
    loss = hermitian_loss(fw, c, M)
    At = fw.asarray(A)
    g = fw.grad(lambda A: loss(*fw.eg.eigsh(A, k, solver=solver)), At)
    g_ref = fw.grad(lambda A: loss(*dense_window(fw, A, k, "smallest")), At)
    assert rel(g, g_ref) < RTOL


def test_generalized(fw):
    rng = np.random.default_rng(2)
    n, k = 144, 4
    A = (laplacian_1d(n) + sp.diags(0.01 * (np.arange(n) - n / 3) ** 2 / n)).toarray()
    B = mass_1d(n).toarray()
    c, M = loss_weights(rng, n, k)
    loss = hermitian_loss(fw, c, M)
    At, Bt = fw.asarray(A), fw.asarray(B)
    w, V = fw.eg.eigsh(At, k, B=Bt)
    w_ref, _ = dense_window(fw, At, k, "smallest", B=Bt)
    assert rel(fw.numpy(w), fw.numpy(w_ref)) < 1e-10
    Vn = fw.numpy(V)
    assert np.allclose(Vn.conj().T @ B @ Vn, np.eye(k), atol=1e-10)
    gA, gB = fw.grad(lambda A, B: loss(*fw.eg.eigsh(A, k, B=B)), At, Bt, argnums=(0, 1))
    rA, rB = fw.grad(lambda A, B: loss(*dense_window(fw, A, k, "smallest", B=B)), At, Bt, argnums=(0, 1))
    assert rel(gA, rA) < RTOL and rel(gB, rB) < RTOL


def test_interior_window_minres(fw):
    """sigma inside the spectrum: ARPACK shift-invert forward, MINRES (indefinite) adjoint."""
    rng = np.random.default_rng(3)
    A = grid(12).toarray()  # n = 144
    k, sigma = 4, 3.1
    c, M = loss_weights(rng, A.shape[0], k)
    loss = hermitian_loss(fw, c, M)
    At = fw.asarray(A)
    g = fw.grad(lambda A: loss(*fw.eg.eigsh(A, k, sigma=sigma, solver="arpack")), At)
    spectrum = np.linalg.eigvalsh(A)
    g_ref = fw.grad(lambda A: loss(*dense_window(fw, A, k, None, sigma=(sigma, spectrum))), At)
    assert rel(g, g_ref) < RTOL


def test_cluster_inside_k(fw):
    """Exactly degenerate pairs inside the window (a symmetric square well): gauge-invariant losses
    (equal weights on each cluster) match dense eigh."""
    n1 = 12
    L = laplacian_1d(n1)
    A = (sp.kron(L, sp.eye(n1)) + sp.kron(sp.eye(n1), L)).toarray()  # λ(i,j) = λ(j,i): pairs
    w_all = np.linalg.eigvalsh(A)
    k = 4  # clusters (0), (1,2), (3); the 5th is separate
    assert w_all[2] - w_all[1] < 1e-12 and w_all[4] - w_all[3] > 1e-3
    rng = np.random.default_rng(4)
    c, M = loss_weights(rng, A.shape[0], k, groups=[[1, 2]])
    loss = hermitian_loss(fw, c, M)
    At = fw.asarray(A)
    g = fw.grad(lambda A: loss(*fw.eg.eigsh(A, k)), At)
    g_ref = fw.grad(lambda A: loss(*dense_window(fw, A, k, "smallest")), At)
    assert rel(g, g_ref) < RTOL


def test_large_chain_shift_invert(fw):
    """n = 1000 (eigenvalues 1e-5 apart near σ): shift-invert ARPACK forward, MINRES adjoint
    preconditioned by (A - σ)^{-1} (sparse LU)."""
    n, k, sigma = 1000, 3, -0.01
    A = (laplacian_1d(n) + sp.diags(1e-5 * np.sin(np.arange(n) / 40.0) ** 2)).tocsc()
    lu = sp.linalg.splu((A - sigma * sp.eye(n)).tocsc())
    rng = np.random.default_rng(5)
    c, M = loss_weights(rng, n, k)
    loss = hermitian_loss(fw, c, M)
    if fw.name == "jax":
        import jax

        def T(X):
            shape = jax.ShapeDtypeStruct(X.shape, X.dtype)
            return jax.pure_callback(lambda x: lu.solve(np.asarray(x)), shape, X)
    else:
        def T(X):
            return fw.asarray(lu.solve(fw.numpy(X)))
    At = fw.asarray(A.toarray())
    g = fw.grad(lambda A: loss(*fw.eg.eigsh(A, k, sigma=sigma, solver="arpack", preconditioner=T)), At)
    g_ref = fw.grad(lambda A: loss(*dense_window(fw, A, k, "smallest")), At)
    assert rel(g, g_ref) < RTOL


@pytest.mark.parametrize("solver", ["arpack", "arnoldi"])
def test_eigs_advection_diffusion(fw, solver):
    n, k = 144, 4
    A = advection_diffusion(n).toarray()
    At = fw.asarray(A)
    w_all = fw.numpy(fw.eg.eig(At)[0])  # this front end's LAPACK order
    idx = np.argsort(-w_all.real, kind="stable")[:k]
    rng = np.random.default_rng(6)
    c = rng.standard_normal(k) + 1j * rng.standard_normal(k)
    M = fw.asarray(rng.standard_normal((n, k)))
    xp = fw.xp
    cc = fw.asarray(c)

    def loss(w, V):
        return xp.sum(xp.real(xp.conj(cc) * w)) + xp.sum(M * xp.abs(V) ** 2)

    def dense(A):
        w, V = fw.eg.eig(A)
        i = fw.asarray(idx)
        return w[i], V[:, i]

    w, _ = fw.eg.eigs(At, k, solver=solver)
    assert rel(fw.numpy(w), w_all[idx]) < 1e-10
    g = fw.grad(lambda A: loss(*fw.eg.eigs(A, k, solver=solver)), At)
    g_ref = fw.grad(lambda A: loss(*dense(A)), At)
    assert rel(g, g_ref) < RTOL
