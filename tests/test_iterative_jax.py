"""JAX-specific: BCOO values, closures over traced parameters (closure conversion), jit, the
finite-difference checker through the matvec-with-parameters interface, VJP counting."""

import jax
import jax.numpy as jnp
import numpy as np
import scipy.linalg
from jax.experimental import sparse as jsparse

import eigengrad.jax as ej
from eigengrad.testing import check_grads
from perturbation import eigenvalue_sum_gradient, potential_gradient
from test_iterative_problems import grid, laplacian_1d

jax.config.update("jax_enable_x64", True)


def _setup(nx=12, k=4, seed=0):
    L = grid(nx)
    n = L.shape[0]
    rng = np.random.default_rng(seed)
    return L, n, k, jnp.asarray(rng.standard_normal((n, k))), jnp.asarray(0.1 * rng.standard_normal(n))


def test_closure_params_vs_dense_and_jit():
    L, n, k, M, theta = _setup()
    Lj = jsparse.BCOO.from_scipy_sparse(L)

    def loss(theta):
        w, V = ej.eigsh(lambda X: Lj @ X + theta[:, None] * X, k, n=n)
        return jnp.sum(w ** 2) + jnp.sum(M * jnp.abs(V) ** 2)

    def dense(theta):
        w, V = ej.eigh(jnp.asarray(L.toarray()) + jnp.diag(theta))
        return jnp.sum(w[:k] ** 2) + jnp.sum(M * jnp.abs(V[:, :k]) ** 2)

    g, g_ref = jax.grad(loss)(theta), jax.grad(dense)(theta)
    assert jnp.max(jnp.abs(g - g_ref)) < 1e-8 * jnp.max(jnp.abs(g_ref))
    g_jit = jax.jit(jax.grad(loss))(theta)
    assert jnp.max(jnp.abs(g_jit - g_ref)) < 1e-8 * jnp.max(jnp.abs(g_ref))


def test_bcoo_values():
    L, n, k, M, _ = _setup()
    A = jsparse.BCOO.from_scipy_sparse(L)

    def loss(data):
        w, V = ej.eigsh(jsparse.BCOO((data, A.indices), shape=A.shape), k)
        return jnp.sum(w) + jnp.sum(M * jnp.abs(V) ** 2)

    def dense(D):
        w, V = ej.eigh(D)
        return jnp.sum(w[:k]) + jnp.sum(M * jnp.abs(V[:, :k]) ** 2)

    g = jax.grad(loss)(A.data)
    G = jax.grad(dense)(jnp.asarray(L.toarray()))
    idx = np.asarray(A.indices)
    g_ref = G[idx[:, 0], idx[:, 1]]
    assert jnp.max(jnp.abs(g - g_ref)) < 1e-8 * jnp.max(jnp.abs(g_ref))


def test_check_grads_matvec_params():
    n, k = 60, 3
    L = jnp.asarray(laplacian_1d(n).toarray())
    rng = np.random.default_rng(3)
    V0 = jnp.asarray(-2.0 * np.exp(-((np.arange(n) - 25.0) / 6) ** 2))
    P = jnp.asarray(rng.standard_normal((n, k)))

    def f(theta):
        w, V = ej.eigsh(lambda X: L @ X + (V0 + theta)[:, None] * X, k, n=n, tol=1e-12, adjoint_tol=1e-12)
        return jnp.concatenate([w, jnp.sum(P * jnp.abs(V) ** 2, axis=0)])

    r = check_grads(f, (jnp.asarray(0.05 * rng.standard_normal(n)),), modes=("rev",), rtol=1e-6, n_directions=2)
    assert r.errors["rev"] < 1e-6


def test_one_vjp_whatever_the_iteration_count():
    """The backward pass calls the product's VJP once, however many forward steps were taken."""
    n, k = 144, 4
    L = jnp.asarray(grid(12).toarray())
    calls = {"vjp": 0}

    @jax.custom_vjp
    def pot(theta, X):
        return theta[:, None] * X

    def pot_fwd(theta, X):
        return pot(theta, X), (theta, X)

    def pot_bwd(res, ct):
        calls["vjp"] += 1
        theta, X = res
        return jnp.sum(ct * X, axis=1), theta[:, None] * ct

    pot.defvjp(pot_fwd, pot_bwd)
    M = jnp.asarray(np.random.default_rng(4).standard_normal((n, k)))
    theta = jnp.zeros(n)
    counts = []
    for tol in (1e-5, 1e-12):
        calls["vjp"] = 0

        def loss(theta):
            w, V, info = ej.eigsh(lambda X: L @ X + pot(theta, X), k, n=n, tol=tol, solver="lobpcg",
                                    return_info=True)
            counts.append(int(info.iterations))
            return jnp.sum(w) + jnp.sum(M * jnp.abs(V) ** 2)

        jax.grad(loss)(theta)
        assert calls["vjp"] == 1
    assert counts[1] > counts[0] + 5


def test_width_specific_matvec():
    """A product whose trace bakes in the block width (a scatter into a zeros((n, m)) buffer) works:
    it is traced once per width the solvers use. Regression (2026-11-26: LOBPCG applied the width-m
    trace to its 2m-column search block)."""
    L, n, k, M, theta = _setup()
    Ld = jnp.asarray(L.toarray())

    def mv(X):
        return jnp.zeros((n, X.shape[1]), X.dtype).at[:, :].set(Ld @ X) + theta[:, None] * X

    def loss(theta_):
        w, V = ej.eigsh(lambda X: mv(X) + (theta_ - theta)[:, None] * X, k, n=n)
        return jnp.sum(w) + jnp.sum(M * jnp.abs(V) ** 2)

    def dense(theta_):
        w, V = ej.eigh(Ld + jnp.diag(theta_))
        return jnp.sum(w[:k]) + jnp.sum(M * jnp.abs(V[:, :k]) ** 2)

    g, g_ref = jax.grad(loss)(theta), jax.grad(dense)(theta)
    assert jnp.max(jnp.abs(g - g_ref)) < 1e-8 * jnp.max(jnp.abs(g_ref))


def test_leading_batch_axes_and_vmap():
    """Dense A of shape (b1, b2, n, n) (and B broadcast against it): per-matrix solves stacked;
    gradients through the loop and through jax.vmap match the dense rule."""
    L = jnp.asarray(grid(6).toarray())
    n, k = L.shape[0], 3
    As = jnp.stack([L + jnp.diag(jnp.linspace(0, s, n)) for s in (0.1, 0.5, 1.0, 2.0)]).reshape(2, 2, n, n)
    Bm = jnp.eye(n) + 0.1 * jnp.diag(jnp.cos(jnp.arange(n)))
    w, V, info = ej.eigsh(As, k, B=Bm, return_info=True)
    assert w.shape == (2, 2, k) and V.shape == (2, 2, n, k) and info.residuals.shape == (2, 2, k)
    flat = np.asarray(As).reshape(-1, n, n)
    w_ref = np.stack([scipy.linalg.eigh(A, np.asarray(Bm))[0][:k] for A in flat]).reshape(2, 2, k)
    assert np.max(np.abs(w - w_ref)) < 1e-10
    g = jax.grad(lambda As: jnp.sum(ej.eigsh(As, k)[0] ** 2))(As)
    # ∂ Σ λ_i² / ∂A = Σ_i 2 λ_i v_i v_iᵀ
    g_ref = np.stack([(lambda w, V: (V[:, :k] * 2 * w[:k]) @ V[:, :k].T)(*np.linalg.eigh(A)) for A in flat])
    g_ref = g_ref.reshape(As.shape)
    assert jnp.max(jnp.abs(g - g_ref)) < 1e-9 * jnp.max(jnp.abs(g_ref))
    # vmap under jit: the batched trace is the same as eager vmap's (batch tracers throughout), compiled as
    # one program instead of operation by operation (8.5 instead of 13.4 CPU-s)
    gv = jax.jit(jax.vmap(jax.grad(lambda A: jnp.sum(ej.eigsh(A, k)[0] ** 2))))(As.reshape(-1, n, n))
    assert jnp.max(jnp.abs(gv - g_ref.reshape(-1, n, n))) < 1e-9 * jnp.max(jnp.abs(g_ref))


def test_native_krylov_schur_backends_under_jit():
    """solver="lanczos" (eigsh) and solver="arnoldi" (eigs): native, jit-able; values and gradients
    as with LOBPCG / ARPACK. The closure over a complex matrix needs no dtype= (regression: it was
    traced with real blocks and failed)."""
    from test_iterative_problems import advection_diffusion

    L = jnp.asarray(grid(10, phase=(0.7, -1.3)).toarray())
    n, k = L.shape[0], 4
    M = jnp.asarray(np.random.default_rng(7).standard_normal((n, k)))

    def loss(theta, solver):
        w, V = ej.eigsh(lambda X: L @ X + theta[:, None] * X, k, n=n, solver=solver)
        return jnp.sum(w) + jnp.sum(M * jnp.abs(V) ** 2)

    theta = jnp.zeros(n)
    g = jax.jit(jax.grad(loss, argnums=0), static_argnums=1)(theta, "lanczos")
    g_ref = potential_gradient(np.asarray(L), k, np.asarray(M))
    assert np.max(np.abs(g - g_ref)) < 1e-8 * np.max(np.abs(g_ref))

    A0 = advection_diffusion(200).toarray()
    A = jnp.asarray(A0)
    w_ref = np.sort_complex(np.linalg.eigvals(A0))[::-1][:3]
    w = jax.jit(lambda A: ej.eigs(A, 3, solver="arnoldi")[0])(A)
    assert np.max(np.abs(np.sort_complex(np.asarray(w)) - np.sort_complex(w_ref))) < 1e-9 * np.max(np.abs(w_ref))
    # an eigenvalue-only loss: the bordered right-hand side [0; λ̄] (regression: BiCGStab with the
    # shadow residual r̂ = b stalled at residual 1 on it)
    ga = jax.grad(lambda A: jnp.sum(jnp.real(ej.eigs(A, 3, solver="arnoldi")[0])))(A)
    gp = eigenvalue_sum_gradient(A0, 3)
    assert np.max(np.abs(ga - gp)) < 1e-7 * np.max(np.abs(gp))
