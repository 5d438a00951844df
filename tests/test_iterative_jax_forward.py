"""JAX forward mode of eigsh / eigs (``jax.jvp``, ``jacfwd``) against NumPy perturbation formulas
(tests/perturbation.py) and, at exact degeneracy, the dense eigengrad rules; the
transposition of the forward and reverse maps, and the transforms around them (jit, vmap)."""

import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.sparse as sp
from jax.experimental import sparse as jsparse

import eigengrad.jax as ej
from eigengrad.errors import DegeneracyWarning
from eigengrad.testing import check_grads
from perturbation import general_window_jvp, hermitian_window_jvp, potential_gradient
from test_iterative_problems import grid, laplacian_1d, mass_1d

jax.config.update("jax_enable_x64", True)


# Forward and reverse maps agree to the accuracy of the iterative solves (tol 1e-12), not to eps:
# check_grads gets transpose_rtol=1e-9 below.


def rel(a, b):
    return float(jnp.max(jnp.abs(a - b)) / jnp.max(jnp.abs(b)))


def outputs(w, V, M):
    """Eigenvalues and a gauge-invariant eigenvector function (|V|² weighted by ``M``)."""
    return jnp.concatenate([w, jnp.sum(M * jnp.abs(V) ** 2, axis=0)])


def herm(X):
    return (X + jnp.conj(X).T) / 2


def dense_window(A, k, which, B=None):
    w, V = ej.eigh(A) if B is None else ej.eigh(A, B)
    sl = slice(0, k) if which == "smallest" else slice(A.shape[0] - k, A.shape[0])
    return w[sl], V[:, sl]


@pytest.mark.parametrize("which,complex_", [("smallest", False), ("largest", False), ("smallest", True)])
def test_dense_jvp_matches_dense_eigh(which, complex_):
    A = grid(10, phase=(0.7, -1.3) if complex_ else None).toarray()
    n, k = A.shape[0], 4
    rng = np.random.default_rng(0)
    M = jnp.asarray(rng.standard_normal((n, k)))
    dA = rng.standard_normal((n, n)) + (1j * rng.standard_normal((n, n)) if complex_ else 0)
    A, dA = jnp.asarray(A), herm(jnp.asarray(dA))
    _, t = jax.jvp(lambda A: outputs(*ej.eigsh(A, k, which=which, tol=1e-12, adjoint_tol=1e-12), M), (A,), (dA,))
    t_ref = hermitian_window_jvp(np.asarray(A), np.asarray(dA), k, which, np.asarray(M))
    assert rel(t, t_ref) < 1e-8


def test_generalized_jvp():
    n, k = 120, 4
    L = laplacian_1d(n).toarray() + np.diag(np.linspace(0, 1, n))
    Bm = mass_1d(n).toarray()
    rng = np.random.default_rng(1)
    M = jnp.asarray(rng.standard_normal((n, k)))
    dA, dB = herm(jnp.asarray(rng.standard_normal((n, n)))), herm(jnp.asarray(0.1 * rng.standard_normal((n, n))))
    args, tans = (jnp.asarray(L), jnp.asarray(Bm)), (dA, dB)
    _, t = jax.jvp(lambda A, B: outputs(*ej.eigsh(A, k, B=B, tol=1e-12, adjoint_tol=1e-12), M), args, tans)
    t_ref = hermitian_window_jvp(L, np.asarray(dA), k, "smallest", np.asarray(M), Bm, np.asarray(dB))
    assert rel(t, t_ref) < 1e-8


def test_closure_and_bcoo_jvp_and_transposition():
    """A matrix-free closure over θ and a BCOO matrix: forward mode vs finite differences, and the
    forward and reverse maps transposes of each other (check_grads)."""
    L = grid(8)
    n, k = L.shape[0], 3
    Ld = jnp.asarray(L.toarray())
    rng = np.random.default_rng(2)
    M = jnp.asarray(rng.standard_normal((n, k)))
    theta = jnp.asarray(0.1 * rng.standard_normal(n))

    def closure(theta):
        w, V = ej.eigsh(lambda X: Ld @ X + theta[:, None] * X, k, n=n, tol=1e-12, adjoint_tol=1e-12)
        return outputs(w, V, M)

    check_grads(closure, (theta,), modes=("fwd", "rev"), rtol=1e-6, n_directions=2, transpose_rtol=1e-9)

    Ls = jsparse.BCOO.fromdense(Ld)
    idx = np.asarray(Ls.indices)
    where = {(int(i), int(j)): p for p, (i, j) in enumerate(idx)}
    mirror = jnp.asarray([where[(int(j), int(i))] for i, j in idx])

    def bcoo(data):  # symmetric values: a finite-difference step must keep the matrix Hermitian
        data = (data + data[mirror]) / 2
        w, V = ej.eigsh(jsparse.BCOO((data, Ls.indices), shape=Ls.shape), k, tol=1e-12, adjoint_tol=1e-12)
        return outputs(w, V, M)

    check_grads(bcoo, (Ls.data,), modes=("fwd", "rev"), rtol=1e-6, n_directions=2, transpose_rtol=1e-9)


def test_cluster_inside_k_projector_jvp():
    """Symmetric square grid: λ2 = λ3 exactly. The projector onto the first four eigenvectors and the
    cluster's eigenvalue sum have exact tangents."""
    n1 = 10
    L1 = laplacian_1d(n1)
    A = jnp.asarray((sp.kron(L1, sp.eye(n1)) + sp.kron(sp.eye(n1), L1)).toarray())
    w = np.linalg.eigvalsh(np.asarray(A))
    assert abs(w[1] - w[2]) < 1e-12 and w[3] - w[2] > 1e-2
    rng = np.random.default_rng(3)
    dA = herm(jnp.asarray(rng.standard_normal(A.shape)))

    def f(eig, A):
        w, V = eig(A)
        return jnp.concatenate([jnp.atleast_1d(w[1] + w[2]), (V @ jnp.conj(V).T).ravel()])

    _, t = jax.jvp(lambda A: f(lambda A: ej.eigsh(A, 4, tol=1e-12, adjoint_tol=1e-12), A), (A,), (dA,))
    _, t_ref = jax.jvp(lambda A: f(lambda A: dense_window(A, 4, "smallest"), A), (A,), (dA,))
    assert rel(t, t_ref) < 1e-8


def test_cut_cluster_gives_nan_tangents_and_warns():
    n1 = 10
    L1 = laplacian_1d(n1)
    A = jnp.asarray((sp.kron(L1, sp.eye(n1)) + sp.kron(sp.eye(n1), L1)).toarray())  # λ1 = λ2: k=2 cuts
    dA = herm(jnp.asarray(np.random.default_rng(4).standard_normal(A.shape)))
    with pytest.warns(DegeneracyWarning, match="increase k|Increase k"):
        (w, V), (dw, dV) = jax.jvp(lambda A: ej.eigsh(A, 2), (A,), (dA,))
        jax.block_until_ready(dw)
    assert np.isfinite(float(dw[0])) and np.isnan(np.asarray(dw[1]))
    assert np.isnan(np.asarray(dV[:, 1])).all() and np.isfinite(np.asarray(dV[:, 0])).all()


def test_jit_jacfwd_and_vmap():
    """Jacobians of the eigenvalues of L + diag θ by jacfwd under jit (eager jacfwd traces the same
    rule), jacrev and vmap of grad, against the closed form ∂λ_i/∂θ_x = v_i(x)² from NumPy's eigh
    (simple eigenvalues)."""
    L = grid(6)
    n, k = L.shape[0], 2
    Ld = jnp.asarray(L.toarray())
    theta = 0.1 * np.random.default_rng(5).standard_normal(n)

    def f(theta):
        return ej.eigsh(lambda X: Ld @ X + theta[:, None] * X, k, n=n, tol=1e-12, adjoint_tol=1e-12)[0]

    def jacobian_ref(theta):
        return np.linalg.eigh(L.toarray() + np.diag(theta))[1][:, :k].T ** 2

    J_ref = jacobian_ref(theta)
    t = jnp.asarray(theta)
    assert rel(jax.jit(jax.jacfwd(f))(t), J_ref) < 1e-8
    assert rel(jax.jacrev(f)(t), J_ref) < 1e-8
    thetas = np.stack([theta, 2 * theta])
    g = jax.vmap(jax.grad(lambda t: f(t)[0]))(jnp.asarray(thetas))
    assert rel(g, np.stack([jacobian_ref(th)[0] for th in thetas])) < 1e-8


def test_forward_mode_needs_a_jvp_of_the_product_reverse_mode_does_not():
    """A product built on custom_vjp: reverse mode works (one VJP), forward mode says why not."""
    L = grid(6)
    n, k = L.shape[0], 2
    Ld = jnp.asarray(L.toarray())

    @jax.custom_vjp
    def pot(theta, X):
        return theta[:, None] * X

    pot.defvjp(lambda t, X: (pot(t, X), (t, X)), lambda r, ct: (jnp.sum(ct * r[1], axis=1), r[0][:, None] * ct))
    theta = jnp.zeros(n)

    def f(theta):
        return jnp.sum(ej.eigsh(lambda X: Ld @ X + pot(theta, X), k, n=n)[0])

    g = jax.grad(f)(theta)
    g_ref = potential_gradient(L.toarray(), k)
    assert rel(g, g_ref) < 1e-8
    with pytest.raises(TypeError, match="custom_vjp"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            jax.jvp(f, (theta,), (jnp.ones(n),))


def test_eigs_forward_mode_and_transposition():
    """Non-Hermitian (advection–diffusion): eigs tangents vs the dense eig JVP for eigenvalues and
    |v|² (phase-invariant), and forward/reverse transposition through a parametrised product."""
    from test_iterative_problems import advection_diffusion

    n, k = 80, 3
    A0 = jnp.asarray(advection_diffusion(n).toarray())
    rng = np.random.default_rng(6)
    M = jnp.asarray(rng.standard_normal((n, k)))
    dA = jnp.asarray(rng.standard_normal((n, n)))

    def f_iter(A):
        w, V = ej.eigs(A, k, tol=1e-12, adjoint_tol=1e-12)
        return jnp.concatenate([w, jnp.sum(M * jnp.abs(V) ** 2, axis=0)])

    _, t = jax.jvp(f_iter, (A0,), (dA,))
    t_ref = general_window_jvp(np.asarray(A0), np.asarray(dA), k, np.asarray(M))
    assert rel(t, t_ref) < 1e-7

    theta = jnp.asarray(0.1 * rng.standard_normal(n))

    def f_theta(theta):
        w, V = ej.eigs(lambda X: A0 @ X + theta[:, None] * X, k, n=n, tol=1e-12, adjoint_tol=1e-12)
        return jnp.concatenate([jnp.real(w), jnp.imag(w), jnp.sum(M * jnp.abs(V) ** 2, axis=0)])

    check_grads(f_theta, (theta,), modes=("fwd", "rev"), rtol=1e-6, n_directions=2, transpose_rtol=1e-9)


def test_second_derivatives_raise_a_clear_error():
    L = jnp.asarray(grid(6).toarray())
    n = L.shape[0]

    def f(theta):
        return jnp.sum(ej.eigsh(lambda X: L @ X + theta[:, None] * X, 2, n=n)[0])

    theta = jnp.zeros(n)
    jax.grad(f)(theta)  # first order is fine
    with pytest.raises(NotImplementedError, match="second derivatives"):
        jax.hessian(f)(theta)
    with pytest.raises(NotImplementedError, match="second derivatives"):
        jax.jvp(jax.grad(f), (theta,), (jnp.ones(n),))
