"""One interface over JAX and PyTorch so each test runs on both front ends."""

from __future__ import annotations

import numpy as np
import pytest


class JaxFW:
    name = "jax"

    def __init__(self):
        import jax
        import jax.numpy as jnp

        import eigengrad.jax as eg

        self.jax, self.xp, self.eg = jax, jnp, eg

    def asarray(self, a, dtype=None):
        return self.xp.asarray(a, dtype=dtype)

    def numpy(self, a):
        return np.asarray(a)

    def sparse(self, a):
        """The framework's sparse matrix (BCOO) holding ``a``."""
        from jax.experimental import sparse

        return sparse.BCOO.fromdense(self.xp.asarray(a))

    def herm(self, A):
        return (A + self.xp.conj(self.xp.swapaxes(A, -1, -2))) / 2

    def conjT(self, A):
        return self.xp.conj(self.xp.swapaxes(A, -1, -2))

    def grad(self, loss, *args, argnums=0):
        """Gradient in the ∂L/∂Re + i ∂L/∂Im convention, as NumPy."""
        g = self.jax.grad(loss, argnums=argnums)(*args)
        return np.conj(np.asarray(g)) if not isinstance(g, tuple) else tuple(np.conj(np.asarray(x)) for x in g)


class TorchFW:
    name = "torch"

    def __init__(self):
        import torch

        import eigengrad.torch as eg

        self.torch, self.xp, self.eg = torch, torch, eg

    def asarray(self, a, dtype=None):
        a = np.asarray(a)
        t = self.torch.as_tensor(a)
        if dtype is not None:
            t = t.to(getattr(self.torch, np.dtype(dtype).name))
        return t

    def numpy(self, a):
        return a.detach().cpu().numpy()

    def sparse(self, a):
        """The framework's sparse matrix (CSR) holding ``a``."""
        return self.torch.as_tensor(np.asarray(a)).to_sparse_csr()

    def herm(self, A):
        return (A + A.mH) / 2

    def conjT(self, A):
        return A.mH

    def grad(self, loss, *args, argnums=0):
        idx = (argnums,) if isinstance(argnums, int) else tuple(argnums)
        args = [a.detach().clone().requires_grad_(i in idx) if hasattr(a, "detach") else a for i, a in enumerate(args)]
        gs = self.torch.autograd.grad(loss(*args), [args[i] for i in idx])
        gs = tuple(g.detach().cpu().numpy() for g in gs)
        return gs[0] if isinstance(argnums, int) else gs


FRAMEWORKS = {"jax": JaxFW, "torch": TorchFW}


def torch_only(fw, why="sweep on torch only: same neutral rules, JAX compile time"):
    """Skip on JAX, which compiles every operation for every new shape and dtype (seconds each on a
    loaded machine): sweeps run on torch, JAX runs the same neutral rules on representative cases."""
    if fw.name == "jax":
        pytest.skip(why)


def random_hermitian(rng, n, complex_=False, batch=()):
    X = rng.standard_normal(batch + (n, n))
    if complex_:
        X = X + 1j * rng.standard_normal(batch + (n, n))
    return (X + np.conj(np.swapaxes(X, -1, -2))) / 2


def random_unitary(rng, n, complex_=False):
    X = rng.standard_normal((n, n)) + (1j * rng.standard_normal((n, n)) if complex_ else 0)
    Q, R = np.linalg.qr(X)
    return Q * (np.diag(R) / np.abs(np.diag(R)))


def with_spectrum(rng, w, complex_=False):
    """A Hermitian matrix with eigenvalues exactly ``w`` up to rounding, in a random basis."""
    Q = random_unitary(rng, len(w), complex_)
    A = (Q * np.asarray(w)) @ np.conj(Q.T)
    return (A + np.conj(A.T)) / 2


def random_spd(rng, n, complex_=False, batch=()):
    X = rng.standard_normal(batch + (n, n)) + (1j * rng.standard_normal(batch + (n, n)) if complex_ else 0)
    return X @ np.conj(np.swapaxes(X, -1, -2)) / n + np.eye(n)
