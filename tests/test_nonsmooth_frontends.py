"""The JAX and torch front ends of eigengrad.nonsmooth: their VJPs (complex and generalized families
included) must give the same cluster models as the NumPy affine family, and a run must converge."""

import numpy as np
import pytest

from eigengrad.nonsmooth import AffineFamily, Max, Min, lambda_max, lse_value_and_grad, min_norm_subgradient, minimize, neg_gap_midgap
from eigengrad.nonsmooth.family import eigenvalues


@pytest.fixture(autouse=True, scope="module")
def _one_blas_thread():
    """Small dense linear algebra: OpenBLAS threads only contend (see eigengrad.nonsmooth.blas_threads)."""
    from eigengrad.nonsmooth import blas_threads

    with blas_threads(1):
        yield


def _problem(complex_):
    rng = np.random.default_rng(7)
    n, p, K = 6, 4, 2

    def herm():
        X = rng.standard_normal((K, n, n)) + (1j * rng.standard_normal((K, n, n)) if complex_ else 0)
        return (X + np.conj(np.swapaxes(X, -1, -2))) / 2

    Q = np.linalg.qr(rng.standard_normal((n, n)))[0]
    A0 = herm()
    A0[0] = (Q * np.array([0.0, 0.2, 0.4, 0.6, 2.0, 2.0])) @ Q.T  # double top eigenvalue in matrix 0
    As = np.stack([herm() for _ in range(p)])
    Bs = 0.05 * np.stack([herm() for _ in range(p)])
    B0 = np.stack([np.eye(n)] * K) + 0.1 * np.real(herm()) @ np.real(herm())  # positive definite
    return A0, As, B0, Bs, p


def _jax_family(A0, As, B0, Bs):
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp

    import eigengrad.jax.nonsmooth as ns

    return ns.Family(lambda t: jnp.asarray(A0) + jnp.tensordot(t, jnp.asarray(As), 1),
                     lambda t: jnp.asarray(B0) + jnp.tensordot(t, jnp.asarray(Bs), 1))


def _torch_family(A0, As, B0, Bs):
    torch = pytest.importorskip("torch")

    import eigengrad.torch.nonsmooth as ns

    def affine(M0, Ms):
        M0, Ms = torch.as_tensor(M0), torch.as_tensor(Ms)
        dtype = torch.promote_types(M0.dtype, Ms.dtype)
        return lambda t: M0.to(dtype) + torch.tensordot(t.to(dtype), Ms.to(dtype), 1)

    return ns.Family(affine(A0, As), affine(B0, Bs))


@pytest.mark.parametrize("make", [_jax_family, _torch_family], ids=["jax", "torch"])
@pytest.mark.parametrize("complex_", [False, True], ids=["real", "complex"])
def test_front_end_models_match_numpy(make, complex_):
    A0, As, B0, Bs, p = _problem(complex_)
    ref = AffineFamily(A0, As, B0, Bs)
    fam = make(A0, As, B0, Bs)
    theta = np.zeros(p)
    for obj in (lambda_max(), neg_gap_midgap(3, matrices=[0, 1])):
        a, b = min_norm_subgradient(ref, obj, theta), min_norm_subgradient(fam, obj, theta)
        np.testing.assert_allclose(b.g, a.g, atol=1e-9)
        assert b.structure.multiplicities == a.structure.multiplicities
    fa, ga, _ = lse_value_and_grad(ref, lambda_max(), theta, 0.1)
    fb, gb, _ = lse_value_and_grad(fam, lambda_max(), theta, 0.1)
    assert fb == pytest.approx(fa, rel=1e-12)
    np.testing.assert_allclose(gb, ga, atol=1e-10)
    # and the gradient of the soft-max is right (central differences)
    h, e = 1e-6, np.eye(p)
    fd = [(lse_value_and_grad(ref, lambda_max(), theta + h * e[j], 0.1)[0]
           - lse_value_and_grad(ref, lambda_max(), theta - h * e[j], 0.1)[0]) / (2 * h) for j in range(p)]
    np.testing.assert_allclose(ga, fd, atol=1e-7)


def test_objective_from_jax_function_and_a_run():
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp

    import eigengrad.jax.nonsmooth as ns

    adj = np.roll(np.eye(5), 1, axis=1) + np.roll(np.eye(5), -1, axis=1)
    fam = ns.Family(lambda t: jnp.ones((5, 5)) + t[0] * jnp.asarray(adj))
    obj = ns.objective([Max(-1)], lambda y: 2.0 * y[0])
    res = minimize(fam, obj, np.zeros(1))
    assert res.f == pytest.approx(2 * np.sqrt(5), rel=1e-10)
    y = np.array([1.0, 3.0])
    gm = ns.objective([Max(0), Min(1)], lambda y: -2 * (y[1] - y[0]) / (y[1] + y[0]))
    v, g = gm.phi(y)
    v2, g2 = neg_gap_midgap(1).phi(y)
    assert v == pytest.approx(v2) and np.allclose(g, g2)
    assert obj(eigenvalues(*fam.matrices(res.theta))) == pytest.approx(res.f)
