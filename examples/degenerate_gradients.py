"""Native eigh backward passes at degeneracy versus eigengrad, checked against finite differences.

Three smooth losses of exactly degenerate Hermitian matrices; for each, the directional derivative
along a random Hermitian direction from central finite differences (the truth), from eigengrad
(JAX and PyTorch) and from the native jnp.linalg.eigh / torch.linalg.eigh backward. Prints a table.
Run: python examples/degenerate_gradients.py
"""

from __future__ import annotations

import jax

jax.config.update("jax_enable_x64", True)
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

import eigengrad.jax as ej  # noqa: E402
import eigengrad.torch as et  # noqa: E402


def cases(rng):
    n = 5
    Q = np.linalg.qr(rng.standard_normal((n, n)))[0]
    pair = (Q * np.array([1.0, 1.0, 2.0, 3.0, 4.0])) @ Q.T
    M = rng.standard_normal((n, n))
    M = M + M.T
    return [
        ("projector onto a double eigenvalue, tr(P M)", (pair + pair.T) / 2, lambda w, V, xp: xp.sum((V[:, :2] @ V[:, :2].T) * xp.asarray(M))),
        ("identity: V V^T weighted (constant)", np.eye(n), lambda w, V, xp: xp.sum((V @ V.T) * xp.asarray(M))),
        ("sum of |v|^4 over a triple cluster + λ", np.kron(np.eye(1), (Q * np.array([0.5, 0.5, 0.5, 2.0, 3.0])) @ Q.T),
         lambda w, V, xp: xp.sum((V[:, :3] @ V[:, :3].T) ** 2) + xp.sum(w[:3])),
    ]


def directional(loss, eigh, A, D, fwk):
    """d/dt loss(eigh(A + tD)) at t = 0 by reverse mode."""
    if fwk == "jax":
        g = jax.grad(lambda A: loss(*eigh((A + A.T) / 2), jnp))(jnp.asarray(A))
        return float(jnp.sum(g * D))
    At = torch.tensor(A, requires_grad=True)
    loss(*eigh((At + At.T) / 2), torch).backward()
    return float((At.grad * torch.tensor(D)).sum())


def main():
    rng = np.random.default_rng(0)
    rows = []
    for name, A, loss in cases(rng):
        D = rng.standard_normal(A.shape)
        D = D + D.T
        h = 1e-5
        fd = (loss(*np.linalg.eigh(A + h * D), np) - loss(*np.linalg.eigh(A - h * D), np)) / (2 * h)
        vals = {
            "eigengrad jax": directional(loss, lambda A: ej.eigh(A), A, D, "jax"),
            "eigengrad torch": directional(loss, lambda A: et.eigh(A), A, D, "torch"),
            "native jax": directional(loss, jnp.linalg.eigh, A, D, "jax"),
            "native torch": directional(loss, torch.linalg.eigh, A, D, "torch"),
        }
        rows.append((name, fd, vals))
    cols = ["eigengrad jax", "eigengrad torch", "native jax", "native torch"]
    print(f"{'loss':46s} {'finite diff':>12s} " + " ".join(f"{c:>16s}" for c in cols))
    for name, fd, vals in rows:
        print(f"{name:46s} {fd:12.6f} " + " ".join(f"{vals[c]:16.6g}" for c in cols))
    print("\nerror vs finite differences, |value - fd| / max(|fd|, 1):")
    for name, fd, vals in rows:
        errs = [abs(vals[c] - fd) / max(abs(fd), 1.0) for c in cols]
        print(f"{name:46s} {'':12s} " + " ".join(f"{e:16.1e}" for e in errs))
        assert errs[0] < 1e-5 and errs[1] < 1e-5, "eigengrad disagrees with finite differences"


if __name__ == "__main__":
    main()
