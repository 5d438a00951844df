"""Dense Hermitian eigh: derivatives against finite differences, on both front ends, including
exact and near degeneracy, generalized problems, batches, second order, float32."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from eigengrad.testing import check_grads
from frameworks import random_hermitian, random_spd, torch_only, with_spectrum


def losses(fw, k):
    """Gauge-invariant losses of (w, V): eigenvalues, a projector, |V|^2 entries, a quadratic form."""
    xp = fw.xp

    def eig_loss(w, V):
        return w * w + xp.sin(w)

    def projector(w, V):
        Vk = V[..., :, :k]
        return Vk @ fw.conjT(Vk)

    def moduli(w, V):
        return xp.abs(V) ** 2

    return {"values": eig_loss, "projector": projector, "moduli": moduli}


@pytest.mark.parametrize("n", [1, 2, 5, 12, 30])
@pytest.mark.parametrize("complex_", [False, True])
def test_random_matrices(fw, n, complex_):
    if not (n == 5 and complex_):
        torch_only(fw)
    rng = np.random.default_rng(n + 100 * complex_)
    A = fw.asarray(random_hermitian(rng, n, complex_))
    for name, L in losses(fw, max(1, n // 2)).items():
        check_grads(lambda A: L(*fw.eg.eigh(fw.herm(A))), (A,), n_directions=2)


def test_batched(fw):
    rng = np.random.default_rng(1)
    A = fw.asarray(random_hermitian(rng, 6, True, batch=(2, 3)))
    w, V = fw.eg.eigh(A)
    wn, _ = np.linalg.eigh(fw.numpy(A))
    np.testing.assert_allclose(fw.numpy(w), wn, atol=1e-12)
    check_grads(lambda A: losses(fw, 2)["projector"](*fw.eg.eigh(fw.herm(A))), (A,), n_directions=2)


@pytest.mark.parametrize("complex_", [False, True])
def test_generalized(fw, complex_):
    if not complex_:
        torch_only(fw)
    rng = np.random.default_rng(7)
    n = 7
    A = fw.asarray(random_hermitian(rng, n, complex_))
    B = fw.asarray(random_spd(rng, n, complex_))
    w, V = fw.eg.eigh(A, B)
    An, Bn, Vn, wn = fw.numpy(A), fw.numpy(B), fw.numpy(V), fw.numpy(w)
    np.testing.assert_allclose(An @ Vn, Bn @ Vn * wn, atol=1e-10)
    np.testing.assert_allclose(np.conj(Vn.T) @ Bn @ Vn, np.eye(n), atol=1e-10)
    for name, L in losses(fw, 3).items():
        check_grads(lambda A, B: L(*fw.eg.eigh(fw.herm(A), fw.herm(B))), (A, B), n_directions=2)


def test_generalized_degenerate_with_moving_B(fw):
    """A cluster of the pencil (exact triple) while B moves: the -½ V^H dB V block inside the
    cluster keeps V^H B V = I; dropping it would make the projector's derivative wrong."""
    rng = np.random.default_rng(3)
    n = 6
    B = random_spd(rng, n)
    L = np.linalg.cholesky(B)
    C = with_spectrum(rng, [1.0, 1.0, 1.0, 2.0, 3.0, 4.0])
    A = L @ C @ L.T  # eigenvalues of the pencil (A, B) are those of C
    A, B = fw.asarray(A), fw.asarray(B)

    def proj(A, B):
        w, V = fw.eg.eigh(fw.herm(A), fw.herm(B))
        Vc = V[:, :3]
        return Vc @ fw.conjT(Vc), w[:3].sum()

    check_grads(proj, (A, B), n_directions=3)


@pytest.mark.parametrize(
    "spectrum",
    [
        [1.0, 1.0, 2.0, 3.0, 4.0],  # a pair
        [0.5, 2.0, 2.0, 2.0, 2.0, 5.0],  # a cluster of 4
        [1.0, 1.0, 1.0, 3.0, 3.0, 7.0],  # two clusters
    ],
)
@pytest.mark.parametrize("complex_", [False, True])
def test_exact_degeneracy(fw, spectrum, complex_):
    """Subspace-invariant losses are smooth at exact degeneracy and get FD-exact gradients."""
    if not complex_:
        torch_only(fw)
    rng = np.random.default_rng(len(spectrum))
    A = fw.asarray(with_spectrum(rng, spectrum, complex_))
    ends = np.flatnonzero(np.diff(spectrum) > 0.1) + 1  # cluster boundaries
    M = fw.asarray(random_hermitian(rng, len(spectrum), complex_))
    xp = fw.xp

    def loss(A):
        w, V = fw.eg.eigh(fw.herm(A))
        out = []
        for k in ends:
            P = V[:, :k] @ fw.conjT(V[:, :k])
            out += [xp.real(xp.sum(P * M)), w[:k].sum(), P]
        return tuple(out)

    check_grads(loss, (A,), n_directions=3)


def test_identity_and_repeated_blocks(fw):
    rng = np.random.default_rng(11)
    blk = random_hermitian(rng, 3)
    for A0 in (np.eye(5), np.kron(np.eye(3), blk)):  # all-equal spectrum; each eigenvalue thrice
        A = fw.asarray(A0)
        n = A0.shape[0]
        k = 3 if n == 9 else 5

        def loss(A):
            w, V = fw.eg.eigh(fw.herm(A))
            return V[:, :k] @ fw.conjT(V[:, :k]), w.sum(), w[:k].sum()

        check_grads(loss, (A,), n_directions=3)


@pytest.mark.parametrize("gap", [1e-12, 1e-9])
def test_near_degeneracy_gauge_invariant(fw, gap):
    rng = np.random.default_rng(5)
    A = fw.asarray(with_spectrum(rng, [1.0, 1.0 + gap, 2.0, 3.0], complex_=True))

    def loss(A):
        w, V = fw.eg.eigh(fw.herm(A))
        return V[:, :2] @ fw.conjT(V[:, :2])

    check_grads(loss, (A,), n_directions=3)


def test_hessian_of_smallest_eigenvalue(fw):
    rng = np.random.default_rng(2)
    for complex_ in (False, True):
        A = fw.asarray(random_hermitian(rng, 6, complex_))
        check_grads(lambda A: fw.eg.eigvalsh(fw.herm(A))[0], (A,), order=2)


def test_second_order_cluster_sum_at_degeneracy(fw):
    """The Hessian of a cluster's eigenvalue sum (gradient: the cluster projector) is exact at exact
    degeneracy, since the projector's derivative couples the cluster only to the outside."""
    rng = np.random.default_rng(9)
    A = fw.asarray(with_spectrum(rng, [1.0, 1.0, 2.0, 4.0], complex_=True))
    check_grads(lambda A: fw.eg.eigvalsh(fw.herm(A))[:2].sum(), (A,), order=2, n_directions=2)


def test_second_order_of_eigenvectors_at_degeneracy_warns(fw):
    """Second derivatives of eigenvector losses at an exact cluster need second-order in-cluster
    terms that (w, V) cotangents cannot carry: not silent, a DegeneracyWarning says so."""
    from eigengrad.errors import DegeneracyWarning

    rng = np.random.default_rng(9)
    A = fw.asarray(with_spectrum(rng, [1.0, 1.0, 2.0, 4.0]))

    def loss(A):
        w, V = fw.eg.eigh(fw.herm(A))
        P = V[:, :2] @ fw.conjT(V[:, :2])
        return fw.xp.sum(P * P[0])

    with pytest.warns(DegeneracyWarning):
        try:
            check_grads(loss, (A,), order=2, n_directions=1, modes=("rev",))
        except AssertionError:
            pass


def test_float32(fw):
    rng = np.random.default_rng(4)
    for dtype in (np.float32, np.complex64):
        A64 = random_hermitian(rng, 6, dtype == np.complex64)
        A = fw.asarray(A64.astype(dtype))
        w, V = fw.eg.eigh(A)
        assert str(w.dtype).endswith("float32")
        loss = lambda A: losses(fw, 2)["projector"](*fw.eg.eigh(fw.herm(A)))  # noqa: E731
        check_grads(loss, (A,), n_directions=2)
        g32 = fw.grad(lambda A: fw.xp.real(fw.xp.sum(loss(A) * A)), A)
        A64f = fw.asarray(A64)
        g64 = fw.grad(lambda A: fw.xp.real(fw.xp.sum(loss(A) * A)), A64f)
        np.testing.assert_allclose(g32, g64, atol=2e-4 * np.abs(g64).max())


@settings(max_examples=10, deadline=None)
@given(
    sizes=st.lists(st.integers(1, 4), min_size=1, max_size=4),
    complex_=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_property_clustered_spectra(sizes, complex_, seed):
    """Hypothesis: random cluster sizes (1..4, so exact clusters of 2-4), losses on whole clusters.
    Run on PyTorch (eager, no compilation per shape); the JAX front end registers the same neutral
    rules and is swept by the parametrised tests above."""
    from frameworks import TorchFW

    fw = TorchFW()
    rng = np.random.default_rng(seed)
    spectrum = np.repeat(np.arange(len(sizes)) * 1.5 + rng.uniform(0, 0.5), sizes)
    A = fw.asarray(with_spectrum(rng, spectrum, complex_))
    k = sizes[0]

    def loss(A):
        w, V = fw.eg.eigh(fw.herm(A))
        return V[:, :k] @ fw.conjT(V[:, :k]), fw.xp.exp(w[:k]).sum()

    check_grads(loss, (A,), n_directions=1)
