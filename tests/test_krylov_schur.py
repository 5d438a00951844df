"""The native Krylov–Schur eigensolver (``_solvers.krylov_schur``) against dense NumPy/SciPy
references, on torch tensors and on JAX arrays inside ``jax.jit`` (operator closed over a matrix)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.linalg
import torch

from eigengrad._solvers import window
from eigengrad._solvers.krylov_schur import Result, default_ncv, krylov_schur

FWS = ("torch", "jax")
KEYS = {  # the reference meaning of ``which``: ascending key = wanted first
    "smallest": np.real, "largest": lambda w: -np.real(w),
    "largest_real": lambda w: -np.real(w), "smallest_real": np.real,
    "largest_magnitude": lambda w: -np.abs(w), "smallest_magnitude": np.abs,
    "largest_imag": lambda w: -np.imag(w), "smallest_imag": np.imag,
}


def solve(fw: str, M: np.ndarray, x0: np.ndarray, k: int, dtype=None, **kw) -> Result:
    """``krylov_schur`` on ``fw`` arrays (torch eagerly, JAX jitted), results as NumPy."""
    if fw == "torch":
        Mt, xt = torch.as_tensor(M), torch.as_tensor(x0)
        if dtype is not None:
            Mt, xt = Mt.to(dtype), xt.to(dtype)
        r = krylov_schur(lambda X: Mt @ X, xt, k, **kw)
        return Result(*(t.numpy() for t in r))
    f = jax.jit(lambda M, x: krylov_schur(lambda X: M @ X, x, k, **kw))
    return Result(*(np.asarray(t) for t in f(jnp.asarray(M), jnp.asarray(x0))))


def reference(M: np.ndarray, k: int, which: str) -> np.ndarray:
    w = scipy.linalg.eigvals(M)
    w = np.real(w) if np.allclose(M, M.conj().T) else w
    return w[np.argsort(KEYS[which](w), kind="stable")][:k]


def check(M: np.ndarray, r: Result, k: int, which: str, rtol: float, res_tol: float) -> None:
    """The first ``k`` returned pairs are the wanted eigenpairs: each reference eigenvalue has a
    computed one within ``rtol`` (relative) and vice versa, with small independent residuals."""
    ref = reference(M, k, which)
    w, X = r.w[:k], r.X[:, :k]
    d = np.abs(ref[:, None] - w[None, :]) / np.abs(ref)[:, None]
    assert d.min(axis=1).max() < rtol and d.min(axis=0).max() < rtol, (ref, w)
    assert np.allclose(np.linalg.norm(X, axis=0), 1)
    res = np.linalg.norm(M @ X - X * w, axis=0) / np.abs(w).max()  # scale: the k wanted (the front ends test against it)
    assert res.max() < res_tol
    assert np.allclose(r.res[:k], res, rtol=1e-3, atol=res_tol / 100)


def laplacian_2d(N: int) -> np.ndarray:
    T = 2 * np.eye(N) - np.eye(N, k=1) - np.eye(N, k=-1)
    return np.kron(T, np.eye(N)) + np.kron(np.eye(N), T)


def convection_diffusion(N: int, a: float, b: float, periodic_x: bool = False, c: float = 0.0) -> np.ndarray:
    """``-Δu + a u_x + b u_y + c s(x, y) u`` by central differences on an ``N × N`` grid (unit
    spacing), Dirichlet in ``y`` and in ``x`` unless ``periodic_x``: a real non-normal matrix; its
    spectrum is real for ``|a|, |b| < 2`` with Dirichlet conditions, complex with a periodic ``x``."""
    I = np.eye(N)
    S = np.roll(I, 1, axis=1) if periodic_x else np.eye(N, k=1)
    Tx = 2 * I - S - S.T + a * (S - S.T) / 2
    Ty = 2 * I - np.eye(N, k=1) - np.eye(N, k=-1) + b * (np.eye(N, k=1) - np.eye(N, k=-1)) / 2
    x, y = np.meshgrid(np.arange(N) / N, np.arange(N) / N, indexing="ij")
    return np.kron(Tx, I) + np.kron(I, Ty) + np.diag(c * np.sin(2 * np.pi * x.ravel()) * np.sin(np.pi * y.ravel()))


@pytest.mark.parametrize("fw", FWS)
@pytest.mark.parametrize("which", ["smallest", "largest"])
def test_random_symmetric(fw, which):
    rng = np.random.default_rng(0)
    M = rng.standard_normal((200, 200))
    M = (M + M.T) / 2
    r = solve(fw, M, rng.standard_normal((200, 1)), 6, which=which, hermitian=True, tol=1e-11, maxiter=500)
    assert r.w.dtype == np.float64 and r.X.dtype == np.float64 and r.w.shape == (default_ncv(200, 6),)
    check(M, r, 6, which, 1e-12, 1e-10)
    assert np.allclose(r.X[:, :6].T @ r.X[:, :6], np.eye(6), atol=1e-12)
    key = KEYS[which](r.w)
    assert np.all(key[:6, None] <= key[None, 6:])  # the wanted end first


@pytest.mark.parametrize("fw", FWS)
def test_complex_hermitian(fw):
    rng = np.random.default_rng(1)
    M = rng.standard_normal((150, 150)) + 1j * rng.standard_normal((150, 150))
    M = (M + M.conj().T) / 2
    x0 = rng.standard_normal((150, 1)) + 1j * rng.standard_normal((150, 1))
    r = solve(fw, M, x0, 5, which="largest", hermitian=True, tol=1e-11, maxiter=500)
    assert r.w.dtype == np.float64 and r.X.dtype == np.complex128
    check(M, r, 5, "largest", 1e-12, 1e-10)


@pytest.mark.parametrize("dtype", [torch.float32, torch.complex64])
def test_single_precision(dtype):
    rng = np.random.default_rng(2)
    M = rng.standard_normal((200, 200)) + (1j * rng.standard_normal((200, 200)) if dtype.is_complex else 0)
    M = (M + M.conj().T) / 2
    r = solve("torch", M, rng.standard_normal((200, 1)), 4, dtype=dtype, which="smallest", hermitian=True,
              tol=1e-5, maxiter=500)
    assert r.w.dtype == np.float32 and r.X.dtype == (np.complex64 if dtype.is_complex else np.float32)
    check(M.astype(r.X.dtype).astype(M.dtype), r, 4, "smallest", 1e-5, 5e-5)


@pytest.mark.parametrize("fw", FWS)
def test_laplacian_double_eigenvalues(fw):
    """Eigenvalues ``λ(i, j) = λ(j, i)`` of the 2D Laplacian are double. A single start vector's
    Krylov space holds one vector of each: the second copy must be found all the same (at
    tol=1e-10 plain thick restart missed them for this start vector)."""
    M = laplacian_2d(30)
    lam, V = np.linalg.eigh(M)
    r = solve(fw, M, np.random.default_rng(3).standard_normal((900, 1)), 6, which="smallest", hermitian=True,
              tol=1e-10, maxiter=1000)
    o = np.argsort(r.w[:6])
    w, X = r.w[:6][o], r.X[:, :6][:, o]
    assert np.abs(w - lam[:6]).max() / lam[:6].min() < 1e-9
    for pair in ([1, 2], [4, 5]):
        assert abs(lam[pair[1]] - lam[pair[0]]) < 1e-12  # an exact double eigenvalue ...
        P_ref, P = V[:, pair] @ V[:, pair].T, X[:, pair] @ X[:, pair].T
        assert np.linalg.norm(P - P_ref, 2) < 1e-6  # ... whose whole eigenspace is found
    assert np.linalg.norm(M @ X - X * w, axis=0).max() < 1e-9


def test_guard_exposes_a_cut_double_eigenvalue():
    """With ``k = 7`` the window cuts the double eigenvalue ``λ_7 = λ_8``: ``window.split``'s guard
    (the Ritz values beyond the wanted ones) must show it, so that callers can refuse. (At this
    tolerance plain thick restart misses the second copy, for every start vector tried.)"""
    M = laplacian_2d(30)
    lam = np.linalg.eigvalsh(M)
    r = solve("torch", M, np.random.default_rng(3).standard_normal((900, 1)), 7, which="smallest",
              hermitian=True, tol=1e-8, maxiter=1000)
    w, _, guard = window.split(torch.as_tensor(r.w), torch.as_tensor(r.X), 7, "smallest")
    assert np.abs(w.numpy() - lam[:7]).max() < 1e-10
    assert abs(guard[0].item() - lam[7]) < 1e-10 and abs(lam[7] - lam[6]) < 1e-12


CONVECTION = {  # (problem, which, k): the k-th and (k+1)-th key differ, so each window is well posed
    "dirichlet-largest_real": (dict(N=20, a=0.8, b=0.4), "largest_real", 6),
    "dirichlet-smallest_magnitude": (dict(N=20, a=0.8, b=0.4), "smallest_magnitude", 6),
    "periodic-largest_real": (dict(N=20, a=1.5, b=0.5, periodic_x=True, c=0.5), "largest_real", 6),
    "periodic-smallest_real": (dict(N=20, a=1.5, b=0.5, periodic_x=True, c=0.5), "smallest_real", 4),
    "periodic-smallest_magnitude": (dict(N=20, a=1.5, b=0.5, periodic_x=True, c=0.5), "smallest_magnitude", 4),
}


@pytest.mark.parametrize("case", sorted(CONVECTION))
def test_convection_diffusion(case):
    args, which, k = CONVECTION[case]
    M = convection_diffusion(**args)
    key = np.sort(KEYS[which](scipy.linalg.eigvals(M)))
    assert key[k] - key[k - 1] > 1e-3
    r = solve("torch", M, np.random.default_rng(1).standard_normal((400, 1)), k, which=which,
              hermitian=False, tol=1e-12, maxiter=1000)
    assert r.w.dtype == np.complex128 and r.X.dtype == np.complex128
    check(M, r, k, which, 1e-8, 1e-11)


def test_convection_diffusion_jit():
    M = convection_diffusion(20, 1.5, 0.5, periodic_x=True, c=0.5)
    r = solve("jax", M, np.random.default_rng(1).standard_normal((400, 1)), 6, which="largest_magnitude",
              hermitian=False, tol=1e-12, maxiter=1000)
    assert np.abs(np.imag(r.w[:6])).min() < 1e-12 < np.abs(np.imag(r.w[:6])).max()  # real and complex
    check(M, r, 6, "largest_magnitude", 1e-8, 1e-11)


@pytest.mark.parametrize("fw", FWS)
def test_real_nonsymmetric_conjugate_pairs(fw):
    """``P T P^{-1}`` with known eigenvalues: three conjugate pairs of largest magnitude outside a
    real bulk in [-1, 1] (a real start vector; the pairs must come out whole)."""
    rng = np.random.default_rng(3)
    n = 200
    T = np.diag(rng.uniform(-1, 1, n))
    for i, (a, b) in enumerate([(3.0, 1.0), (-2.5, 2.0), (0.5, 3.2)]):
        T[2 * i:2 * i + 2, 2 * i:2 * i + 2] = [[a, b], [-b, a]]
    T[6, 6] = 2.2
    P = np.eye(n) + 0.3 * rng.standard_normal((n, n)) / np.sqrt(n)
    M = P @ T @ np.linalg.inv(P)
    r = solve(fw, M, rng.standard_normal((n, 1)), 6, which="largest_magnitude", hermitian=False, tol=1e-12,
              maxiter=200)
    check(M, r, 6, "largest_magnitude", 1e-10, 1e-11)
    w = r.w[:6]
    assert np.abs(np.conj(w)[:, None] - w[None, :]).min(axis=1).max() < 1e-10  # closed under conj


def test_gaussian_random_largest_real():
    """A dense Gaussian matrix (circular law: complex pairs crowd the edge of the unit disc)."""
    rng = np.random.default_rng(0)
    M = rng.standard_normal((200, 200)) / np.sqrt(200)
    r = solve("torch", M, rng.standard_normal((200, 1)), 4, which="largest_real", hermitian=False, tol=1e-12,
              maxiter=1000)
    check(M, r, 4, "largest_real", 1e-8, 1e-11)


def test_maxiter_reports_unconverged_residuals():
    M = laplacian_2d(30)
    x0 = np.random.default_rng(0).standard_normal((900, 1))
    r = solve("torch", M, x0, 6, which="smallest", hermitian=True, tol=1e-10, maxiter=2)
    assert int(r.iters) == 2
    assert r.res[:6].max() > 1e-10  # the caller sees it and raises
    assert np.isfinite(r.w).all() and np.isfinite(r.X).all()


@pytest.mark.parametrize("hermitian", [True, False])
def test_breakdown_invariant_start(hermitian):
    """``x0 = e_1`` is an eigenvector: the Krylov space is exhausted at once and the solver goes on
    from a pseudo-random vector (no NaN), as it does from ``x0 = 0``."""
    n = 200
    d = np.linspace(1, 3, n) ** 2
    M = np.diag(d) + (0 if hermitian else np.triu(np.random.default_rng(0).standard_normal((n, n)) * 0.05, 1))
    which = "smallest" if hermitian else "largest_real"
    for x0 in (np.eye(n)[:, :1], np.zeros((n, 1))):
        r = solve("torch", M, x0, 5, which=which, hermitian=hermitian, tol=1e-11, maxiter=500)
        assert np.isfinite(r.w).all() and np.isfinite(r.X).all()
        check(M, r, 5, which, 1e-10, 1e-10)


def test_real_operator_sees_real_blocks():
    """A general problem with a real start vector works in complex arithmetic, but the operator is
    applied to real blocks only (a real torch matrix cannot multiply a complex tensor)."""
    rng = np.random.default_rng(4)
    M = torch.as_tensor(rng.standard_normal((100, 100)))
    seen = set()

    def op(X):
        seen.add(X.dtype)
        return M @ X

    r = krylov_schur(op, torch.as_tensor(rng.standard_normal((100, 1))), 3, which="largest_magnitude",
                     hermitian=False, tol=1e-12, maxiter=500)
    assert seen == {torch.float64} and r.w.dtype == torch.complex128
    check(M.numpy(), Result(*(t.numpy() for t in r)), 3, "largest_magnitude", 1e-8, 1e-11)


def test_rejects_bad_options():
    x0 = torch.ones(50, 1, dtype=torch.float64)
    with pytest.raises(ValueError, match="which"):
        krylov_schur(lambda X: X, x0, 3, which="largest_real", hermitian=True, tol=1e-8, maxiter=10)
    with pytest.raises(ValueError, match="which"):
        krylov_schur(lambda X: X, x0, 3, which="largest", hermitian=False, tol=1e-8, maxiter=10)
    with pytest.raises(ValueError, match="ncv"):
        krylov_schur(lambda X: X, x0, 10, which="largest", hermitian=True, ncv=10, tol=1e-8, maxiter=10)
    with pytest.raises(ValueError, match="ncv"):
        krylov_schur(lambda X: X, x0, 3, which="largest", hermitian=True, ncv=50, tol=1e-8, maxiter=10)
