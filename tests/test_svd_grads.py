"""Dense thin SVD: derivatives against finite differences on both front ends (tall, wide, square,
real, complex, batched), repeated and zero singular values, agreement with native torch/JAX, gauge
reports, float32 and bad input."""

import warnings

import numpy as np
import pytest

from eigengrad.errors import DegeneracyWarning, GaugeError, GaugeWarning
from eigengrad.testing import check_grads
from frameworks import torch_only


def rand(rng, shape, complex_):
    return rng.standard_normal(shape) + (1j * rng.standard_normal(shape) if complex_ else 0)


def as_c(fw, s, like):
    """Real ``s`` in the dtype of ``like`` (torch does not mix real and complex in products)."""
    return s.to(like.dtype) if fw.name == "torch" else s


def losses(fw, M, k):
    """Gauge-invariant losses: U diag(f(s)) Vh with f(0) = 0, a smooth function of s, the projector
    on the top-k left singular vectors, and |u_ij|² |v_lj|²-type weights of one pair."""
    xp = fw.xp

    def loss(A):
        U, s, Vh = fw.eg.svd(A)
        P = U[..., :, :k] @ fw.conjT(U[..., :, :k])
        pair = xp.sum(xp.abs(U[..., 0, :]) ** 2 * xp.abs(Vh[..., :, 0]) ** 2 * s)
        return (U * as_c(fw, xp.sin(s), U)[..., None, :]) @ Vh, xp.sum(s ** 3), xp.sum(P * M), pair

    return loss


SHAPES = [(1, 1), (6, 6), (9, 4), (4, 9), (20, 20)]


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("complex_", [False, True])
def test_random_matrices(fw, shape, complex_):
    if not (shape == (9, 4) and complex_):
        torch_only(fw)
    rng = np.random.default_rng(sum(shape) + 50 * complex_)
    A = fw.asarray(rand(rng, shape, complex_))
    M = fw.asarray(rand(rng, (shape[0], shape[0]), True))
    check_grads(losses(fw, M, max(1, min(shape) // 2)), (A,), n_directions=2 if max(shape) < 20 else 1)


def test_batched_and_conventions(fw):
    rng = np.random.default_rng(1)
    A0 = rand(rng, (2, 3, 9, 4), True)
    A = fw.asarray(A0)
    U, s, Vh = (fw.numpy(x) for x in fw.eg.svd(A))
    assert U.shape == (2, 3, 9, 4) and s.shape == (2, 3, 4) and Vh.shape == (2, 3, 4, 4)
    np.testing.assert_allclose((U * s[..., None, :]) @ Vh, A0, atol=1e-12)
    assert np.all(np.diff(s, axis=-1) <= 0)
    np.testing.assert_allclose(fw.numpy(fw.eg.svdvals(A)), s, atol=1e-12)
    torch_only(fw, "batched JAX derivatives: test_jax_transforms (vmap)")
    M = fw.asarray(rand(rng, (9, 9), True))
    check_grads(losses(fw, M, 2), (A,), n_directions=1)


@pytest.mark.parametrize("complex_", [False, True])
def test_repeated_singular_values(fw, complex_):
    """Orthogonal/unitary Q (all s = 1) and block-diagonal copies diag(B, B) (each s twice): sums
    of f(s), the projector on a whole cluster and the polar factor U Vh (which needs the relative
    rotation 1/(s_i + s_j) inside clusters) are exact."""
    if not complex_:
        torch_only(fw)
    rng = np.random.default_rng(2)
    Q, _ = np.linalg.qr(rand(rng, (5, 5), complex_))
    B = rand(rng, (3, 3), complex_)
    BB = np.kron(np.eye(2), B)
    for A0, k in ((Q, 5), (BB, 2)):
        A = fw.asarray(A0)
        s = fw.numpy(fw.eg.svdvals(A))
        assert np.ptp(s[:k]) < 1e-12  # the first cluster really is degenerate
        M = fw.asarray(rand(rng, A0.shape, True))
        xp = fw.xp

        def loss(A):
            U, s, Vh = fw.eg.svd(A)
            P = U[:, :k] @ fw.conjT(U[:, :k])
            return U @ Vh, xp.sum(P * M), xp.sum(xp.exp(s)), xp.sum(s[:k])

        check_grads(loss, (A,), n_directions=2)


def test_individual_values_in_a_cluster_warn(fw):
    """A = U S Vh itself at an orthogonal matrix is smooth, but its derivative needs couplings inside
    the cluster that (U, s, Vh) cotangents cannot carry: a DegeneracyWarning, not a silent answer."""
    rng = np.random.default_rng(12)
    Q = fw.asarray(np.linalg.qr(rand(rng, (4, 4), False))[0])
    M = fw.asarray(rand(rng, (4, 4), False))
    recon = lambda A: fw.xp.sum(M * (lambda U, s, Vh: (U * s[None, :]) @ Vh)(*fw.eg.svd(A)))  # noqa: E731
    with pytest.warns(DegeneracyWarning, match="couplings inside the cluster"):
        fw.grad(recon, Q)


@pytest.mark.parametrize("shape", [(5, 5), (7, 4), (4, 7)])
def test_zero_singular_values(fw, shape):
    """Rank 2: U diag(s³) Vh (= A A^H A), the projector onto the range and sum(s²) are exact; the
    undetermined vectors of the zero singular values are not needed."""
    if shape != (7, 4):
        torch_only(fw)
    rng = np.random.default_rng(3)
    m, n = shape
    A0 = rand(rng, (m, 2), True) @ rand(rng, (2, n), True) / 2
    A = fw.asarray(A0)
    s = fw.numpy(fw.eg.svdvals(A))
    assert s[2:].max() < 1e-13 * s[0]
    M = fw.asarray(rand(rng, (m, m), True))
    xp = fw.xp

    def loss(A):
        U, s, Vh = fw.eg.svd(A)
        P = U[:, :2] @ fw.conjT(U[:, :2])
        return (U * as_c(fw, s ** 3, U)) @ Vh, xp.sum(P * M), xp.sum(s ** 2)

    check_grads(loss, (A,), n_directions=2)


def test_gauge_dependent_losses_raise(fw):
    rng = np.random.default_rng(4)
    xp = fw.xp
    A = fw.asarray(rand(rng, (6, 4), True))
    C = fw.asarray(rand(rng, (6, 4), True))
    phase = lambda A, **kw: xp.real(xp.sum(C * fw.eg.svd(A, **kw)[0]))  # noqa: E731
    with pytest.raises(GaugeError, match=r"pair \(u_i, v_i\)"):
        fw.grad(phase, A)
    with pytest.warns(GaugeWarning):
        g = fw.grad(lambda A: phase(A, gauge="warn"), A)
    assert np.all(np.isfinite(g))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fw.grad(lambda A: phase(A, gauge="ignore"), A)
        # |u_ij|² alone is invariant to the common phase: no report
        fw.grad(lambda A: xp.sum(xp.abs(fw.eg.svd(A)[0]) ** 2 * xp.abs(C)), A)

    # inside a cluster of equal singular values (orthogonal matrix): one pair alone is basis-dependent
    Q = fw.asarray(np.linalg.qr(rand(rng, (4, 4), False))[0])
    with pytest.raises(GaugeError, match="rotated together inside a cluster"):
        fw.grad(lambda A: xp.sum(xp.abs(fw.eg.svd(A)[0][:, 0]) ** 2 * xp.arange(4.0)), Q)

    # zero singular values: the polar factor U Vh (f(0) = 1) and the vector of a null direction
    R = rand(rng, (6, 2), False) @ rand(rng, (2, 4), False)
    Rt, W = fw.asarray(R), fw.asarray(rand(rng, (6, 4), False))
    with pytest.raises(GaugeError, match="zero singular values"):
        fw.grad(lambda A: xp.sum((lambda U, s, Vh: U @ Vh)(*fw.eg.svd(A)) * W), Rt)
    with pytest.raises(GaugeError, match="zero singular values"):
        fw.grad(lambda A: xp.sum(xp.abs(fw.eg.svd(A)[0][:, 3]) ** 2 * xp.arange(6.0)), Rt)
    with pytest.warns(DegeneracyWarning, match="zero singular value"):  # nuclear norm at rank 2
        fw.grad(lambda A: xp.sum(fw.eg.svdvals(A)), Rt)
    with pytest.warns(DegeneracyWarning, match="unequally"):
        fw.grad(lambda A: fw.eg.svdvals(A)[0], Q)


def test_agrees_with_native_where_finite_and_not_where_native_fails(fw):
    rng = np.random.default_rng(5)
    xp = fw.xp
    if fw.name == "torch":
        import torch

        native_svd = lambda A: torch.linalg.svd(A, full_matrices=False)  # noqa: E731
    else:
        import jax.numpy as jnp

        native_svd = lambda A: jnp.linalg.svd(A, full_matrices=False)  # noqa: E731

    def make(svd):
        def loss(A):
            U, s, Vh = svd(A)
            return xp.real(xp.sum(((U * as_c(fw, xp.sin(s), U)) @ Vh) * xp.conj(A)))
        return loss

    A = fw.asarray(rand(rng, (7, 5), True))
    np.testing.assert_allclose(fw.grad(make(fw.eg.svd), A), fw.grad(make(native_svd), A), atol=1e-11)
    # an orthogonal matrix: all singular values tie; native divides by s_j² - s_i² ≈ 0
    Q = fw.asarray(np.linalg.qr(rand(rng, (5, 5), False))[0])
    ours = fw.grad(make(fw.eg.svd), Q)
    assert np.all(np.isfinite(ours))
    check_grads(make(fw.eg.svd), (Q,), n_directions=2)
    native = fw.grad(make(native_svd), Q)
    assert not np.allclose(native, ours, atol=1e-6), "native SVD is accurate at a full tie"


def test_jax_transforms():
    import jax
    import jax.numpy as jnp

    import eigengrad.jax as ej

    rng = np.random.default_rng(6)
    A = jnp.asarray(rand(rng, (3, 6, 6), False))

    def loss(A):
        U, s, Vh = ej.svd(A)
        return jnp.sum(((U * jnp.sin(s)[..., None, :]) @ Vh) ** 2) + jnp.sum(s ** 3)

    g = jax.jit(jax.vmap(jax.grad(loss)))(A)
    for b in range(3):
        np.testing.assert_allclose(g[b], jax.grad(loss)(A[b]), atol=1e-11)
    np.testing.assert_allclose(jax.jacfwd(loss)(A[0]), jax.jacrev(loss)(A[0]), atol=1e-10)
    check_grads(loss, (A[0],), order=2, n_directions=1)
    Q = jnp.asarray(np.linalg.qr(rand(rng, (6, 6), False))[0])  # all s = 1: basis-dependent loss
    with pytest.warns(GaugeWarning):  # under jit the check warns at run time
        jax.block_until_ready(jax.jit(jax.grad(lambda A: jnp.sum(jnp.abs(ej.svd(A)[0][:, 0]) ** 2 * jnp.arange(6.0))))(Q))


def test_torch_transforms():
    import torch

    import eigengrad.torch as et

    rng = np.random.default_rng(7)
    A = torch.tensor(rand(rng, (3, 6, 4), True))

    def loss(A):
        U, s, Vh = et.svd(A)
        return torch.sum(((U * torch.sin(s).to(U.dtype)) @ Vh).abs() ** 2) + torch.sum(s ** 3)

    assert torch.autograd.gradcheck(loss, (A[0].clone().requires_grad_(),))
    assert torch.autograd.gradgradcheck(loss, (A[0].clone().requires_grad_(),))
    g = torch.func.vmap(torch.func.grad(loss))(A)
    for b in range(3):
        torch.testing.assert_close(g[b], torch.func.grad(loss)(A[b]))
    Ar = A[0].real.contiguous()
    torch.testing.assert_close(torch.func.jacfwd(loss)(Ar), torch.func.jacrev(loss)(Ar))


def test_float32(fw):
    rng = np.random.default_rng(8)
    torch_only(fw, "float32 on JAX: test_eig_grads.py::test_float32 (same front-end pattern)")
    for dtype in (np.float32, np.complex64):
        A = fw.asarray(rand(rng, (6, 4), dtype == np.complex64).astype(dtype))
        U, s, Vh = fw.eg.svd(A)
        assert str(s.dtype).endswith("float32")
        M = fw.asarray(rand(rng, (6, 6), True).astype(np.complex64))
        check_grads(losses(fw, M, 2), (A,), n_directions=1)


def test_bad_input(fw):
    with pytest.raises(ValueError, match="at least 2 dimensions"):
        fw.eg.svd(fw.asarray(np.ones(3)))
    with pytest.raises(TypeError, match="dtype"):
        fw.eg.svdvals(fw.asarray(np.ones((3, 2), dtype=np.int32)))
    bad = np.ones((3, 2))
    bad[0, 1] = np.nan
    with pytest.raises(ValueError, match="non-finite"):
        fw.eg.svd(fw.asarray(bad))
    with pytest.raises(ValueError, match="full_matrices=True"):
        fw.eg.svd(fw.asarray(np.ones((3, 2))), full_matrices=True)
