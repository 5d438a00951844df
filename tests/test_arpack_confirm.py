"""The host default of eigsh: ARPACK confirmed by a deflated run (``_solvers.confirm``). A single
ARPACK start vector misses extra copies of multiple eigenvalues; the confirmation finds them (inside
the window and at its edge), and reports the next eigenvalue as the guard (the gap)."""

import numpy as np
import pytest
import scipy.linalg as la
import scipy.sparse as sp

from eigengrad._iterative import config
from eigengrad._solvers import arpack, confirm, window
from eigengrad.errors import ClusterCutError

M1 = 100  # a 1-D Laplacian of this size, repeated: every eigenvalue exactly multiple


def copies(times: int, m: int = M1):
    """``diag(L, ..., L)`` (``times`` copies of the 1-D Laplacian, scaled to O(1) eigenvalues) and its
    distinct eigenvalues."""
    L = sp.diags([-np.ones(m - 1), 2 * np.ones(m), -np.ones(m - 1)], [-1, 0, 1]) * (m / 10) ** 2
    return sp.block_diag([L] * times).tocsr(), la.eigvalsh(L.toarray())


def solve(A, k, B=None, which="smallest", sigma=None):
    """The confirmed host solve, ordered: ``(w, guard)``."""
    v0 = np.random.default_rng(0).standard_normal(A.shape[0])
    w_all, V_all = confirm.eigsh(A, k, B=B, which=which, sigma=sigma, v0=v0, tol=1e-10, maxiter=10**5)
    w, V, guard = window.split(w_all, V_all, k, which, sigma)
    return w, guard, V


def test_plain_arpack_misses_a_copy():
    """Why the confirmation exists: the forward run alone returns a wrong window on this matrix."""
    A, lam = copies(3)
    v0 = np.random.default_rng(0).standard_normal(A.shape[0])
    w, _ = arpack.run_eigsh(A, 5, which="smallest", v0=v0, tol=1e-10, maxiter=10**5)
    assert not np.allclose(np.sort(w), np.repeat(lam[:2], 3)[:5], rtol=1e-8)


@pytest.mark.parametrize("k", [3, 5, 6])  # triple inside (6), triple cut at the edge (5), edge = triple (3)
def test_triple_eigenvalues_found(k):
    A, lam = copies(3)
    w, guard, V = solve(A, k)
    expect = np.repeat(lam, 3)
    np.testing.assert_allclose(w, expect[:k], rtol=1e-9)
    assert abs(np.min(guard) - expect[k]) <= 1e-2 * (expect[k] - expect[k - 1] or expect[k] - lam[0])
    np.testing.assert_allclose(V.T @ V, np.eye(k), atol=1e-8)
    np.testing.assert_allclose(A @ V - V * w, 0, atol=1e-7 * np.max(np.abs(w)))


@pytest.mark.parametrize("which", ["smallest", "largest"])
def test_generalized_and_largest(which):
    A, lam = copies(2)
    d = np.linspace(1.0, 2.0, M1)
    B = sp.diags(np.concatenate([d, d])).tocsr()  # the same mass on both copies: pencil eigenvalues double
    ref = la.eigh(A[:M1, :M1].toarray(), np.diag(d), eigvals_only=True)
    ref = ref if which == "smallest" else ref[::-1]
    w, guard, V = solve(A, 4, B=B, which=which)
    np.testing.assert_allclose(np.sort(w), np.sort(np.repeat(ref, 2)[:4]), rtol=1e-9)
    # the guard is an estimate (a Ritz value of the loose run): to 1% of the gap
    assert np.min(np.abs(guard - ref[2])) <= 1e-2 * abs(ref[2] - ref[1])
    np.testing.assert_allclose(V.T @ (B @ V), np.eye(4), atol=1e-8)


def test_shift_invert_copies():
    A, lam = copies(2)
    sigma = (lam[3] + lam[4]) / 2 + 1e-3  # nearest: λ4 (two copies), then λ3 (two copies)
    w, guard, _ = solve(A, 3, sigma=sigma)
    np.testing.assert_allclose(np.sort(w), np.sort([lam[4], lam[4], lam[3]]), rtol=1e-9)
    assert np.min(np.abs(guard - lam[3])) <= 1e-2 * (lam[4] - lam[3])


def test_default_finds_copies_and_gap(fw):
    """Both front ends: the default call returns every copy and the right gaps (the third copy of
    λ1 is cut: gap ~0), where the forward ARPACK run alone misses a copy."""
    A, lam = copies(3)
    w, V, info = fw.eg.eigsh(fw.asarray(A.toarray()), 5, return_info=True)
    np.testing.assert_allclose(fw.numpy(w), np.repeat(lam[:2], 3)[:5], rtol=1e-9)
    gap = fw.numpy(info.gap)
    np.testing.assert_allclose(gap[:3], lam[1] - lam[0], rtol=1e-5)
    assert np.all(gap[3:] < 1e-8)


@pytest.mark.slow  # 14 s for JAX at load 15 (compilation of the derivative maps)
def test_default_cut_double_raises(fw):
    A, lam = copies(2)
    At = fw.asarray(A.toarray())
    w = fw.numpy(fw.eg.eigsh(At, 3)[0])
    np.testing.assert_allclose(w, [lam[0], lam[0], lam[1]], rtol=1e-9)
    with pytest.raises(ClusterCutError):
        fw.grad(lambda A: fw.xp.sum(fw.eg.eigsh(A, 3)[0]), At)


def test_auto_choice():
    p = dict(n=1000, real_bits=64, complex=False, has_B=False, has_T=False)
    assert config.choose_hermitian("auto", None, config.Problem(**p, host=True), "eigsh") == "arpack"
    assert config.choose_hermitian("auto", None, config.Problem(**p, host=False), "eigsh") == "lanczos"
    sharded = config.Problem(**p, host=False, sharded=True)
    assert config.choose_hermitian("auto", None, sharded, "eigsh") == "lanczos"
    with_T = config.Problem(**{**p, "has_T": True}, host=True)
    assert config.choose_hermitian("auto", None, with_T, "eigsh") == "lobpcg"


def nonnormal_copies(times: int, m: int = 60):
    """``diag(M, ..., M)`` with ``M`` real, non-normal, complex conjugate pairs in its spectrum: every
    eigenvalue ``times``-fold with independent eigenvectors; and ``M``'s eigenvalues."""
    rng = np.random.default_rng(0)
    Q, _ = np.linalg.qr(rng.standard_normal((m, m)))
    R = rng.standard_normal((m, m))
    M = Q @ np.diag(np.sort(rng.uniform(1, 10, m))) @ Q.T + 0.3 * (R - R.T)
    return sp.block_diag([sp.csr_matrix(M)] * times).tocsr(), np.linalg.eigvals(M)


@pytest.mark.parametrize("which", ["smallest_real", "largest_magnitude"])
def test_eigs_copies_found(which):
    """``eigs``: ARPACK's run alone returned one copy of λ1 and the next distinct values (a wrong
    window, found on this matrix); the confirmation locks the missed copies in."""
    A, lam = nonnormal_copies(3)
    v0 = np.random.default_rng(0).standard_normal(A.shape[0])
    key = (lambda z: z.real) if which == "smallest_real" else (lambda z: -np.abs(z))
    want = np.sort(key(np.repeat(lam, 3)))[:5]
    raw = window.split(*arpack.eigs(A, 5, which=which, v0=v0, tol=1e-10, maxiter=10**5), 5, which, hermitian=False)[0]
    assert not np.allclose(np.sort(key(raw)), want, rtol=1e-8)  # why the confirmation exists
    w_all, V_all = confirm.eigs(A, 5, which=which, v0=v0, tol=1e-10, maxiter=10**5)
    w, V, guard = window.split(w_all, V_all, 5, which, hermitian=False)
    np.testing.assert_allclose(np.sort(key(w)), want, rtol=1e-8)
    assert np.min(key(guard)) >= want[-1] - 1e-8 * abs(want[-1])
    np.testing.assert_allclose(A @ V - V * w, 0, atol=1e-8 * np.max(np.abs(w)))
    assert np.linalg.matrix_rank(V, tol=1e-6) == 5  # copies with independent vectors


def test_eigs_shift_invert_copies():
    A, lam = nonnormal_copies(2)
    target = lam[np.argmin(np.abs(lam - 5.0))]
    sigma = target + 1e-3
    v0 = np.random.default_rng(0).standard_normal(A.shape[0])
    w_all, V_all = confirm.eigs(A, 2, which="largest_magnitude", sigma=sigma, v0=v0, tol=1e-10, maxiter=10**5)
    w, V, _ = window.split(w_all, V_all, 2, "largest_magnitude", sigma, hermitian=False)
    np.testing.assert_allclose(w, [target, target], rtol=1e-8)
    assert np.linalg.matrix_rank(V, tol=1e-6) == 2
