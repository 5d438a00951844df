"""solver="primme": the optional PRIMME backend of eigsh on the host (``_solvers.primme``). Its values
against dense references, multiple eigenvalues found wholly (PRIMME alone misses copies), the
generalized, complex and shift (sigma) problems, its failures as our errors, and the front ends'
gradients equal to ARPACK's (the derivative is the solver-independent adjoint). Skipped where
PRIMME is not installed, except the checks that need no PRIMME."""

import sys

import numpy as np
import pytest
import scipy.linalg as la
import scipy.sparse as sp

from eigengrad._iterative import config
from eigengrad._solvers import primme as backend
from eigengrad._solvers import window
from eigengrad.errors import ConvergenceError
from frameworks import torch_only, with_spectrum
from test_arpack_confirm import M1, copies

try:
    import primme  # noqa: F401

    HAVE_PRIMME = True
except ImportError:
    HAVE_PRIMME = False
needs_primme = pytest.mark.skipif(not HAVE_PRIMME, reason="PRIMME is not installed (pip install primme)")


def solve(A, k, B=None, which="smallest", sigma=None, **kw):
    """The confirmed PRIMME solve, ordered: ``(w, guard, V)``."""
    v0 = np.random.default_rng(0).standard_normal(A.shape[0])
    w_all, V_all = backend.eigsh(A, k, B=B, which=which, sigma=sigma, v0=v0, tol=1e-10, maxiter=10**5, **kw)
    w, V, guard = window.split(w_all, V_all, k, which, sigma)
    return w, guard, V


def check_pairs(A, B, w, V, rtol=1e-9):
    BV = V if B is None else B @ V
    np.testing.assert_allclose(np.conj(V.T) @ BV, np.eye(len(w)), atol=1e-8)
    assert np.linalg.norm(A @ V - BV * w) <= 1e-9 * np.max(np.abs(w)) * len(w)


@needs_primme
@pytest.mark.parametrize("which", ["smallest", "largest"])
def test_values_match_dense(which):
    rng = np.random.default_rng(1)
    lam = np.sort(rng.uniform(-3.0, 5.0, 300))
    A = with_spectrum(rng, lam)
    w, guard, V = solve(A, 5, which=which)
    ref = lam[:6] if which == "smallest" else lam[::-1][:6]
    np.testing.assert_allclose(w, np.sort(ref[:5]), rtol=1e-9)
    assert abs(np.min(np.abs(guard - ref[5]))) <= 1e-2 * abs(ref[5] - ref[4])
    check_pairs(A, None, w, V)


@needs_primme
def test_complex_hermitian_and_sigma():
    rng = np.random.default_rng(2)
    lam = np.linspace(1.0, 30.0, 250)
    A = with_spectrum(rng, lam, complex_=True)
    w, _, V = solve(A, 4)
    np.testing.assert_allclose(w, lam[:4], rtol=1e-9)
    check_pairs(A, None, w, V)
    w, _, V = solve(A, 3, sigma=10.05)  # the factorisation of A - σI preconditions PRIMME
    np.testing.assert_allclose(w, np.sort(lam[np.argsort(np.abs(lam - 10.05))[:3]]), rtol=1e-9)
    check_pairs(A, None, w, V)


@needs_primme
def test_float32():
    lam = np.linspace(1.0, 10.0, 300)
    A = with_spectrum(np.random.default_rng(4), lam).astype(np.float32)  # ||A|| / λ_1 = 10: reachable in float32
    w_all, V_all = backend.eigsh(A, 3, which="smallest", tol=1e-4, maxiter=10**5)
    w, V, _ = window.split(w_all, V_all, 3, "smallest")
    assert w.dtype == np.float32 and V.dtype == np.float32
    np.testing.assert_allclose(w, lam[:3], rtol=1e-4)
    assert np.max(np.linalg.norm(A @ V - V * w, axis=0)) <= 1e-4 * np.max(np.abs(w))


@needs_primme
@pytest.mark.parametrize("k", [1, 3, 5, 6])  # a copy cut at k = 1, the edge a triple (3), cut (5), inside (6)
def test_multiple_eigenvalues_found_wholly(k):
    A, lam = copies(3)
    w, guard, V = solve(A, k)
    expect = np.repeat(lam, 3)
    np.testing.assert_allclose(w, expect[:k], rtol=1e-9)
    assert np.min(guard) >= expect[k] - 1e-6 * expect[k]
    check_pairs(A, None, w, V)


@needs_primme
def test_generalized_double():
    A, lam = copies(2)
    d = np.linspace(1.0, 2.0, M1)
    B = sp.diags(np.concatenate([d, d])).tocsr()  # the same mass on both copies: every value double
    ref = la.eigh(A[:M1, :M1].toarray(), np.diag(d), eigvals_only=True)
    w, _, V = solve(A, 3, B=B)
    np.testing.assert_allclose(w, np.repeat(ref, 2)[:3], rtol=1e-9)
    check_pairs(A, B, w, V)


@needs_primme
def test_preconditioner_passed_through():
    A, lam = copies(1, 400)
    calls = []

    def jacobi(Y):
        calls.append(Y.shape)
        return Y / A.diagonal()[:, None] if Y.ndim == 2 else Y / A.diagonal()

    w, _, _ = solve(A, 2, preconditioner=jacobi)
    np.testing.assert_allclose(w, lam[:2], rtol=1e-9)
    assert calls


@needs_primme
def test_no_convergence_is_an_error():
    A, _ = copies(1, 400)
    with pytest.raises(ConvergenceError, match="PRIMME did not converge.*maxiter"):
        backend.eigsh(A, 3, which="smallest", tol=1e-10, maxiter=3)


def test_missing_package_names_the_fix(monkeypatch):
    monkeypatch.setitem(sys.modules, "primme", None)  # `import primme` raises ImportError
    with pytest.raises(ImportError, match="pip install primme"):
        backend.eigsh(copies(1)[0], 2, which="smallest", tol=1e-10, maxiter=100)


def test_config_refuses_primme_where_it_cannot_run():
    p = config.Problem(n=500, real_bits=64, complex=False, has_B=False, has_T=False, host=False)
    with pytest.raises(ValueError, match="solver='primme' runs on the host"):
        config.choose_hermitian("primme", None, p, "eigsh")
    with pytest.raises(ValueError, match="sharded"):
        config.choose_hermitian("primme", None, config.Problem(500, 64, False, False, False, True, True), "eigsh")
    kw = dict(ncv=None, tol=None, maxiter=None, adjoint_solver="gmres", adjoint_tol=None, adjoint_maxiter=None,
              restart=20, cluster_rtol=None, gauge="raise", on_failure="raise")
    with pytest.raises(ValueError, match="solver must be one of"):  # eigs: no PRIMME
        config.general(config.Problem(500, 64, False, False, False, True), 3, "largest_real", None, "primme", **kw)


@needs_primme
@pytest.mark.slow  # JAX: 13 s at load 7 (compiling the adjoint); torch 0.3 s
@pytest.mark.parametrize("which", ["smallest", "largest"])
def test_gradients_equal_arpack(fw, which):
    """The solver only changes the forward solve: the adjoint gives the same gradient."""
    if which == "largest":
        torch_only(fw)
    A, _ = copies(1, 120)
    A = A + sp.diags(np.linspace(0.0, 3.0, 120))  # simple spectrum
    At = fw.asarray(A.toarray())
    c = np.random.default_rng(3).standard_normal(120)

    def loss(w, V):
        return (w * fw.xp.arange(1, 5, dtype=w.dtype)).sum() + ((fw.xp.asarray(c) @ V) ** 2).sum()

    g = {s: fw.grad(lambda A: loss(*fw.eg.eigsh(A, 4, which, solver=s)), At) for s in ("arpack", "primme")}
    np.testing.assert_allclose(g["primme"], g["arpack"], atol=1e-7 * np.max(np.abs(g["arpack"])))
