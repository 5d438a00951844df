"""Every subset of differentiated inputs of eigsh/eigs ({A}, {B}, {A, B}; one of a closure's arrays),
in reverse and forward mode, on both front ends, against central differences."""

import numpy as np
import pytest

from frameworks import random_spd

N, K = 24, 3


def _problem():
    rng = np.random.default_rng(3)
    A = np.diag(np.arange(1.0, N + 1)) + 0.05 * rng.standard_normal((N, N))
    A = (A + A.T) / 2
    B = random_spd(rng, N) * 0.2 + 0.8 * np.eye(N)
    M = rng.standard_normal((N, K))
    return A, B, M, rng


def _loss(fw, M, solver):
    Mx = fw.asarray(M)

    def loss(A, B):
        w, V = fw.eg.eigsh(A, K, B=B, solver=solver)
        return fw.xp.sum(w) + fw.xp.sum(Mx * fw.xp.abs(V) ** 2)

    return loss


def _fd(f, x, d, h=1e-5):
    return (f(x + h * d) - f(x - h * d)) / (2 * h)


def _jvp(fw, f, x, d):
    if fw.name == "jax":
        return float(fw.jax.jvp(f, (fw.asarray(x),), (fw.asarray(d),))[1])
    import torch.autograd.forward_ad as fwAD

    with fwAD.dual_level():
        out = f(fwAD.make_dual(fw.asarray(x), fw.asarray(d)))
        return float(fwAD.unpack_dual(out).tangent)


@pytest.mark.parametrize("wrt", ["A", "B", "AB"])
@pytest.mark.parametrize("solver", ["auto", "lobpcg"])
def test_eigsh_subsets_reverse_and_forward(fw, wrt, solver):
    A, B, M, rng = _problem()
    loss = _loss(fw, M, solver)
    dA = rng.standard_normal((N, N))
    dA = (dA + dA.T) / 2
    dB = rng.standard_normal((N, N))
    dB = 0.1 * (dB + dB.T) / 2
    dA, dB = (dA if "A" in wrt else 0 * dA), (dB if "B" in wrt else 0 * dB)

    def f_np(t):
        return float(loss(fw.asarray(A + t * dA), fw.asarray(B + t * dB)))

    ref = _fd(f_np, 0.0, 1.0)
    argnums = tuple(i for i, c in enumerate("AB") if c in wrt)
    g = fw.grad(loss, fw.asarray(A), fw.asarray(B), argnums=argnums)
    got = sum(np.sum(np.real(gi) * di) for gi, di in zip(g, [dA, dB][argnums[0]:argnums[-1] + 1]))
    assert abs(got - ref) <= 1e-6 * max(1.0, abs(ref))
    # forward mode along the same direction, only the differentiated inputs carrying tangents
    if wrt == "A":
        fwd = _jvp(fw, lambda a: loss(a, fw.asarray(B)), A, dA)
    elif wrt == "B":
        fwd = _jvp(fw, lambda b: loss(fw.asarray(A), b), B, dB)
    else:
        return
    assert abs(fwd - ref) <= 1e-6 * max(1.0, abs(ref))


def test_eigs_one_of_two_closure_arrays_jax():
    """Only one of the arrays a matrix-free eigs operator closes over is differentiated."""
    import jax
    import jax.numpy as jnp

    import eigengrad.jax as ej

    rng = np.random.default_rng(5)
    G = jnp.asarray(np.diag(np.arange(1.0, N + 1)) + 0.3 * np.triu(rng.standard_normal((N, N)), 1))
    p, q = jnp.asarray(rng.standard_normal(N)), jnp.asarray(rng.standard_normal(N))

    def loss(p, q):
        w, _ = ej.eigs(lambda X: G @ X + 0.01 * (p[:, None] * X) + 0.01 * (q[:, None] * X), 2, n=N)
        return jnp.sum(jnp.real(w))

    d = rng.standard_normal(N)
    for arg in (0, 1):
        g = np.asarray(jax.grad(loss, argnums=arg)(p, q))
        args = [np.asarray(p), np.asarray(q)]

        def f(t):
            a = list(args)
            a[arg] = a[arg] + t * d
            return float(loss(jnp.asarray(a[0]), jnp.asarray(a[1])))

        assert abs(g @ d - _fd(f, 0.0, 1.0)) <= 1e-6
