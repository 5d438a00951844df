"""eigengrad.nonsmooth (NumPy, JAX and torch families) against hostile input, by public function.

Each bad argument must give a ValueError/TypeError naming it, raised before the family is evaluated
(a counting family checks that); a documented corner is a documented outcome; valid inputs at extreme
scales give checked results. Inputs are never changed.
"""

import warnings

import numpy as np
import pytest

import eigengrad.nonsmooth as ns

SIGMA = np.array([[[1.0, 0.0], [0.0, -1.0]], [[0.0, 1.0], [1.0, 0.0]]])  # λ_max(I + Σ θ_j S_j) = 1 + |θ|
THETA = np.array([0.3, -0.4])


class Counting:
    """A family that counts its evaluations, to check that argument errors come before any work."""

    def __init__(self, inner):
        self.inner, self.p, self.calls = inner, inner.p, 0

    def matrices(self, theta):
        self.calls += 1
        return self.inner.matrices(theta)

    def linearize(self, theta):
        self.calls += 1
        return self.inner.linearize(theta)


class Returning:
    """A family that returns the given matrices whatever ``θ`` (zero VJP)."""

    def __init__(self, A, B=None):
        self.A, self.B = A, B

    def matrices(self, theta):
        return self.A, self.B

    def linearize(self, theta):
        return ns.Linearization(self.A, self.B, lambda Abar, Bbar: np.zeros((Abar.shape[0], len(theta))))


@pytest.fixture
def fam():
    return Counting(ns.AffineFamily(np.eye(2), SIGMA))


@pytest.fixture(autouse=True, scope="module")
def _one_blas_thread():
    with ns.blas_threads(1):
        yield


def _raises(exc, match, call, family=None):
    with pytest.raises(exc, match=match):
        call()
    if family is not None:
        assert family.calls == 0, "the error came after the family was evaluated"


BAD_THETA = [  # (value, exception, message fragment)
    (np.zeros(3), ValueError, "length 3, expected 2"),
    (np.zeros(1), ValueError, "length 1, expected 2"),
    (np.zeros((1, 2)), ValueError, "must be 1-D"),
    (0.5, ValueError, "must be 1-D"),
    (np.array([np.nan, 0.0]), ValueError, "non-finite"),
    (np.array([0.0, np.inf]), ValueError, "non-finite"),
    (np.array([1j, 0.0]), TypeError, "must be real"),
    (np.array(["a", "b"]), TypeError, "numeric"),
    (None, TypeError, "numeric"),
]

ANALYSES = {
    "structure": lambda f, th: ns.structure(f, ns.lambda_max(), th),
    "directional_derivative": lambda f, th: ns.directional_derivative(f, ns.lambda_max(), th, np.ones(2)),
    "min_norm_subgradient": lambda f, th: ns.min_norm_subgradient(f, ns.lambda_max(), th),
    "minimize": lambda f, th: ns.minimize(f, ns.lambda_max(), th, maxiter=2),
    "minimize_lse": lambda f, th: ns.minimize_lse(f, ns.lambda_max(), th, maxiter=2),
    "lse_value_and_grad": lambda f, th: ns.lse_value_and_grad(f, ns.lambda_max(), th, 0.1),
    "top_k_sum_value_and_grad": lambda f, th: ns.top_k_sum_value_and_grad(f, th, 1),
}


# --- AffineFamily -------------------------------------------------------------------------------


@pytest.mark.parametrize("args, exc, match", [
    ((np.eye(2)[0], SIGMA), ValueError, "A0 must have shape"),
    ((np.ones((2, 3)), SIGMA), ValueError, "A0 must have shape"),
    ((np.zeros((0, 0)), SIGMA), ValueError, "A0 must have shape"),
    ((np.array([["a", "b"], ["c", "d"]]), SIGMA), TypeError, "A0 must be a numeric"),
    ((np.eye(2), SIGMA[0]), ValueError, "As must have shape"),
    ((np.eye(3), SIGMA), ValueError, "inconsistent shapes"),
    ((np.full((2, 2), np.nan), SIGMA), ValueError, "A0 has non-finite"),
    ((np.eye(2), SIGMA + np.inf), ValueError, "As has non-finite"),
    ((np.stack([np.eye(2)] * 2), np.ones((2, 3, 2, 2))), ValueError, "inconsistent shapes"),
    ((np.eye(2), SIGMA, None, SIGMA), ValueError, "Bs given without B0"),
    ((np.eye(2), SIGMA, np.eye(3)), ValueError, "inconsistent shapes"),
    ((np.eye(2), SIGMA, np.eye(2), SIGMA[:1]), ValueError, "inconsistent shapes"),
])
def test_affine_family_rejects(args, exc, match):
    with pytest.raises(exc, match=match):
        ns.AffineFamily(*args)


def test_affine_family_shares_a_missing_K_axis():
    # A0 (K, n, n) with As (p, n, n): the same parameter matrices for every k (this used to fail in the VJP).
    A0 = np.stack([np.eye(2), 3 * np.eye(2)])
    shared = ns.AffineFamily(A0, SIGMA)
    explicit = ns.AffineFamily(A0, np.stack([SIGMA, SIGMA], axis=1))
    d = np.array([0.6, 0.8])
    assert ns.directional_derivative(shared, ns.lambda_max(), THETA, d) == pytest.approx(
        ns.directional_derivative(explicit, ns.lambda_max(), THETA, d), rel=1e-14)
    g1 = ns.lse_value_and_grad(shared, ns.lambda_max(), THETA, 0.1)[1]
    np.testing.assert_allclose(g1, ns.lse_value_and_grad(explicit, ns.lambda_max(), THETA, 0.1)[1], rtol=1e-13)


@pytest.mark.parametrize("theta, exc, match", BAD_THETA)
def test_affine_family_matrices_rejects_theta(theta, exc, match):
    with pytest.raises(exc, match=match):
        ns.AffineFamily(np.eye(2), SIGMA).matrices(theta)


# --- terms and objectives -----------------------------------------------------------------------


@pytest.mark.parametrize("make, exc, match", [
    (lambda: ns.Max(1.5), TypeError, "Term.index must be an integer"),
    (lambda: ns.Max(True), TypeError, "Term.index must be an integer"),
    (lambda: ns.Min("0"), TypeError, "Term.index must be an integer"),
    (lambda: ns.Max(-1, []), ValueError, "Term.matrices is empty"),
    (lambda: ns.Max(-1, [-1]), ValueError, "Term.matrices entry must be >= 0"),
    (lambda: ns.Max(-1, [0.5]), TypeError, "Term.matrices entry must be an integer"),
    (lambda: ns.Max(-1, 3), TypeError, "Term.matrices must be None or a sequence"),
    (lambda: ns.TopSum(0), ValueError, "Term.index must be >= 1"),
    (lambda: ns.BottomSum(2, -1), ValueError, "Term.matrices entry"),
    (lambda: ns.Term("median", 0), ValueError, "Term.kind"),
    (lambda: ns.Term("topsum", 1), ValueError, "exactly one matrix"),
    (lambda: ns.Objective((), lambda y: (0.0, y)), TypeError, "non-empty sequence of Term"),
    (lambda: ns.Objective((ns.Max(), "x"), lambda y: (0.0, y)), TypeError, "sequence of Term"),
    (lambda: ns.Objective((ns.Max(),), None), TypeError, "phi must be callable"),
    (lambda: ns.linear([ns.Max(), ns.Min()], [1.0]), ValueError, "coefficients has length 1, expected 2"),
    (lambda: ns.linear([ns.Max()], [np.nan]), ValueError, "coefficients has non-finite"),
    (lambda: ns.neg_gap(0), ValueError, "m \\(the band below the gap"),
    (lambda: ns.neg_gap_midgap(-1), ValueError, "m \\(the band below the gap"),
    (lambda: ns.neg_gap(1.0), TypeError, "m \\(the band below the gap"),
    (lambda: ns.lambda_max([2.5]), TypeError, "Term.matrices entry"),
])
def test_term_and_objective_constructors_reject(make, exc, match):
    with pytest.raises(exc, match=match):
        make()


def test_numpy_integers_are_valid_indices():
    obj = ns.linear([ns.Max(np.int64(-1), np.array([0]))], [1.0])
    assert ns.structure(ns.AffineFamily(np.eye(2), SIGMA), obj, THETA).f == pytest.approx(1.5, rel=1e-14)


OUT_OF_RANGE = [
    (ns.linear([ns.Max(5)], [1.0]), "eigenvalue index 5 is out of range for 2×2"),
    (ns.linear([ns.Max(-3)], [1.0]), "eigenvalue index -3 is out of range"),
    (ns.linear([ns.Min(2)], [1.0]), "eigenvalue index 2 is out of range"),
    (ns.neg_gap(2), "eigenvalue index 2 is out of range"),  # no band 3 in a 2×2 family
    (ns.lambda_max([1]), "matrix 1 does not exist, the family has 1"),
    (ns.linear([ns.TopSum(3)], [1.0]), "sum of 3 eigenvalues of an 2×2"),
    (ns.linear([ns.BottomSum(1, 4)], [1.0]), "matrix 4 does not exist"),
]
SUMS_TOO = ("structure", "directional_derivative", "min_norm_subgradient")  # the others refuse sums first


@pytest.mark.parametrize("name, obj, match", [
    (name, obj, match) for name in (*SUMS_TOO, "minimize", "lse") for obj, match in OUT_OF_RANGE
    if name in SUMS_TOO or not any(t.is_sum for t in obj.terms)
])
def test_out_of_range_terms_never_wrap_around(fam, name, obj, match):
    call = {
        "structure": lambda: ns.structure(fam, obj, THETA),
        "directional_derivative": lambda: ns.directional_derivative(fam, obj, THETA, np.ones(2)),
        "min_norm_subgradient": lambda: ns.min_norm_subgradient(fam, obj, THETA),
        "minimize": lambda: ns.minimize(fam, obj, THETA, maxiter=2),
        "lse": lambda: ns.lse_value_and_grad(fam, obj, THETA, 0.1),
    }[name]
    with pytest.raises(ValueError, match=match):
        call()


@pytest.mark.parametrize("call", [
    lambda f: ns.minimize(f, ns.linear([ns.TopSum(1)], [1.0]), THETA),
    lambda f: ns.minimize_lse(f, ns.linear([ns.TopSum(1)], [1.0]), THETA),
    lambda f: ns.lse_value_and_grad(f, ns.linear([ns.BottomSum(1)], [1.0]), THETA, 0.1),
])
def test_sum_terms_not_optimised(fam, call):
    _raises(NotImplementedError, "sum terms", lambda: call(fam), fam)


@pytest.mark.parametrize("phi, exc, match", [
    (lambda y: (np.nan, np.ones(1)), ValueError, "phi\\(y\\) is not finite"),
    (lambda y: (1.0, np.array([np.inf])), ValueError, "phi\\(y\\) is not finite"),
    (lambda y: (1.0, np.ones(2)), ValueError, "gradient of shape \\(1,\\)"),
    (lambda y: (np.ones(2), np.ones(1)), ValueError, "must return a real number"),
    (lambda y: 1.0, TypeError, "must return a pair"),
    (lambda y: (1j, np.ones(1)), ValueError, "must return a real number"),
])
def test_phi_output_is_checked(phi, exc, match):
    obj = ns.Objective((ns.Max(),), phi, "custom")
    fam = ns.AffineFamily(np.eye(2), SIGMA)
    for call in (lambda: ns.structure(fam, obj, THETA), lambda: ns.minimize(fam, obj, THETA, maxiter=2),
                 lambda: ns.lse_value_and_grad(fam, obj, THETA, 0.1)):
        with pytest.raises(exc, match=match):
            call()


def test_neg_gap_midgap_needs_positive_band_edges():
    below = ns.AffineFamily(-np.diag([2.0, 1.0]), SIGMA)  # eigenvalues -2.5 … -0.5 near θ
    for squared in (False, True):
        with pytest.raises(ValueError, match="needs positive band edges"):
            ns.structure(below, ns.neg_gap_midgap(1, squared=squared), THETA)
    above = ns.AffineFamily(np.diag([1.0, 4.0]), SIGMA)
    w = np.linalg.eigvalsh(above.matrices(np.zeros(2))[0][0])
    assert ns.structure(above, ns.neg_gap_midgap(1), np.zeros(2)).f == pytest.approx(-2 * (w[1] - w[0]) / (w[1] + w[0]))


# --- structure, directional_derivative, min_norm_subgradient, the smooth stand-ins --------------


@pytest.mark.parametrize("theta, exc, match", BAD_THETA)
@pytest.mark.parametrize("name", list(ANALYSES))
def test_theta_is_checked_before_any_work(fam, name, theta, exc, match):
    _raises(exc, match, lambda: ANALYSES[name](fam, theta), fam)


@pytest.mark.parametrize("d, exc, match", [
    (np.ones(3), ValueError, "d has length 3, expected 2"),
    (np.array([np.nan, 1.0]), ValueError, "d has non-finite"),
    (np.ones((2, 1)), ValueError, "d must be 1-D"),
    (np.array([1j, 0]), TypeError, "d must be real"),
])
def test_direction_is_checked(fam, d, exc, match):
    _raises(exc, match, lambda: ns.directional_derivative(fam, ns.lambda_max(), THETA, d), fam)


@pytest.mark.parametrize("rtol", [0.0, -1e-8, np.nan, np.inf, "1e-8", None])
def test_rtol_is_checked(fam, rtol):
    if rtol is None:  # the default
        assert ns.structure(fam, ns.lambda_max(), THETA).multiplicities == (1,)
        return
    exc = TypeError if isinstance(rtol, str) else ValueError
    for call in (ns.structure, ns.min_norm_subgradient):
        _raises(exc, "rtol", lambda: call(fam, ns.lambda_max(), THETA, rtol=rtol), fam)


@pytest.mark.parametrize("bounds, exc, match", [
    ((1.0, -1.0), ValueError, "lower > upper at parameter 0"),
    (([0.0, 1.0], [1.0, 0.0]), ValueError, "lower > upper at parameter 1"),
    ((np.nan, 1.0), ValueError, "lower has NaN"),
    ((0.0, np.zeros(3)), ValueError, "upper must be a scalar or have length 2"),
    ((np.zeros((2, 2)), 1.0), ValueError, "lower must be a scalar or have length 2"),
    ((0.0, 1.0, 2.0), ValueError, "must be a pair"),
    (1.0, ValueError, "must be a pair"),
    ("ab", ValueError, "must be a pair"),
    ((1j, 2.0), TypeError, "lower must be real"),
    ((np.inf, np.inf), ValueError, "no feasible point"),
])
def test_bounds_are_checked(fam, bounds, exc, match):
    _raises(exc, match, lambda: ns.min_norm_subgradient(fam, ns.lambda_max(), THETA, bounds=bounds), fam)
    _raises(exc, match, lambda: ns.minimize(fam, ns.lambda_max(), THETA, bounds=bounds), fam)
    _raises(exc, match, lambda: ns.minimize_lse(fam, ns.lambda_max(), THETA, bounds=bounds), fam)


def test_min_norm_subgradient_theta_outside_the_box(fam):
    _raises(ValueError, "theta lies outside bounds at parameter 1", lambda: ns.min_norm_subgradient(
        fam, ns.lambda_max(), THETA, bounds=(-1.0, [1.0, -0.5])), fam)
    # On the boundary is inside; there -g = (-0.6, 0.8) points out through both active bounds: stationary.
    sub = ns.min_norm_subgradient(fam, ns.lambda_max(), THETA, bounds=([0.3, -1.0], [1.0, -0.4]))
    assert sub.stationarity < 1e-7


def test_minimize_projects_a_starting_point_outside_the_box(fam):
    res = ns.minimize(fam, ns.lambda_max(), np.array([5.0, 5.0]), bounds=(0.5, 1.0), maxiter=50)
    assert res.converged and res.f == pytest.approx(1 + np.sqrt(0.5), rel=1e-8)
    np.testing.assert_allclose(res.theta, [0.5, 0.5], atol=1e-8)


@pytest.mark.parametrize("name", ["structure", "min_norm_subgradient", "minimize", "lse_value_and_grad"])
def test_obj_must_be_an_objective(fam, name):
    call = {"structure": ns.structure, "min_norm_subgradient": ns.min_norm_subgradient,
            "minimize": ns.minimize, "lse_value_and_grad": lambda f, o, t: ns.lse_value_and_grad(f, o, t, 0.1)}[name]
    _raises(TypeError, "obj must be an Objective", lambda: call(fam, ns.Max(), THETA), fam)


@pytest.mark.parametrize("A, B, exc, match", [
    (np.full((1, 2, 2), np.nan), None, ValueError, "non-finite entries in A"),
    (np.eye(2)[None], np.full((1, 2, 2), np.inf), ValueError, "non-finite entries in B"),
    (np.ones((1, 2, 3)), None, ValueError, "A of shape \\(1, 2, 3\\)"),
    (np.ones(2), None, ValueError, "A of shape \\(2,\\)"),
    (np.zeros((0, 2, 2)), None, ValueError, "A of shape"),
    (np.eye(2, dtype=int)[None], None, TypeError, "A of dtype int"),
    (np.eye(2)[None], np.eye(3)[None], ValueError, "B of shape \\(1, 3, 3\\)"),
    (np.eye(2)[None], np.stack([np.eye(2)] * 2), ValueError, "must match"),
    (np.eye(2)[None], -np.eye(2)[None], ValueError, "B\\(θ\\) of matrix 0 is not positive definite"),
])
def test_family_output_is_checked(A, B, exc, match):
    fam = Returning(A, B)
    for call in (lambda: ns.structure(fam, ns.lambda_max(), THETA),
                 lambda: ns.minimize(fam, ns.lambda_max(), THETA, maxiter=2),
                 lambda: ns.minimize(fam, ns.lambda_max(), THETA, maxiter=2, method="steepest"),
                 lambda: ns.lse_value_and_grad(fam, ns.lambda_max(), THETA, 0.1),
                 lambda: ns.top_k_sum_value_and_grad(fam, THETA, 1)):
        with pytest.raises(exc, match=match):
            call()


def test_a_family_returning_one_matrix_is_a_stack_of_one():
    fam = Returning(np.diag([1.0, 2.0]))
    assert ns.structure(fam, ns.lambda_max(), THETA).f == 2.0


@pytest.mark.parametrize("T", [0.0, -1.0, np.nan, np.inf])
def test_lse_temperature_must_be_positive(fam, T):
    _raises(ValueError, "temperature must be finite and > 0", lambda: ns.lse_value_and_grad(fam, ns.lambda_max(), THETA, T), fam)
    _raises(ValueError, "temperature must be finite and > 0", lambda: ns.minimize_lse(fam, ns.lambda_max(), THETA, temperature=T), fam)
    _raises(ValueError, "min_temperature must be finite and > 0",
            lambda: ns.minimize_lse(fam, ns.lambda_max(), THETA, min_temperature=T), fam)


@pytest.mark.parametrize("k, exc, match", [(3, ValueError, "k = 3 is larger than the matrix size n = 2"),
                                           (0, ValueError, "k must be >= 1"), (1.5, TypeError, "k must be an integer")])
def test_top_k_sum_k_in_range(k, exc, match):
    with pytest.raises(exc, match=match):
        ns.top_k_sum_value_and_grad(ns.AffineFamily(np.eye(2), SIGMA), THETA, k)


# --- minimize options ----------------------------------------------------------------------------


@pytest.mark.parametrize("option, value, exc", [
    ("tol", -1e-3, ValueError), ("tol", np.nan, ValueError), ("tol", "1e-8", TypeError),
    ("maxiter", -1, ValueError), ("maxiter", 10.0, TypeError),
    ("window_rtol", -0.1, ValueError), ("window_rtol", np.inf, ValueError),
    ("extra", -1, ValueError), ("max_window", 0, ValueError), ("outer", -2, ValueError), ("outer", 1.5, TypeError),
    ("tau", -1.0, ValueError), ("tau", 0.0, ValueError), ("tau", np.nan, ValueError),
    ("method", "bogus", ValueError), ("method", None, ValueError),
    ("callback", 3, TypeError),
])
def test_minimize_options_are_checked(fam, option, value, exc):
    _raises(exc, option, lambda: ns.minimize(fam, ns.lambda_max(), THETA, **{option: value}), fam)


@pytest.mark.parametrize("option, value, exc", [("maxiter", 0, ValueError), ("callback", "no", TypeError)])
def test_minimize_lse_options_are_checked(fam, option, value, exc):
    _raises(exc, option, lambda: ns.minimize_lse(fam, ns.lambda_max(), THETA, **{option: value}), fam)


def test_minimize_corner_options_are_valid(fam):
    res = ns.minimize(fam, ns.lambda_max(), THETA, maxiter=0)  # no step: the start, not converged
    assert res.iterations == 0 and not res.converged and res.f == pytest.approx(1.5)
    res = ns.minimize(fam, ns.lambda_max(), THETA, tol=0.0, extra=0, max_window=1, outer=0, window_rtol=0.0, maxiter=40)
    assert res.f == pytest.approx(1.0, abs=1e-6)


# --- scales --------------------------------------------------------------------------------------


@pytest.mark.parametrize("scale", [1e-300, 1e-150, 1e150, 1e300])
def test_extreme_scales(scale):
    # The analysis and the cluster method are scale invariant (the spectraplex QP is solved in scaled
    # units, the stopping test is relative); the comparison methods are documented not to be.
    fam = ns.AffineFamily(scale * np.eye(2), scale * SIGMA)
    sub = ns.min_norm_subgradient(fam, ns.lambda_max(), THETA)
    np.testing.assert_allclose(sub.g, scale * THETA / 0.5, rtol=1e-10)
    assert ns.structure(fam, ns.lambda_max(), np.zeros(2)).multiplicities == (2,)
    d = np.array([0.6, 0.8])
    assert ns.directional_derivative(fam, ns.lambda_max(), np.zeros(2), d) == pytest.approx(scale, rel=1e-12)
    res = ns.minimize(fam, ns.lambda_max(), THETA, maxiter=40)
    assert res.converged and res.f == pytest.approx(scale, rel=1e-8)


@pytest.mark.parametrize("scale", [1e-300, 1e-150, 1e150, 1e300])
def test_comparison_methods_scale_invariant(scale):
    # The naive gradient and the soft-max continuation take the same steps at every scale as at
    # scale 1: the gradient stalls at the kink (its line search fails; before the scaled norm it
    # claimed stationarity at 1e-300, its gradient norm underflowing to 0, and overflowed at 1e300),
    # the continuation ends at the minimiser (L-BFGS-B's tolerances are absolute: at 1e-300 it never
    # moved, at 1e300 its first step left the finite range). "steepest" shares "cluster"'s scaled QP.
    def run(s):
        fam = ns.AffineFamily(s * np.eye(2), s * SIGMA)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            return (ns.minimize(fam, ns.lambda_max(), THETA, method="gradient", maxiter=60),
                    ns.minimize_lse(fam, ns.lambda_max(), THETA, maxiter=300))
    for res, ref in zip(run(scale), run(1.0)):
        assert (res.converged, res.message) == (ref.converged, ref.message)
        assert res.f / scale == pytest.approx(ref.f, rel=1e-8)
        np.testing.assert_allclose(res.theta, ref.theta, atol=1e-8)
    gradient, lse = run(scale)
    assert not gradient.converged and gradient.message == "line search failed"
    assert lse.f == pytest.approx(scale, rel=1e-8)


@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")  # the family's own arithmetic
def test_overflowing_family_is_reported(fam):
    big = np.array([1.7e308, 0.0])
    fam = ns.AffineFamily(np.eye(2), np.array([[[1.0, 0], [0, 0]], [[1.0, 0], [0, 0]]]))
    with pytest.raises(ValueError, match="non-finite entries in A"):
        ns.structure(fam, ns.lambda_max(), big + big[::-1])
    near = ns.AffineFamily(np.diag([1e308, -1e308]), SIGMA)  # Hermitian part formed without overflow
    assert ns.structure(near, ns.lambda_max(), np.zeros(2)).f == 1e308


# --- sdpa, blas_threads --------------------------------------------------------------------------


@pytest.mark.parametrize("text, match", [
    ("", "not an SDPA sparse file"),
    ("2\n1\n2\n1.0\n", "not an SDPA sparse file"),
    ("1\n1\n2\n1.0\n0 1 1 1 x\n", "is not 'k block i j value'"),
    ("1\n1\n2\n1.0\n0 1 3 1 1.0\n", "outside the matrices"),
    ("1\n1\n2\n1.0\n0 1 0 1 1.0\n", "outside the matrices"),
    ("1\n1\n2\n1.0\n2 1 1 1 1.0\n", "outside the matrices"),
    ("1\n1\n2\n1.0\n0 2 1 1 1.0\n", "outside the matrices"),
])
def test_sdpa_read_rejects_malformed_files(tmp_path, text, match):
    path = tmp_path / "bad.dat-s"
    path.write_text(text)
    with pytest.raises(ValueError, match=match):
        ns.sdpa.read(path)


def test_sdpa_read_valid_small_file(tmp_path):
    path = tmp_path / "ok.dat-s"
    path.write_text('"comment\n1\n1\n2\n{2.0}\n0 1 1 2 3.0\n1 1 2 2 -1.0\n')
    c, F = ns.sdpa.read(path)
    np.testing.assert_array_equal(c, [2.0])
    np.testing.assert_array_equal(F[0], [[0, 3.0], [3.0, 0]])
    np.testing.assert_array_equal(F[1], [[0, 0], [0, -1.0]])


@pytest.mark.parametrize("n, exc", [(0, ValueError), (-1, ValueError), (1.5, TypeError), ("2", TypeError)])
def test_blas_threads_rejects(n, exc):
    with pytest.raises(exc, match="BLAS threads"):
        with ns.blas_threads(n):
            pass


# --- inputs never change -------------------------------------------------------------------------


def test_inputs_are_never_mutated():
    rng = np.random.default_rng(0)
    A0 = rng.standard_normal((2, 4, 4))
    As = rng.standard_normal((3, 2, 4, 4))
    B0 = np.stack([np.eye(4) * 2] * 2)
    Bs = 0.01 * rng.standard_normal((3, 2, 4, 4))
    theta, d = rng.uniform(-0.5, 0.5, 3), rng.standard_normal(3)
    lower, upper = -np.ones(3), np.ones(3)
    arrays = [A0, As, B0, Bs, theta, d, lower, upper]
    copies = [a.copy() for a in arrays]
    for a in arrays:
        a.setflags(write=False)  # a write raises at once
    fam = ns.AffineFamily(A0, As, B0, Bs)
    obj = ns.neg_gap(2)
    ns.structure(fam, obj, theta)
    ns.directional_derivative(fam, obj, theta, d)
    ns.min_norm_subgradient(fam, obj, theta, bounds=(lower, upper))
    ns.minimize(fam, obj, theta, bounds=(lower, upper), maxiter=3)
    ns.minimize(fam, obj, theta, bounds=(lower, upper), maxiter=3, method="steepest")
    ns.minimize_lse(fam, obj, theta, bounds=(lower, upper), maxiter=5)
    ns.lse_value_and_grad(fam, obj, theta, 0.1)
    ns.top_k_sum_value_and_grad(fam, theta, 2)
    with pytest.raises(ValueError):
        ns.min_norm_subgradient(fam, obj, theta, bounds=(upper, lower))
    for a, c in zip(arrays, copies):
        np.testing.assert_array_equal(a, c)


# --- front ends ----------------------------------------------------------------------------------


def _jax():
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp

    import eigengrad.jax.nonsmooth as jns

    return jnp, jns


def _torch():
    torch = pytest.importorskip("torch")
    import eigengrad.torch.nonsmooth as tns

    return torch, tns


def test_jax_family_hostile():
    jnp, jns = _jax()
    mat = lambda t: jnp.array([[1 + t[0], t[1]], [t[1], 1 - t[0]]])  # noqa: E731
    with pytest.raises(TypeError, match="A must be a function"):
        jns.Family(jnp.eye(2))
    with pytest.raises(TypeError, match="B must be a function or None"):
        jns.Family(mat, B=jnp.eye(2))
    with pytest.raises(ValueError, match="p must be >= 0"):
        jns.Family(mat, p=-1)
    fam = jns.Family(mat, p=2)
    with pytest.raises(ValueError, match="theta has length 1, expected 2"):  # JAX would clamp t[1] to t[0]
        jns.structure(fam, jns.lambda_max(), np.zeros(1))
    assert jns.directional_derivative(fam, jns.lambda_max(), np.zeros(2), np.array([0.6, 0.8])) == pytest.approx(1.0)
    nan = jns.Family(lambda t: mat(t) * jnp.sqrt(t[0] - 1))
    with pytest.raises(ValueError, match="non-finite entries in A"):
        jns.min_norm_subgradient(nan, jns.lambda_max(), np.zeros(2))
    indefinite = jns.Family(mat, lambda t: jnp.diag(jnp.array([1.0, -1.0])) + 0 * t[0])
    with pytest.raises(ValueError, match="not positive definite"):
        jns.structure(indefinite, jns.lambda_max(), np.zeros(2))
    with pytest.raises(TypeError, match="phi must be a function"):
        jns.objective([jns.Max()], None)
    bad_phi = jns.objective([jns.Max()], lambda y: jnp.log(-y[0]))
    with pytest.raises(ValueError, match="not finite"):
        jns.structure(fam, bad_phi, np.zeros(2))


def test_torch_family_hostile():
    torch, tns = _torch()
    mat = lambda t: torch.stack([torch.stack([1 + t[0], t[1]]), torch.stack([t[1], 1 - t[0]])])  # noqa: E731
    with pytest.raises(TypeError, match="A must be a function"):
        tns.Family(torch.eye(2))
    with pytest.raises(TypeError, match="dtype must be torch.float32 or torch.float64"):
        tns.Family(mat, dtype=torch.int64)
    with pytest.raises(TypeError, match="p must be an integer"):
        tns.Family(mat, p=2.0)
    fam = tns.Family(mat, p=2)
    with pytest.raises(ValueError, match="theta has length 3, expected 2"):
        tns.structure(fam, tns.lambda_max(), np.zeros(3))
    assert tns.directional_derivative(fam, tns.lambda_max(), np.zeros(2), np.array([0.6, 0.8])) == pytest.approx(1.0)
    nan = tns.Family(lambda t: mat(t) * torch.sqrt(t[0] - 1))
    with pytest.raises(ValueError, match="non-finite entries in A"):
        tns.minimize(nan, tns.lambda_max(), np.zeros(2), maxiter=2)
    bad_phi = tns.objective([tns.Max()], lambda y: torch.log(-y[0]))
    with pytest.raises(ValueError, match="not finite"):
        tns.structure(fam, bad_phi, np.zeros(2))
    with pytest.raises(ValueError, match="eigenvalue index 2 is out of range"):
        tns.structure(fam, tns.neg_gap(2), np.zeros(2))
