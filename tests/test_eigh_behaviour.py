"""Dense eigh beyond finite differences: gauge reporting, native failures we fix, scale invariance,
small genuine gaps, bad input, and the transforms (jit, vmap, torch.func)."""

import warnings

import numpy as np
import pytest

from eigengrad.errors import GaugeError, GaugeWarning
from frameworks import random_hermitian, random_spd, with_spectrum


def phase_loss(fw):
    xp = fw.xp
    return lambda A: xp.real(fw.eg.eigh(fw.herm(A))[1][1, 0])  # depends on the phase of v_0


def basis_loss(fw):
    xp = fw.xp
    # |V[0, 0]|^2 is phase invariant but depends on the basis chosen inside the cluster {0, 1}
    return lambda A: xp.abs(fw.eg.eigh(fw.herm(A))[1][0, 0]) ** 2


def test_gauge_dependent_losses_raise(fw):
    rng = np.random.default_rng(0)
    A = fw.asarray(random_hermitian(rng, 5, complex_=True))
    with pytest.raises(GaugeError, match=r"eigenvector\(s\) 0 .* phase"):
        fw.grad(phase_loss(fw), A)
    D = fw.asarray(with_spectrum(rng, [1.0, 1.0, 2.0, 3.0]))
    with pytest.raises(GaugeError, match=r"rotated inside a degenerate cluster: pairs \(0, 1\)"):
        fw.grad(basis_loss(fw), D)


def test_gauge_modes(fw):
    rng = np.random.default_rng(1)
    A = fw.asarray(random_hermitian(rng, 4, complex_=True))
    xp = fw.xp

    def loss(A, mode):
        return xp.real(fw.eg.eigh(fw.herm(A), gauge=mode)[1][1, 0])

    with pytest.warns(GaugeWarning):
        g_warn = fw.grad(lambda A: loss(A, "warn"), A)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        g_ignore = fw.grad(lambda A: loss(A, "ignore"), A)
    np.testing.assert_allclose(g_warn, g_ignore)
    with pytest.raises(ValueError, match="gauge must be one of"):
        fw.eg.eigh(A, gauge="loud")


def test_gauge_invariant_losses_do_not_raise(fw):
    rng = np.random.default_rng(2)
    A = fw.asarray(with_spectrum(rng, [1.0, 1.0, 1.0, 2.0, 5.0], complex_=True))
    xp = fw.xp

    def loss(A):
        w, V = fw.eg.eigh(fw.herm(A))
        P = V[:, :3] @ fw.conjT(V[:, :3])
        return xp.real(xp.sum(P * xp.conj(P))) + xp.sum(xp.abs(V[:, 3:]) ** 2 * 2.0) + w[:3].sum()

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        g = fw.grad(loss, A)
    assert np.all(np.isfinite(g))


def test_jax_jit_reports_gauge_with_a_warning():
    import jax

    from frameworks import JaxFW

    fw = JaxFW()
    A = fw.asarray(random_hermitian(np.random.default_rng(3), 4, complex_=True))
    with pytest.warns(GaugeWarning, match="phase"):
        jax.jit(jax.grad(phase_loss(fw)))(A).block_until_ready()


def test_native_fails_where_eigengrad_is_exact(fw):
    """Projector onto an exactly degenerate pair: native backward is NaN/inf or noise; ours matches
    the closed form. For P = V_c V_c^H and L = Re tr(P M), dL/dA = Σ_{i∈c, j∉c} ... computed here by
    the resolvent formula  Ā = Σ_{j∉c} (P M Q_j + Q_j M P) / (λ_c - λ_j)."""
    rng = np.random.default_rng(4)
    spectrum = np.array([1.0, 1.0, 2.0, 3.5])
    Q = np.linalg.qr(rng.standard_normal((4, 4)))[0]
    A0 = (Q * spectrum) @ Q.T
    A0 = (A0 + A0.T) / 2
    M = random_hermitian(rng, 4)
    P = Q[:, :2] @ Q[:, :2].T
    expected = sum((P @ M @ np.outer(Q[:, j], Q[:, j]) + np.outer(Q[:, j], Q[:, j]) @ M @ P) / (1.0 - spectrum[j])
                   for j in (2, 3))
    Mx = fw.asarray(M)
    xp = fw.xp

    def ours(A):
        V = fw.eg.eigh(fw.herm(A))[1][:, :2]
        return xp.sum((V @ fw.conjT(V)) * Mx)

    A = fw.asarray(A0)
    g = fw.grad(ours, A)
    np.testing.assert_allclose(g, expected, atol=1e-9)
    # (PyTorch >= 2.13's native backward is exact on this projector too; JAX's is not)
    # identity: every eigenvalue tied; V V^H = I is constant, so the gradient is exactly 0
    A_ident = fw.asarray(np.eye(4))
    full = lambda eigh: lambda A: xp.sum((lambda V: V @ fw.conjT(V))(eigh(fw.herm(A))[1]) * Mx)  # noqa: E731
    assert not np.all(np.isfinite(fw.grad(full(xp.linalg.eigh), A_ident)))
    np.testing.assert_array_equal(fw.grad(full(fw.eg.eigh), A_ident), 0.0)


def test_agrees_with_native_where_native_is_finite(fw):
    rng = np.random.default_rng(5)
    A = fw.asarray(random_hermitian(rng, 6, complex_=True))
    xp = fw.xp
    loss = lambda e: lambda A: xp.sum(e(fw.herm(A))[0] ** 3) + xp.sum(xp.abs(e(fw.herm(A))[1][:, :3]) ** 4)  # noqa
    np.testing.assert_allclose(fw.grad(loss(fw.eg.eigh), A), fw.grad(loss(xp.linalg.eigh), A), atol=1e-10)


@pytest.mark.parametrize("scale", [1e-8, 1.0, 1e8])
def test_cluster_detection_is_scale_invariant(fw, scale):
    """Same clusters, same (rescaled) gradients and the same verdicts at any scale of A."""
    rng = np.random.default_rng(6)
    A0 = with_spectrum(rng, [1.0, 1.0 + 1e-13, 2.0, 2.0 + 1e-3, 3.0])
    xp = fw.xp

    M = fw.asarray(random_hermitian(rng, 5))

    def proj(A):
        V = fw.eg.eigh(fw.herm(A))[1][:, :2]
        return xp.sum((V @ fw.conjT(V)) * M)

    g1 = fw.grad(proj, fw.asarray(A0))
    gs = fw.grad(proj, fw.asarray(A0 * scale))
    np.testing.assert_allclose(gs * scale, g1, rtol=1e-6, atol=1e-9 * np.abs(g1).max())
    # the pair (2.0, 2.001) is a genuine gap at every scale: a loss on one of its vectors is fine
    one = lambda A: xp.sum(fw.eg.eigh(fw.herm(A))[1][:, 2] ** 2 * xp.arange(5.0))  # noqa: E731
    assert np.all(np.isfinite(fw.grad(one, fw.asarray(A0 * scale))))


@pytest.mark.parametrize("scale", [1e-8, 1.0, 1e8])
def test_small_genuine_gap_exact_or_error(fw, scale):
    """Gap δ = 1e-10 (relative). L = v0[0] v0[1] (sign invariant) has dL/dA_01 = -1/(2δ) exactly.
    Default tolerance (sqrt(eps) = 1.5e-8) clusters the pair: a clear GaugeError, never a truncated
    number. With cluster_rtol below the gap: the exact large gradient."""
    delta = 1e-10
    A0 = np.diag([0.0, delta, 1.0, 2.0]) * scale
    xp = fw.xp

    def loss(rtol):
        def f(A):
            V = fw.eg.eigh(fw.herm(A), cluster_rtol=rtol)[1]
            return V[0, 0] * V[1, 0]

        return f

    with pytest.raises(GaugeError):
        fw.grad(loss(None), fw.asarray(A0))
    g = fw.grad(loss(1e-13), fw.asarray(A0))
    np.testing.assert_allclose(g[0, 1] * scale, -1 / (2 * delta), rtol=1e-5)
    assert xp is not None


def test_bad_input(fw):
    xp = fw.xp
    eg = fw.eg
    with pytest.raises(ValueError, match="square"):
        eg.eigh(fw.asarray(np.ones((3, 4))))
    with pytest.raises(ValueError, match="at least 2 dimensions"):
        eg.eigh(fw.asarray(np.ones(3)))
    with pytest.raises(TypeError, match="dtype"):
        eg.eigh(fw.asarray(np.eye(3, dtype=np.int64)))
    bad = np.eye(3)
    bad[1, 2] = np.nan
    with pytest.raises(ValueError, match="non-finite"):
        eg.eigh(fw.asarray(bad))
    with pytest.raises(ValueError, match="not Hermitian"):
        eg.eigh(fw.asarray(np.triu(np.ones((3, 3)))))
    with pytest.raises(ValueError, match="not positive definite"):
        eg.eigh(fw.asarray(np.eye(3)), fw.asarray(-np.eye(3)))
    with pytest.raises(ValueError, match="same matrix size"):
        eg.eigh(fw.asarray(np.eye(3)), fw.asarray(np.eye(4)))
    with pytest.raises(ValueError, match="do not broadcast"):
        eg.eigh(fw.asarray(np.ones((2, 3, 3)) * np.eye(3)), fw.asarray(np.ones((4, 3, 3)) * np.eye(3)))
    with pytest.raises(ValueError, match="cluster_rtol"):
        eg.eigh(fw.asarray(np.eye(3)), cluster_rtol=-1.0)
    assert xp is not None


def test_inputs_not_mutated(fw):
    rng = np.random.default_rng(7)
    A0, B0 = random_hermitian(rng, 5, True), random_spd(rng, 5, True)
    A, B = fw.asarray(A0), fw.asarray(B0)
    fw.grad(lambda A, B: fw.xp.sum(fw.eg.eigh(A, B)[0]), A, B, argnums=(0, 1))
    np.testing.assert_array_equal(fw.numpy(A), A0)
    np.testing.assert_array_equal(fw.numpy(B), B0)


def test_generalized_broadcasts_batch():
    from frameworks import TorchFW

    fw = TorchFW()
    rng = np.random.default_rng(8)
    A = fw.asarray(random_hermitian(rng, 4, batch=(3,)))
    B = fw.asarray(random_spd(rng, 4))
    w, V = fw.eg.eigh(A, B)
    assert tuple(w.shape) == (3, 4)
    for i in range(3):
        np.testing.assert_allclose(fw.numpy(w[i]), fw.numpy(fw.eg.eigh(A[i], B)[0]), atol=1e-12)


def test_jax_transforms_agree():
    import jax
    import jax.numpy as jnp

    import eigengrad.jax as ej

    rng = np.random.default_rng(9)
    A = jnp.asarray(random_hermitian(rng, 5, batch=(3,)))

    def loss(A):
        w, V = ej.eigh((A + A.T) / 2)
        return jnp.sum(w**2) + jnp.sum(jnp.abs(V[:, :2]) ** 2 * jnp.arange(5.0)[:, None])

    g_eager = jax.vmap(jax.grad(loss))(A)
    g_jit = jax.jit(jax.vmap(jax.grad(loss)))(A)
    g_loop = jnp.stack([jax.grad(loss)(a) for a in A])
    np.testing.assert_allclose(g_eager, g_loop, atol=1e-12)
    np.testing.assert_allclose(g_jit, g_loop, atol=1e-12)
    # Second order under jit (the same JVP and VJP rules traced; eager, every operation of the
    # batched second-order graphs compiled alone: 7.5 instead of 2.6 CPU-s)
    H_fwd = jax.jit(jax.jacfwd(jax.grad(lambda a: ej.eigvalsh((a + a.T) / 2)[0])))(A[0])
    H_rev = jax.jit(jax.jacrev(jax.grad(lambda a: ej.eigvalsh((a + a.T) / 2)[0])))(A[0])
    np.testing.assert_allclose(H_fwd, H_rev, atol=1e-10)


def test_torch_func_transforms_agree():
    import torch
    from torch.func import grad, jacfwd, jacrev, vmap

    import eigengrad.torch as et

    rng = np.random.default_rng(10)
    A = torch.as_tensor(random_hermitian(rng, 5, batch=(3,)))

    def loss(a):
        w, V = et.eigh((a + a.mT) / 2)
        return (w**2).sum() + (V[:, :2].abs() ** 2 * torch.arange(5.0, dtype=a.dtype)[:, None]).sum()

    g_vmap = vmap(grad(loss))(A)
    g_loop = []
    for a in A:
        a = a.clone().requires_grad_()
        loss(a).backward()
        g_loop.append(a.grad)
    np.testing.assert_allclose(g_vmap.numpy(), torch.stack(g_loop).numpy(), atol=1e-12)
    f = lambda a: et.eigvalsh((a + a.mT) / 2)[0]  # noqa: E731
    np.testing.assert_allclose(jacfwd(jacrev(f))(A[0]).numpy(), jacrev(jacrev(f))(A[0]).numpy(), atol=1e-10)
    assert torch.autograd.gradcheck(f, (A[0].clone().requires_grad_(),), check_forward_ad=True)
    assert torch.autograd.gradgradcheck(f, (A[0].clone().requires_grad_(),))


def test_torch_func_grad_still_checks_gauge():
    import torch

    import eigengrad.torch as et

    A = torch.as_tensor(random_hermitian(np.random.default_rng(11), 4, complex_=True))
    with pytest.raises(GaugeError):
        torch.func.grad(lambda a: et.eigh((a + a.mH) / 2)[1][1, 0].real)(A)
