"""Dense general eig: derivatives against finite differences on both front ends (random, batched,
non-normal, left/right eigenvectors), exact degeneracy under a non-unitary similarity, agreement with
native torch/JAX, gauge reports, nearly defective matrices, float32 and bad input."""

import warnings

import numpy as np
import pytest

from eigengrad.errors import ConditioningWarning, DegeneracyWarning, GaugeError, GaugeWarning
from eigengrad.testing import check_grads
from frameworks import torch_only


def rand(rng, shape, complex_):
    return rng.standard_normal(shape) + (1j * rng.standard_normal(shape) if complex_ else 0)


def similar(rng, w, complex_=False, cond=None):
    """``S diag(w) S^{-1}`` with a random non-unitary ``S`` (condition number ``cond`` if given)."""
    n = len(w)
    S = rand(rng, (n, n), complex_)
    if cond is not None:
        U, _, Vh = np.linalg.svd(S)
        S = (U * np.geomspace(1, 1 / cond, n)) @ Vh
    return S @ np.diag(w) @ np.linalg.inv(S)


def cplx(fw, x):
    return x.astype(fw.xp.complex128) if fw.name == "jax" else x.to(fw.xp.complex128)


def losses(fw, M):
    """Three losses in one tuple, invariant to eigenvalue order, eigenvector phase and VL's scale:
    a function of the eigenvalues, |v_ij|² weighted by a function of its eigenvalue, and
    diag(VL^H M V) weighted by the eigenvalues."""
    xp = fw.xp

    def loss(A):
        w, VL, V = fw.eg.eig(A, left=True)
        return (
            xp.sum(xp.exp(fw.eg.eigvals(A) / 4), axis=-1),
            xp.sum(xp.abs(V) ** 2 * xp.cos(w)[..., None, :], axis=(-2, -1)),
            xp.sum(xp.sum(xp.conj(VL) * (M @ V), axis=-2) * w, axis=-1),
        )

    return loss


@pytest.mark.parametrize("n", [1, 2, 6, 12, 20])
@pytest.mark.parametrize("complex_", [False, True])
def test_random_matrices(fw, n, complex_):
    if not (n == 6 and complex_):
        torch_only(fw)
    rng = np.random.default_rng(n + 50 * complex_)
    A = fw.asarray(rand(rng, (n, n), complex_) / np.sqrt(n))
    M = fw.asarray(rand(rng, (n, n), True))
    check_grads(losses(fw, M), (A,), n_directions=2 if n < 20 else 1)


def test_batched_and_conventions(fw):
    rng = np.random.default_rng(1)
    A0 = rand(rng, (2, 3, 5, 5), True)
    A = fw.asarray(A0)
    w, VL, V = (fw.numpy(x) for x in fw.eg.eig(A, left=True))
    wn = np.linalg.eigvals(A0)
    np.testing.assert_allclose(np.sort_complex(w.ravel()), np.sort_complex(wn.ravel()), atol=1e-12)
    np.testing.assert_allclose(A0 @ V, V * w[..., None, :], atol=1e-12)
    np.testing.assert_allclose(np.linalg.norm(V, axis=-2), 1.0, atol=1e-13)
    np.testing.assert_allclose(np.conj(np.swapaxes(VL, -1, -2)) @ V, np.broadcast_to(np.eye(5), V.shape), atol=1e-12)
    np.testing.assert_allclose(np.conj(np.swapaxes(VL, -1, -2)) @ A0, w[..., :, None] * np.conj(np.swapaxes(VL, -1, -2)), atol=1e-11)
    torch_only(fw, "batched JAX derivatives: test_jax_transforms (vmap)")
    M = fw.asarray(rand(rng, (5, 5), True))
    check_grads(losses(fw, M), (A,), n_directions=1)


def test_real_input_gives_complex_output_and_real_gradient(fw):
    rng = np.random.default_rng(2)
    A = fw.asarray(rand(rng, (6, 6), False))
    w, V = fw.eg.eig(A)
    assert "complex128" in str(w.dtype) and "complex128" in str(V.dtype)
    g = fw.grad(lambda A: fw.xp.real(fw.xp.sum(fw.eg.eigvals(A) ** 2)), A)
    assert np.isrealobj(g)
    np.testing.assert_allclose(g, 2 * fw.numpy(A).T, atol=1e-10)  # d tr(A²)/dA = 2 A^T


@pytest.mark.parametrize("complex_", [False, True])
def test_non_normal(fw, complex_):
    """Eigenvector condition number 1e3: still FD-exact; forward and reverse mode agree to about
    eps * κ(V), so the transposition test is given that tolerance."""
    torch_only(fw)
    rng = np.random.default_rng(3)
    A0 = similar(rng, np.linspace(1, 3, 7) + (0.5j if complex_ else 0) * np.arange(7), complex_, cond=1e3)
    A = fw.asarray(A0)
    M = fw.asarray(rand(rng, (7, 7), True))
    check_grads(losses(fw, M), (A,), n_directions=1, step=1e-5, transpose_rtol=1e3 * 2.2e-16 * 1e3)


def test_eigvals_gradient_is_left_right_outer_product(fw):
    """``∇ Re Σ f(w_i) = Σ conj(f'(w_i)) vl_i v_i^H / (v_i^H vl_i)``, with scipy's left eigenvectors."""
    import scipy.linalg

    rng = np.random.default_rng(4)
    A0 = rand(rng, (6, 6), True)
    A = fw.asarray(A0)
    g = fw.grad(lambda A: fw.xp.real(fw.xp.sum(fw.xp.sin(fw.eg.eigvals(A)))), A)
    w, vl, vr = scipy.linalg.eig(A0, left=True)
    dots = np.sum(np.conj(vl) * vr, axis=0)
    ref = (vl * np.conj(np.cos(w) / dots)) @ np.conj(vr.T)
    np.testing.assert_allclose(g, ref, atol=1e-10 * np.abs(ref).max())


@pytest.mark.parametrize("complex_", [False, True])
def test_exact_degeneracy_non_unitary_similarity(fw, complex_):
    """A similar to diag(1, 1, 2, 3) (plus a conjugate pair): the spectral projector of the double
    eigenvalue, its trace against M and the cluster sum are smooth and get FD-exact gradients."""
    rng = np.random.default_rng(5)
    D = np.diag([1.0, 1.0, 2.0, 3.0, 2.0, 2.0])
    D[4, 5], D[5, 4] = -1.0, 1.0  # eigenvalues 2 ± i, a conjugate pair for real A
    S = rand(rng, (6, 6), complex_)
    A0 = S @ D @ np.linalg.inv(S)
    A = fw.asarray(A0)
    xp = fw.xp
    M = fw.asarray(rand(rng, (6, 6), True))

    def loss(A):
        w, VL, V = fw.eg.eig(A, left=True)
        mask = cplx(fw, xp.abs(w - 1) < 0.5)  # the cluster, picked by value (order is LAPACK's)
        P = (V * mask) @ fw.conjT(VL)
        return P, xp.sum(P * M), xp.sum(w * mask), xp.sum(w ** 2)

    w = fw.numpy(fw.eg.eigvals(A))
    assert np.sum(np.abs(w - 1) < 1e-10) == 2
    check_grads(loss, (A,), n_directions=2, step=1e-5)


def test_eigvals_at_exact_tie_finite_where_native_is_not(fw):
    """At an exact tie (a diagonal matrix), native eig backward divides by 0; ours is finite and
    exact for the cluster projector (d P / dA computed by hand: off-cluster coupling only)."""
    A0 = np.diag([1.0, 1.0, 2.0, 3.0])
    A = fw.asarray(A0)
    xp = fw.xp
    E = np.zeros((4, 4))
    E[0, 2] = 1.0  # loss Re P[0, 2] of the projector onto the eigenvalue 1

    def loss(A):
        w, VL, V = fw.eg.eig(A, left=True)
        mask = cplx(fw, xp.abs(w - 1) < 0.5)
        return xp.real(((V * mask) @ fw.conjT(VL))[0, 2])

    g = fw.grad(loss, A)
    # P = I_c for diag; dP = P dA (I - P)/(1 - λ_other)...: dP[0,2] = dA[0,2] / (1 - 2)
    np.testing.assert_allclose(g, -E, atol=1e-12)
    check_grads(loss, (A,), n_directions=2)
    if fw.name == "torch":
        import torch

        At = A.clone().requires_grad_(True)
        w, V = torch.linalg.eig(At)
        VL = torch.linalg.inv(V).mH
        mask = (w - 1).abs() < 0.5
        torch.real(((V * mask) @ VL.mH)[0, 2]).backward()
        assert not torch.all(torch.isfinite(At.grad))
    else:
        import jax

        def native(A):
            w, V = jax.lax.linalg.eig(A, compute_left_eigenvectors=False, enable_eigvec_derivs=True)
            mask = (abs(w - 1) < 0.5).astype(V.dtype)
            return xp.real(((V * mask) @ xp.linalg.inv(V))[0, 2])

        assert not np.all(np.isfinite(np.asarray(jax.grad(native)(A))))


def test_agrees_with_native_where_finite(fw):
    rng = np.random.default_rng(6)
    A0 = rand(rng, (6, 6), True)
    A = fw.asarray(A0)
    xp = fw.xp

    def ours(A):
        w, V = fw.eg.eig(A)
        return xp.sum(xp.abs(V) ** 2 * xp.cos(w)).real

    if fw.name == "torch":
        import torch

        def native(A):
            w, V = torch.linalg.eig(A)
            return torch.sum(V.abs() ** 2 * torch.cos(w)).real
    else:
        import jax

        def native(A):
            w, V = jax.lax.linalg.eig(A, compute_left_eigenvectors=False, enable_eigvec_derivs=True)
            return xp.sum(xp.abs(V) ** 2 * xp.cos(w)).real

    np.testing.assert_allclose(fw.grad(ours, A), fw.grad(native, A), atol=1e-11, rtol=1e-9)


def test_gauge_dependent_losses_raise(fw):
    rng = np.random.default_rng(7)
    A = fw.asarray(rand(rng, (5, 5), True))
    xp = fw.xp
    C = fw.asarray(rand(rng, (5, 5), True))
    phase = lambda A, **kw: xp.real(xp.sum(C * fw.eg.eig(A, **kw)[1]))  # noqa: E731
    with pytest.raises(GaugeError, match="phase"):
        fw.grad(phase, A)
    left_phase = lambda A: xp.real(xp.sum(C * fw.eg.eig(A, left=True)[1]))  # noqa: E731
    with pytest.raises(GaugeError, match="phase"):
        fw.grad(left_phase, A)
    with pytest.warns(GaugeWarning):
        g = fw.grad(lambda A: phase(A, gauge="warn"), A)
    assert np.all(np.isfinite(g))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fw.grad(lambda A: phase(A, gauge="ignore"), A)

    # inside an exact double eigenvalue: |v|² of one eigenvector depends on the basis chosen
    A = fw.asarray(similar(rng, np.array([1.0, 1.0, 2.0, 3.0]), True))

    i = int(np.argmin(np.abs(fw.numpy(fw.eg.eigvals(A)) - 1)))  # a member of the double eigenvalue
    with pytest.raises(GaugeError, match="rotated inside a degenerate cluster"):
        fw.grad(lambda A: xp.sum(xp.abs(fw.eg.eig(A)[1][:, i]) ** 2 * xp.arange(4.0)), A)
    with pytest.warns(DegeneracyWarning):  # one eigenvalue of the double pair
        fw.grad(lambda A: xp.real(fw.eg.eigvals(A)[i]), A)


def test_jax_transforms():
    import jax
    import jax.numpy as jnp

    import eigengrad.jax as ej

    rng = np.random.default_rng(8)
    A = jnp.asarray(rand(rng, (3, 5, 5), False))
    M = jnp.asarray(rand(rng, (5, 5), True))

    def loss(A):
        w, VL, V = ej.eig(A, left=True)
        return jnp.real(jnp.sum(jnp.sum(jnp.conj(VL) * (M @ V), axis=-2) * w)) + jnp.sum(jnp.abs(V) ** 2)

    g = jax.jit(jax.vmap(jax.grad(loss)))(A)
    for b in range(3):
        np.testing.assert_allclose(g[b], jax.grad(loss)(A[b]), atol=1e-11)
    # under jit: the same JVP and VJP rules, one program each instead of every batched operation alone
    np.testing.assert_allclose(jax.jit(jax.jacfwd(loss))(A[0]), jax.jit(jax.jacrev(loss))(A[0]), atol=1e-10)
    check_grads(lambda A: jnp.sum(jnp.real(ej.eigvals(A)) ** 3), (A[0],), order=2, n_directions=1)
    with pytest.warns(GaugeWarning):  # under jit the check warns at run time
        jax.block_until_ready(jax.jit(jax.grad(lambda A: jnp.real(jnp.sum(M * ej.eig(A)[1]))))(A[0]))


def test_torch_transforms():
    import torch

    import eigengrad.torch as et

    rng = np.random.default_rng(9)
    A = torch.tensor(rand(rng, (3, 5, 5), True))

    def loss(A):
        w, V = et.eig(A)
        return torch.sum(V.abs() ** 2 * torch.cos(w)).real

    assert torch.autograd.gradcheck(loss, (A[0].clone().requires_grad_(),))
    assert torch.autograd.gradgradcheck(loss, (A[0].clone().requires_grad_(),))
    g = torch.func.vmap(torch.func.grad(loss))(A)
    for b in range(3):
        torch.testing.assert_close(g[b], torch.func.grad(loss)(A[b]))
    Ar = A[0].real.contiguous()  # torch.func.jacfwd takes real inputs only
    torch.testing.assert_close(torch.func.jacfwd(loss)(Ar), torch.func.jacrev(loss)(Ar))


def test_defective_and_nearly_defective_warn(fw):
    rng = np.random.default_rng(10)
    S = rand(rng, (2, 2), False)
    cases = {
        "jordan": np.array([[2.0, 1.0], [0.0, 2.0]]),
        "hidden jordan": S @ np.array([[2.0, 1.0], [0.0, 2.0]]) @ np.linalg.inv(S),
        "nearly defective": np.array([[1.0, 1.0], [1e-12, 1.0]]),
    }
    for name, A0 in cases.items():
        A = fw.asarray(A0)
        with pytest.warns(ConditioningWarning, match="condition number κ="):
            g = fw.grad(lambda A: fw.xp.real(fw.xp.sum(fw.eg.eigvals(A) ** 3)), A)
        assert g.shape == (2, 2)
        with pytest.warns(ConditioningWarning):
            fw.eg.eig(A, left=True)
    if fw.name == "jax":  # under jit the warning comes at run time, only for the bad matrix
        import jax

        f = jax.jit(jax.grad(lambda A: fw.xp.sum(fw.eg.eigvals(A).real ** 3)))
        with pytest.warns(ConditioningWarning):
            jax.block_until_ready(f(fw.asarray(cases["jordan"])))
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            jax.block_until_ready(f(fw.asarray(np.array([[1.0, 1.0], [1e-2, 1.0]]))))
    # well separated, moderately non-normal: no warning
    A = fw.asarray(np.array([[1.0, 1.0], [1e-2, 1.0]]))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fw.grad(lambda A: fw.xp.real(fw.xp.sum(fw.eg.eigvals(A) ** 3)), A)


def test_float32(fw):
    rng = np.random.default_rng(11)
    for dtype in (np.float32, np.complex64) if fw.name == "torch" else (np.complex64,):
        A0 = rand(rng, (5, 5), dtype == np.complex64)
        A = fw.asarray(A0.astype(dtype))
        w, V = fw.eg.eig(A)
        assert str(w.dtype).endswith("complex64")
        M = fw.asarray(rand(rng, (5, 5), True).astype(np.complex64))
        check_grads(losses(fw, M), (A,), n_directions=1)


def test_bad_input(fw):
    with pytest.raises(ValueError, match="square"):
        fw.eg.eig(fw.asarray(np.ones((3, 4))))
    with pytest.raises(ValueError, match="at least 2 dimensions"):
        fw.eg.eigvals(fw.asarray(np.ones(3)))
    with pytest.raises(TypeError, match="dtype"):
        fw.eg.eig(fw.asarray(np.ones((3, 3), dtype=np.int64)))
    bad = np.eye(3)
    bad[1, 2] = np.nan
    with pytest.raises(ValueError, match="non-finite"):
        fw.eg.eig(fw.asarray(bad))
    bad[1, 2] = np.inf
    with pytest.raises(ValueError, match="non-finite"):
        fw.eg.eigvals(fw.asarray(bad))
    with pytest.raises(ValueError, match="gauge"):
        fw.eg.eig(fw.asarray(np.eye(3)), gauge="loud")
