"""Directional derivatives, min-norm Clarke subgradients and certificates (eigengrad.nonsmooth),
checked against one-sided finite differences, closed forms and an SDP solver."""

import numpy as np
import pytest

from eigengrad.nonsmooth import (
    AffineFamily,
    Max,
    Min,
    directional_derivative,
    lambda_max,
    linear,
    min_norm_subgradient,
    neg_gap,
    neg_gap_midgap,
    structure,
)
from eigengrad.nonsmooth import _spectraplex as sp
from eigengrad.nonsmooth.family import eigenvalues


@pytest.fixture(autouse=True, scope="module")
def _one_blas_thread():
    """Small dense linear algebra: OpenBLAS threads only contend (see eigengrad.nonsmooth.blas_threads)."""
    from eigengrad.nonsmooth import blas_threads

    with blas_threads(1):
        yield


def _sym(rng, n, complex_=False):
    X = rng.standard_normal((n, n)) + (1j * rng.standard_normal((n, n)) if complex_ else 0)
    return (X + X.conj().T) / 2


def _degenerate(rng, values, complex_=False):
    """Hermitian matrix with exactly the given eigenvalues (repeats = exact multiplicities)."""
    Q, _ = np.linalg.qr(rng.standard_normal((len(values),) * 2) + (1j * rng.standard_normal((len(values),) * 2) if complex_ else 0))
    return (Q * np.asarray(values, float)) @ Q.conj().T


def _f(fam, obj, theta):
    return obj(eigenvalues(*fam.matrices(theta)))


def _fd_slope(fam, obj, theta, d, h=1e-7):
    return (_f(fam, obj, theta + h * d) - _f(fam, obj, theta)) / h


def test_two_by_two_subdifferential_is_unit_disk():
    # λ_max([[1+x, y], [y, 1-x]]) = 1 + |(x, y)|: at 0, f'(0; d) = |d| (support function of the disk).
    fam = AffineFamily(np.eye(2), np.array([[[1.0, 0], [0, -1]], [[0, 1.0], [1, 0]]]))
    obj = lambda_max()
    rng = np.random.default_rng(0)
    for d in rng.standard_normal((20, 2)):
        assert directional_derivative(fam, obj, np.zeros(2), d) == pytest.approx(np.linalg.norm(d), rel=1e-12)
    sub = min_norm_subgradient(fam, obj, np.zeros(2))
    assert sub.stationarity < 1e-6 and np.all(sub.direction == 0)
    assert structure(fam, obj, np.zeros(2)).multiplicities == (2,)
    x = np.array([0.3, -0.4])
    sub = min_norm_subgradient(fam, obj, x)
    np.testing.assert_allclose(sub.g, x / 0.5, atol=1e-8)
    # In the box x >= 1 at (1, 0) the gradient (1, 0) points out of the box: stationary there.
    assert min_norm_subgradient(fam, obj, np.array([1.0, 0.0])).stationarity == pytest.approx(1.0, rel=1e-8)
    boxed = min_norm_subgradient(fam, obj, np.array([1.0, 0.0]), bounds=([1.0, -2.0], [2.0, 2.0]))
    assert boxed.stationarity < 1e-7


@pytest.mark.parametrize("complex_", [False, True])
def test_directional_derivative_matches_one_sided_fd_at_triple_eigenvalue(complex_):
    rng = np.random.default_rng(1)
    n, p = 8, 5
    A0 = _degenerate(rng, [-2, -1, 0, 0.5, 1, 3, 3, 3], complex_)
    fam = AffineFamily(A0, np.stack([_sym(rng, n, complex_) for _ in range(p)]))
    obj = lambda_max()
    assert structure(fam, obj, np.zeros(p)).multiplicities == (3,)
    for d in rng.standard_normal((10, p)):
        exact = directional_derivative(fam, obj, np.zeros(p), d)
        assert exact == pytest.approx(_fd_slope(fam, obj, np.zeros(p), d), abs=1e-5 * np.linalg.norm(d))
        # one-sided: the slope along -d is not minus the slope along d
        assert directional_derivative(fam, obj, np.zeros(p), -d) > -exact + 1e-3


def test_min_norm_subgradient_certificate_and_steepest_descent():
    rng = np.random.default_rng(2)
    n, p = 9, 6
    A0 = _degenerate(rng, [-3, -2, -1, 0, 0.2, 0.4, 2, 2, 2])
    fam = AffineFamily(A0, np.stack([_sym(rng, n) for _ in range(p)]))
    obj = lambda_max()
    sub = min_norm_subgradient(fam, obj, np.zeros(p))
    assert sub.stationarity > 1e-2  # the Z-image (5-dim affine) generically misses 0 in R^6
    assert abs(sub.certificate) < 1e-8 * sub.stationarity
    # f'(θ; d*) = -|g*|, by the exact formula and by finite differences
    assert sub.slope == pytest.approx(-sub.stationarity, rel=1e-8)
    assert _fd_slope(fam, obj, np.zeros(p), sub.direction) == pytest.approx(-sub.stationarity, abs=1e-5)
    # no unit direction descends faster
    for d in rng.standard_normal((300, p)):
        assert directional_derivative(fam, obj, np.zeros(p), d / np.linalg.norm(d)) >= -sub.stationarity - 1e-9
    # the naive gradient (one eigenvector of the triple eigenvalue) is not the steepest direction
    V = np.linalg.eigh(A0)[1][:, -1]
    g1 = np.array([V @ Aj @ V for Aj in fam.As[:, 0]])
    assert directional_derivative(fam, obj, np.zeros(p), -g1 / np.linalg.norm(g1)) > sub.slope + 1e-3


def test_max_over_matrices_and_generalized_problem():
    # Two matrices whose top eigenvalues tie at θ = 0 (active set spans matrices), generalized B(θ).
    rng = np.random.default_rng(3)
    n, p = 6, 4
    A0 = np.stack([_degenerate(rng, [0, 0.1, 0.3, 0.5, 2, 2]), _degenerate(rng, [-1, 0, 0.2, 0.4, 0.6, 2])])
    As = np.stack([np.stack([_sym(rng, n), _sym(rng, n)]) for _ in range(p)])
    Bs = 0.1 * np.stack([np.stack([_sym(rng, n), _sym(rng, n)]) for _ in range(p)])
    fam = AffineFamily(A0, As, np.stack([np.eye(n)] * 2), Bs)
    obj = lambda_max()
    s = structure(fam, obj, np.zeros(p))
    assert sorted((c.k, len(c.indices)) for c in s.clusters) == [(0, 2), (1, 1)]
    for d in rng.standard_normal((10, p)):
        assert directional_derivative(fam, obj, np.zeros(p), d) == pytest.approx(
            _fd_slope(fam, obj, np.zeros(p), d), abs=2e-5 * np.linalg.norm(d))
    sub = min_norm_subgradient(fam, obj, np.zeros(p))
    assert abs(sub.certificate) < 1e-8 and sub.slope == pytest.approx(-sub.stationarity, rel=1e-7)
    assert _fd_slope(fam, obj, np.zeros(p), sub.direction) == pytest.approx(-sub.stationarity, abs=2e-5)
    traces = [np.trace(Z).real for Z in sub.Z]
    assert sum(traces) == pytest.approx(1.0, abs=1e-9)


def test_gap_objectives_use_both_sides():
    # λ_2 is the top of a double cluster, λ_3 the bottom of another: maximising the gap moves both.
    rng = np.random.default_rng(4)
    n, p = 7, 5
    A0 = _degenerate(rng, [-1, 1, 1, 2, 2, 4, 5])
    fam = AffineFamily(A0, np.stack([_sym(rng, n) for _ in range(p)]))
    for obj in (neg_gap(3), neg_gap_midgap(3), linear([Max(2), Min(3)], [1.0, -1.0])):
        s = structure(fam, obj, np.zeros(p))
        assert sorted(len(c.indices) for c in s.clusters) == [2, 2] and all(c.regular for c in s.clusters)
        for d in rng.standard_normal((8, p)):
            assert directional_derivative(fam, obj, np.zeros(p), d) == pytest.approx(
                _fd_slope(fam, obj, np.zeros(p), d), abs=1e-5 * np.linalg.norm(d))
        sub = min_norm_subgradient(fam, obj, np.zeros(p))
        assert abs(sub.certificate) < 1e-8 * max(1.0, sub.stationarity)
        assert _fd_slope(fam, obj, np.zeros(p), sub.direction) == pytest.approx(sub.slope, abs=1e-5)
        assert len({c.term for c in sub.structure.clusters}) == 2


def test_wrong_sign_objective_is_refused_for_subgradients():
    fam = AffineFamily(np.diag([0.0, 1.0, 1.0]), np.eye(3)[None])
    maximise_lmax = linear([Max(-1)], [-1.0])
    with pytest.raises(ValueError, match="not of max type"):
        min_norm_subgradient(fam, maximise_lmax, np.zeros(1))
    # the exact directional derivative still holds: d(-λ_max)/dθ along +1 is -1
    assert directional_derivative(fam, maximise_lmax, np.zeros(1), np.ones(1)) == pytest.approx(-1.0)


def test_spectraplex_qp_matches_clarabel():
    cp = pytest.importorskip("cvxpy")
    rng = np.random.default_rng(5)
    p, q, tau = 7, 4, 0.7
    E = sp.hermitian_basis(q, False)
    C = rng.standard_normal((p, E.shape[0]))
    l = 0.3 * rng.standard_normal(E.shape[0])
    lo, hi = -0.2 * np.ones(p), 0.3 * np.ones(p)
    sol = sp.solve(C, l, sp.BlockLayout((q,), (0,), (1.0,), False), tau=tau, lo=lo, hi=hi)
    d = cp.Variable(p)
    M = sp.to_matrix(l, E) + sum(d[j] * sp.to_matrix(C[j], E) for j in range(p))
    prob = cp.Problem(cp.Minimize(cp.lambda_max(M) + cp.sum_squares(d) / (2 * tau)), [d >= lo, d <= hi])
    prob.solve(solver="CLARABEL")
    assert -sol.value == pytest.approx(prob.value, abs=1e-7)
    np.testing.assert_allclose(sol.d, d.value, atol=1e-4)


def test_eigenvalue_inside_a_cluster_closed_gap():
    # λ_2 = λ_3 = λ_4 (0-based 1..3): λ_1 is the bottom of the cluster, not its top. Its one-sided
    # derivative is the smallest eigenvalue of G_c(d) (§6.3); the structure flags it as irregular.
    rng = np.random.default_rng(9)
    n, p = 6, 4
    fam = AffineFamily(_degenerate(rng, [0, 1, 1, 1, 3, 4]), np.stack([_sym(rng, n) for _ in range(p)]))
    obj = neg_gap(2)  # -(λ_3 - λ_2) with both inside the closed cluster
    s = structure(fam, obj, np.zeros(p))
    assert [c.regular for c in s.clusters] == [False, False]
    for d in rng.standard_normal((8, p)):
        assert directional_derivative(fam, obj, np.zeros(p), d) == pytest.approx(
            _fd_slope(fam, obj, np.zeros(p), d), abs=1e-5 * np.linalg.norm(d))


@pytest.mark.parametrize("complex_", [False, True])
def test_sums_of_extreme_eigenvalues_split_clusters(complex_):
    # eigenvalues (-1, 0, 1, 1, 1, 3): the top-3 sum counts 3 and two of the triple, the bottom-3
    # sum -1, 0 and one of it. Clarke set {g_fixed + g(Z) : 0 ⪯ Z ⪯ I, tr Z = count}.
    from eigengrad.nonsmooth import BottomSum, TopSum

    rng = np.random.default_rng(10)
    n, p = 6, 8
    fam = AffineFamily(_degenerate(rng, [-1, 0, 1, 1, 1, 3], complex_),
                       np.stack([_sym(rng, n, complex_) for _ in range(p)]))
    for obj, count in ((linear([TopSum(3)], [1.0]), 2), (linear([BottomSum(3)], [-1.0]), 1)):
        s = structure(fam, obj, np.zeros(p))
        assert s.multiplicities == (3,)
        for d in rng.standard_normal((8, p)):
            assert directional_derivative(fam, obj, np.zeros(p), d) == pytest.approx(
                _fd_slope(fam, obj, np.zeros(p), d), abs=1e-5 * np.linalg.norm(d))
        sub = min_norm_subgradient(fam, obj, np.zeros(p))
        assert np.trace(sub.Z[0]).real == pytest.approx(count, abs=1e-9)
        assert np.linalg.eigvalsh(sub.Z[0]).max() <= 1 + 1e-9
        assert sub.stationarity > 1e-2 and abs(sub.certificate) < 1e-8
        assert _fd_slope(fam, obj, np.zeros(p), sub.direction) == pytest.approx(-sub.stationarity, abs=1e-5)
        for d in rng.standard_normal((100, p)):
            assert directional_derivative(fam, obj, np.zeros(p), d / np.linalg.norm(d)) >= -sub.stationarity - 1e-9
    # a sum that takes the whole cluster is smooth there: the subgradient is the gradient
    whole = linear([TopSum(4)], [1.0])
    assert structure(fam, whole, np.zeros(p)).clusters == ()
    h, e = 1e-6, np.eye(p)
    grad = [(_f(fam, whole, h * e[j]) - _f(fam, whole, -h * e[j])) / (2 * h) for j in range(p)]
    np.testing.assert_allclose(min_norm_subgradient(fam, whole, np.zeros(p)).g, grad, atol=1e-7)
