"""Backward against forward for ``eigsh`` (issue 10, "Backward cheap"): the 2-D well of
``benchmarks/iterative.py`` (5-point Laplacian · h⁻² + Gaussian well), k = 8, tol 1e-10, the loss
``sum(w) + n·sum(|V[probes]|²)``, a framework sparse matrix, no preconditioner. Per size, in one
process: SciPy ARPACK's forward (the reference), then each front end's forward (``solver="arpack"``,
the default for concrete CPU values) and its backward alone; ``--plain`` adds the backward of the
same matrix as a closure (no matrix to factor: the unpreconditioned solves, as before). The torch
rows differentiate with respect to the CSR matrix itself (a leaf), and read the diagonal of its
gradient: PyTorch's own backward of ``torch.sparse_csr_tensor(crow, col, values)`` with respect to
``values`` took 2.5-4 s at n = 9216 (load ~12), growing like n², and is not eigengrad's.

    python benchmarks/adjoint.py                 # N = 64, 128, 256; writes benchmarks/results/adjoint.md
    python benchmarks/adjoint.py --N 64 --plain  # one size, with the unpreconditioned row
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np
import scipy.sparse.linalg as sla

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from iterative import diag_positions, problem  # noqa: E402

K, TOL = 8, 1e-10
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results", "adjoint.md")


def arpack(H) -> float:
    t0 = time.perf_counter()
    sla.eigsh(H, K, which="SA", tol=TOL)
    return time.perf_counter() - t0


def torch_case(H, probes, plain: bool):
    import torch

    import eigengrad.torch as et

    n = H.shape[0]
    crow, col, data = (torch.as_tensor(a) for a in (H.indptr, H.indices, H.data))
    dpos, pr = torch.as_tensor(diag_positions(H)), torch.as_tensor(probes)
    theta = torch.zeros(n, dtype=torch.float64, requires_grad=True)
    t0 = time.perf_counter()
    if plain:
        H0 = torch.sparse_csr_tensor(crow, col, data, size=(n, n))
        w, V = et.eigsh(lambda X: H0 @ X + theta[:, None] * X, K, n=n, params=[theta], tol=TOL, solver="arpack")
    else:  # the matrix itself is the leaf: PyTorch's backward of sparse_csr_tensor(values) is left out
        M = torch.sparse_csr_tensor(crow, col, data, size=(n, n)).requires_grad_()
        w, V = et.eigsh(M, K, tol=TOL, solver="arpack")
    loss = w.sum() + n * (V[pr] ** 2).sum()
    t1 = time.perf_counter()
    loss.backward()
    t2 = time.perf_counter()
    return t1 - t0, t2 - t1, (theta.grad if plain else M.grad.values()[dpos]).numpy()


def jax_case(H, probes, plain: bool):
    import jax
    import jax.numpy as jnp
    from jax.experimental import sparse as jsparse

    jax.config.update("jax_enable_x64", True)
    import eigengrad.jax as ej

    n = H.shape[0]
    idx = jnp.asarray(np.stack([np.repeat(np.arange(n), np.diff(H.indptr)), H.indices], axis=1))
    data, dpos, pr = jnp.asarray(H.data), jnp.asarray(diag_positions(H)), jnp.asarray(probes)

    def loss(theta):
        M = jsparse.BCOO((data.at[dpos].add(theta), idx), shape=(n, n))
        if plain:
            w, V = ej.eigsh(lambda X: M @ X, K, n=n, tol=TOL, solver="arpack")
        else:
            w, V = ej.eigsh(M, K, tol=TOL, solver="arpack")
        return jnp.sum(w) + n * jnp.sum(V[pr] ** 2)

    t0 = time.perf_counter()
    val, pull = jax.vjp(loss, jnp.zeros(n))
    jax.block_until_ready(val)
    t1 = time.perf_counter()
    (g,) = jax.block_until_ready(pull(jnp.ones_like(val)))
    return t1 - t0, time.perf_counter() - t1, np.asarray(g)


def run(N: int, plain: bool) -> list[dict]:
    H, _, probes, n = problem("well2d", N)
    rows = []
    for front, case in (("jax", jax_case), ("torch", torch_case)):
        for p in (False, True) if plain else (False,):
            if n <= 16384:  # warm-up: JAX traces and compiles per shape on the first call
                case(H, probes, p)
            ref = arpack(H)
            fwd, bwd, g = case(H, probes, p)
            rows.append(dict(n=n, front=front, call="closure (unpreconditioned)" if p else "sparse matrix (default)",
                             arpack=ref, fwd=fwd, bwd=bwd, load=os.getloadavg()[0], gnorm=float(np.linalg.norm(g))))
            r = rows[-1]
            print(f"n={n} {front:5s} {r['call']:28s} ARPACK {ref:.3f}s fwd {fwd:.3f}s bwd {bwd:.3f}s "
                  f"bwd/ARPACK {bwd / ref:.2f} load {r['load']:.1f} |g| {r['gnorm']:.10g}", flush=True)
    return rows


def write(rows: list[dict]) -> None:
    lines = ["# Backward vs forward, `eigsh(A, 8)` on the 2-D well (benchmarks/adjoint.py)", "",
             "Loss `sum(w) + n·sum(|V[probes]|²)`, tol 1e-10, framework sparse matrix, no preconditioner; "
             "SciPy ARPACK's forward timed in the same process just before each row; warm calls (one untimed call first) up to n = 16384. 1-minute load average "
             "of the 2-core machine per row (shared with other jobs: absolute times are inflated by it, the "
             "ratios less so).", "",
             "| n | front end | call | ARPACK fwd | eigengrad fwd | backward | backward / ARPACK fwd | load |",
             "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['n']} | {r['front']} | {r['call']} | {r['arpack']:.3f} s | {r['fwd']:.3f} s | "
                     f"{r['bwd']:.3f} s | {r['bwd'] / r['arpack']:.2f} | {r['load']:.1f} |")
    with open(OUT, "w") as f:
        f.write("\n".join(lines) + "\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--N", type=int, nargs="*", default=[64, 128, 256])
    ap.add_argument("--plain", action="store_true", help="add the unpreconditioned (closure) rows")
    ap.add_argument("--no-write", action="store_true")
    a = ap.parse_args()
    rows = [r for N in a.N for r in run(N, a.plain)]
    if not a.no_write:
        write(rows)


if __name__ == "__main__":
    main()
