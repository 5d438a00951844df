"""Regression: the spectraplex QP of the photonic TE band-gap run (``minimize(..., method="cluster")``,
iteration 14, the diagonal-metric fallback of the proximal step).

The barrier method used to cut ``μ`` by 200 after at most 60 Newton steps whether or not the iterate
had been re-centred. On this problem re-centring at ``μ ≈ 2e-4`` and ``1e-6`` needs more (the
eigenbasis of the 9×9 block has to rotate, which damped Newton does in small steps), so ``μ`` kept
shrinking from points off the central path: the smallest eigenvalue of ``Z`` fell to ~1e-19
(below ``eps·|Z|``), and the solve either raised ``LinAlgError`` (Cholesky in the step-length rule,
the TE run) or stopped with a wrong answer while reporting a 4e-12 duality gap (this input).

``tests/data/spectraplex_te_iter14.npz`` holds that QP with ``C`` replaced by its numerical-rank
(18) truncation ``P @ Q`` (the other singular values are below 4e-14; the full ``C`` is 89 kB): the
same mechanism, old value 0.0233 against the optimum 1.19e-4.
"""

from pathlib import Path

import numpy as np
import pytest

from eigengrad.nonsmooth import _spectraplex as sp

DATA = Path(__file__).parent / "data" / "spectraplex_te_iter14.npz"


@pytest.fixture(autouse=True, scope="module")
def _one_blas_thread():
    from eigengrad.nonsmooth import blas_threads

    with blas_threads(1):
        yield


def _problem():
    r = np.load(DATA)
    C = r["P"] @ r["Q"]
    layout = sp.BlockLayout((1, 9), (0, 1), tuple(float(t) for t in r["traces"]), True, (None, None))
    return C, r["l"], layout, dict(tau=r["tau"], lo=r["lo"], hi=r["hi"])


def _primal(C, l, layout, tau, d):
    """``Σ_t w_t λ_max(L_t + Σ_j d_j G_tj) + Σ_j d_j²/(2τ_j)``: the problem whose dual ``solve`` solves
    (one block per term here), so that ``primal(d) + F(z) ≥ 0`` for feasible ``z``, ``= 0`` at the optimum."""
    coords = C.T @ d + l
    val = float(np.sum(d * d / (2 * tau)))
    for E, sl, t in zip(layout.bases(), layout.slices(), layout.terms):
        val += layout.traces[t] * np.linalg.eigvalsh(sp.to_matrix(coords[sl], E))[-1]
    return val


def test_te_band_gap_qp_is_solved_to_its_duality_gap():
    C, l, layout, kw = _problem()
    sol = sp.solve(C, l, layout, **kw)  # used to stop at a point 0.025 from optimal (or raise)
    # Feasible: blocks PSD with the term traces.
    for Z, t in zip(sol.blocks, layout.terms):
        assert np.linalg.eigvalsh(Z)[0] > 0
        assert np.trace(Z).real == pytest.approx(layout.traces[t], rel=1e-12)
    # Optimal: the primal step d = clip(-τ g) closes the duality gap, to the gap the solver reports.
    certificate = _primal(C, l, layout, kw["tau"], sol.d) + sol.value
    assert -1e-10 <= certificate <= 1e-9
    assert sol.gap <= 1e-10
    assert sol.value == pytest.approx(1.1905413e-4, rel=1e-6)


@pytest.mark.parametrize("cap", [None, 1.0])
@pytest.mark.parametrize("complex_", [False, True])
def test_scaled_coordinates_whiten_the_barrier_and_give_the_step_to_the_boundary(cap, complex_):
    # The Newton step is computed in coordinates y with ΔZ = U (D∘Y) Uᴴ, in which the Hessian of
    # -log det Z (- log det(cI - Z)) is the identity. Checked against the z-coordinate Hessian
    # tr(E_a Z⁻¹ E_b Z⁻¹) and the Cholesky step rule, on a Z mild enough for those to be accurate.
    rng = np.random.default_rng(3)
    q = 4
    E = sp.hermitian_basis(q, complex_)
    X = rng.standard_normal((q, q)) + (1j * rng.standard_normal((q, q)) if complex_ else 0)
    U = np.linalg.qr(X)[0]
    w = np.array([1e-3, 0.02, 0.1, 0.5])
    T, ratio = sp._block_scaling(w, U, E, cap)
    Z = (U * w) @ U.conj().T
    sides = [Z] + ([] if cap is None else [cap * np.eye(q) - Z])
    H = sum(np.einsum("aij,jk,bkl,li->ab", E, np.linalg.inv(S), E, np.linalg.inv(S)).real for S in sides)
    np.testing.assert_allclose(T.T @ H @ T, np.eye(len(E)), atol=1e-10)
    for _ in range(5):  # 0.99 × the step to the boundary
        y = rng.standard_normal(len(E))
        dZ = sp.to_matrix(T @ y, E)
        expected = 1.0
        for S, dS in zip(sides, (dZ, -dZ)):
            Li = np.linalg.inv(np.linalg.cholesky(S))
            m = np.linalg.eigvalsh(Li @ dS @ Li.conj().T)[0]
            if m < 0:
                expected = min(expected, -0.99 / m)
        assert ratio(y) == pytest.approx(expected, rel=1e-9)
