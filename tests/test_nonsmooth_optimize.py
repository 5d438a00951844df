"""The cluster-model optimizer against known optima (published values, tests/data/sdplib/README.md) and an SDP solver."""

from pathlib import Path

import numpy as np
import pytest

from eigengrad.nonsmooth import (
    AffineFamily,
    lambda_max,
    min_norm_subgradient,
    minimize,
    minimize_lse,
    sdpa,
    structure,
    top_k_sum_value_and_grad,
)

SDPLIB = Path(__file__).resolve().parent / "data" / "sdplib"  # vendored, see its README.md


@pytest.fixture(autouse=True, scope="module")
def _one_blas_thread():
    """Small dense linear algebra: OpenBLAS threads only contend (see eigengrad.nonsmooth.blas_threads)."""
    from eigengrad.nonsmooth import blas_threads

    with blas_threads(1):
        yield


def _random_affine(n, p, seed):
    rng = np.random.default_rng(seed)
    sym = lambda: (lambda X: (X + X.T) / 2)(rng.standard_normal((n, n)))  # noqa: E731
    return sym(), np.stack([sym() for _ in range(p)])


def _clarabel_lambda_max(A0, As, bounds=None):
    cp = pytest.importorskip("cvxpy")
    x = cp.Variable(As.shape[0])
    cons = [] if bounds is None else [x >= bounds[0], x <= bounds[1]]
    prob = cp.Problem(cp.Minimize(cp.lambda_max(A0 + sum(x[i] * As[i] for i in range(As.shape[0])))), cons)
    prob.solve(solver="CLARABEL")
    return prob.value


def test_lovasz_theta_c5():
    # min_t λ_max(J + t Adj(C5)) = √5 at t* = -5/(2+φ), top eigenvalue triple (Lovász 1979).
    adj = np.roll(np.eye(5), 1, axis=1) + np.roll(np.eye(5), -1, axis=1)
    fam = AffineFamily(np.ones((5, 5)), adj[None])
    res = minimize(fam, lambda_max(), np.zeros(1))
    assert res.converged
    assert res.f == pytest.approx(np.sqrt(5), rel=1e-10)
    assert res.theta[0] == pytest.approx(-5 / (2 + (1 + np.sqrt(5)) / 2), abs=1e-7)
    assert structure(fam, lambda_max(), res.theta, rtol=1e-7).multiplicities == (3,)
    assert min_norm_subgradient(fam, lambda_max(), res.theta, rtol=1e-7).stationarity < 1e-6


@pytest.mark.parametrize("n,p,seed", [(10, 5, 3), (20, 10, 0), pytest.param(30, 40, 1, marks=pytest.mark.slow)])
def test_random_affine_reaches_sdp_optimum_where_gradient_descent_stalls(n, p, seed):
    A0, As = _random_affine(n, p, seed)
    fstar = _clarabel_lambda_max(A0, As)
    fam = AffineFamily(A0, As)
    res = minimize(fam, lambda_max(), np.zeros(p), maxiter=100)
    gap = (res.f - fstar) / abs(fstar)
    assert res.converged and gap <= 1e-6
    assert structure(fam, lambda_max(), res.theta, rtol=1e-6).multiplicities[0] >= 2
    naive = minimize(fam, lambda_max(), np.zeros(p), method="gradient", maxiter=300)
    assert (naive.f - fstar) / abs(fstar) > 1e-4  # stalls: the one-eigenvector gradient zig-zags
    smooth = minimize_lse(fam, lambda_max(), np.zeros(p), maxiter=3000)
    assert (smooth.f - fstar) / abs(fstar) <= 1e-5  # smoothing gets close, at many more evaluations
    assert smooth.iterations > 5 * res.iterations


def test_steepest_descent_reaches_c5_and_smooth_top_k_gradient():
    adj = np.roll(np.eye(5), 1, axis=1) + np.roll(np.eye(5), -1, axis=1)
    fam = AffineFamily(np.ones((5, 5)), adj[None])
    res = minimize(fam, lambda_max(), np.zeros(1), method="steepest", maxiter=200)
    assert res.f == pytest.approx(np.sqrt(5), rel=1e-6)
    A0, As = _random_affine(8, 3, 4)
    fam = AffineFamily(A0, As)
    theta, h = np.array([0.1, -0.2, 0.3]), 1e-6
    f, g = top_k_sum_value_and_grad(fam, theta, 3)
    assert f == pytest.approx(np.sort(np.linalg.eigvalsh(fam.matrices(theta)[0][0]))[-3:].sum())
    fd = [(top_k_sum_value_and_grad(fam, theta + h * e, 3)[0] - top_k_sum_value_and_grad(fam, theta - h * e, 3)[0]) / (2 * h)
          for e in np.eye(3)]
    np.testing.assert_allclose(g, fd, atol=1e-7)


def test_box_constraints_match_sdp_with_bounds():
    A0, As = _random_affine(15, 8, 2)
    lower, upper = -0.15 * np.ones(8), 0.15 * np.ones(8)
    fstar = _clarabel_lambda_max(A0, As, (lower, upper))
    fam = AffineFamily(A0, As)
    res = minimize(fam, lambda_max(), np.zeros(8), bounds=(lower, upper), maxiter=100)
    assert np.all(res.theta >= lower) and np.all(res.theta <= upper)
    assert np.any(np.isclose(res.theta, lower) | np.isclose(res.theta, upper))  # the box is active
    assert (res.f - fstar) / abs(fstar) <= 1e-6
    sub = min_norm_subgradient(fam, lambda_max(), res.theta, bounds=(lower, upper), rtol=1e-6)
    assert sub.stationarity < 1e-4 * min_norm_subgradient(fam, lambda_max(), res.theta, rtol=1e-6).stationarity + 1e-6


@pytest.mark.slow
def test_sdplib_theta1():
    c, F = sdpa.read(SDPLIB / "theta1.dat-s")
    assert len(F) == 105 and F[0].shape == (50, 50) and np.all(F[0] == 1) and np.all(F[1] == np.eye(50))
    fam = sdpa.theta_family(F)
    res = minimize(fam, lambda_max(), np.zeros(fam.p), maxiter=60)
    assert res.f == pytest.approx(23.0, rel=1e-6)  # SDPLIB 1.2: 23.00000


def test_maxcut_formulation_small():
    # min Σx s.t. Diag(x) ⪰ C equals min_{Σu=0} n λ_max(C + Diag(u)) (the mcp124-1 formulation, n = 20).
    cp = pytest.importorskip("cvxpy")
    rng = np.random.default_rng(6)
    W = np.triu((rng.random((20, 20)) < 0.3).astype(float), 1)
    W = W + W.T
    C = (np.diag(W.sum(1)) - W) / 4
    x = cp.Variable(20)
    prob = cp.Problem(cp.Minimize(cp.sum(x)), [cp.diag(x) - C >> 0])
    prob.solve(solver="CLARABEL")
    fam, factor = sdpa.maxcut_family([C])
    res = minimize(fam, lambda_max(), np.zeros(fam.p), maxiter=60)
    assert factor * res.f == pytest.approx(prob.value, rel=1e-6)


def _fd_check_phi(obj, y, h=1e-7):
    v, g = obj.phi(y)
    fd = [(obj.phi(y + h * e)[0] - obj.phi(y - h * e)[0]) / (2 * h) for e in np.eye(len(y))]
    np.testing.assert_allclose(g, fd, rtol=1e-6)


def test_quarter_wave_stack_maximises_1d_gap_midgap_in_box():
    # 1D photonic crystal, N pixels of ε ∈ [1, 12] per period, -u'' = ω² ε u with Bloch phase k
    # (K = 3 wavevectors, complex Hermitian, generalized B = diag(ε)). The gap between bands 1 and 2
    # is largest for a quarter-wave stack: high-ε fill 1/(1 + √12), ratio (4/π) asin((√12-1)/(√12+1)).
    N, ks = 40, np.linspace(0, np.pi, 3)
    shift = np.roll(np.eye(N), 1, axis=1).astype(complex)
    Ls = []
    for k in ks:
        D = (shift - np.eye(N)) * N
        D[-1, 0] *= np.exp(1j * k)
        Ls.append(D.conj().T @ D)
    Bs = np.zeros((N, len(ks), N, N))
    Bs[np.arange(N), :, np.arange(N), np.arange(N)] = 1.0
    fam = AffineFamily(np.stack(Ls), np.zeros((N, len(ks), N, N)), np.zeros((len(ks), N, N)), Bs)
    from eigengrad.nonsmooth import neg_gap_midgap

    obj = neg_gap_midgap(1, squared=True)
    _fd_check_phi(obj, np.array([2.0, 5.0]))
    rng = np.random.default_rng(8)
    res = minimize(fam, obj, 6.5 + rng.random(N), bounds=(1.0, 12.0), maxiter=150, extra=2)
    assert res.converged
    assert np.all(np.diff(res.history.f) <= 1e-12)  # monotone
    ratio, theory = -res.f, 4 / np.pi * np.arcsin((np.sqrt(12) - 1) / (np.sqrt(12) + 1))
    assert ratio == pytest.approx(theory, rel=5e-3)  # discretisation: 40 pixels
    assert np.all(np.isclose(res.theta, 1.0) | np.isclose(res.theta, 12.0))  # binary: bounds active
    assert np.sum(res.theta > 6) == round(N / (1 + np.sqrt(12)))
    assert min_norm_subgradient(fam, obj, res.theta, bounds=(1.0, 12.0), rtol=1e-6).stationarity < 1e-8
