"""eigsh / eigs faults and interfaces: cut clusters, non-convergence, gauge-dependent losses, the
number of product VJPs, operator forms (sparse, matrix-free with parameters, SciPy, user solver),
preconditioning, diagnostics."""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp

from eigengrad.errors import ConvergenceError, ConvergenceWarning, GaugeError
from test_iterative_problems import grid, laplacian_1d, loss_weights

N1 = 12  # symmetric square grid: exactly degenerate pairs


def square(n1=N1):
    L = laplacian_1d(n1)
    return (sp.kron(L, sp.eye(n1)) + sp.kron(sp.eye(n1), L)).toarray()


def test_cut_cluster_raises(fw):
    from eigengrad.errors import ClusterCutError

    A = fw.asarray(square())  # λ1 = λ2 (indices 1, 2): k = 2 cuts that pair
    with pytest.raises(ClusterCutError, match="increase k|Increase k"):
        fw.grad(lambda A: fw.xp.sum(fw.eg.eigsh(A, 2)[0]), A)
    # the first eigenvalue alone is not touched by the cut
    g = fw.grad(lambda A: fw.eg.eigsh(A, 2)[0][0], A)
    assert np.isfinite(g).all()


def test_forward_nonconvergence(fw):
    A = fw.asarray(grid(12).toarray())
    with pytest.raises(ConvergenceError, match="did not converge"):
        fw.eg.eigsh(A, 4, maxiter=2, solver="lobpcg")
    with pytest.warns(ConvergenceWarning):
        w, V = fw.eg.eigsh(A, 4, maxiter=2, on_failure="warn", solver="lobpcg")
    assert w.shape == (4,)


def test_adjoint_nonconvergence(fw):
    A = fw.asarray(grid(12).toarray())
    M = fw.asarray(np.random.default_rng(0).standard_normal((144, 4)))

    def loss(A, **kw):
        return fw.xp.sum(M * fw.xp.abs(fw.eg.eigsh(A, 4, adjoint_maxiter=2, **kw)[1]) ** 2)

    with pytest.raises(ConvergenceError, match="adjoint"):
        fw.grad(loss, A)
    with pytest.warns(ConvergenceWarning, match="adjoint"):
        fw.grad(lambda A: loss(A, on_failure="warn"), A)


def test_gauge_dependent_loss_raises(fw):
    A = fw.asarray(grid(12, phase=(0.7, -1.3)).toarray())
    with pytest.raises(GaugeError):
        fw.grad(lambda A: fw.xp.real(fw.eg.eigsh(A, 4)[1][0, 0]), A)


def test_info(fw):
    A = fw.asarray(grid(12).toarray())
    w, V, info = fw.eg.eigsh(A, 4, return_info=True)
    res, gap, err = (fw.numpy(x) for x in (info.residuals, info.gap, info.grad_error))
    assert (res <= 1e-10).all() and (gap > 0.05).all()
    np.testing.assert_allclose(err, res * np.abs(fw.numpy(w)).max() / gap, rtol=1e-12)


def test_preconditioner_cuts_iterations(fw):
    A = grid(12).toarray()
    sigma = np.linalg.eigvalsh(A)[0] - 0.5  # below the spectrum: (A - σ)^{-1} is positive definite
    Tm = np.linalg.inv(A - sigma * np.eye(A.shape[0]))
    Tt = fw.asarray(Tm)
    At = fw.asarray(A)
    _, _, plain = fw.eg.eigsh(At, 4, solver="lobpcg", return_info=True)
    w, V, pre = fw.eg.eigsh(At, 4, preconditioner=lambda X: Tt @ X, return_info=True)
    assert int(pre.iterations) < 0.6 * int(plain.iterations)
    np.testing.assert_allclose(fw.numpy(w), np.linalg.eigvalsh(A)[:4], rtol=1e-11)
    M = fw.asarray(np.random.default_rng(1).standard_normal((A.shape[0], 4)))

    def loss(A, **kw):
        return fw.xp.sum(M * fw.xp.abs(fw.eg.eigsh(A, 4, **kw)[1]) ** 2)

    g1 = fw.grad(lambda A: loss(A, preconditioner=lambda X: Tt @ X), At)
    g2 = fw.grad(loss, At)
    assert np.abs(g1 - g2).max() < 1e-8 * np.abs(g2).max()


def test_user_solver(fw):
    """The adjoint needs only converged pairs: any solver, here a dense one, gives the same gradient."""
    A = grid(12).toarray()
    At = fw.asarray(A)
    k = 4

    def dense_solver(matvec, k, *, B, X0, which, sigma, tol, maxiter, preconditioner):
        w, V = fw.eg.eigh(matvec(fw.asarray(np.eye(A.shape[0]))))
        return w[: k + 2], V[:, : k + 2]

    M = fw.asarray(np.random.default_rng(2).standard_normal((144, k)))

    def loss(A, **kw):
        w, V = fw.eg.eigsh(A, k, **kw)
        return fw.xp.sum(w) + fw.xp.sum(M * fw.xp.abs(V) ** 2)

    g1 = fw.grad(lambda A: loss(A, solver=dense_solver), At)
    g2 = fw.grad(loss, At)
    assert np.abs(g1 - g2).max() < 1e-8 * np.abs(g2).max()


def test_scipy_operator_values(fw):
    A = grid(12).tocsr()
    w, V = fw.eg.eigsh(sp.linalg.aslinearoperator(A), 4)
    np.testing.assert_allclose(fw.numpy(w), np.linalg.eigvalsh(A.toarray())[:4], rtol=1e-11)
