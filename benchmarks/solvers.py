"""Forward solvers on the issue-10 problem, run on demand (not a test): the 2-D Laplacian (5-point,
h⁻² scaled, Dirichlet, domain [-10, 10]²) plus a Gaussian well, k = 8 smallest, tol = 1e-10, no
preconditioner. Rows: SciPy ARPACK (the reference, timed in the same process as each row), eigengrad's
ARPACK wrapper (k + 1 pairs), and the native LOBPCG and Krylov–Schur
Lanczos on torch (eager, one intra-op thread) and JAX (jit, compile excluded). Columns: forward wall
time, products with A (columns), the ratio to ARPACK, the eigenvalue error against a tight
shift-invert reference, the load average. Each row runs in its own process with a time limit.

    python benchmarks/solvers.py [--N 64 256] [--timeout 60]   # writes benchmarks/results/solvers.md
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as sla

K, TOL = 8, 1e-10
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HOST = ("scipy-arpack", "eg-arpack")
NATIVE = ("torch-lobpcg", "torch-lanczos", "jax-lobpcg", "jax-lanczos")


def problem(N: int, L: float = 20.0) -> sp.csr_matrix:
    h = L / (N + 1)
    D = sp.diags([-np.ones(N - 1), 2 * np.ones(N), -np.ones(N - 1)], [-1, 0, 1]) / h**2
    x = -L / 2 + h * np.arange(1, N + 1)
    X, Y = np.meshgrid(x, x, indexing="ij")
    V0 = -5.0 * np.exp(-((X - 0.3) ** 2 + 1.3 * (Y + 0.2) ** 2) / 8.0)
    return (sp.kron(D, sp.eye(N)) + sp.kron(sp.eye(N), D) + sp.diags(V0.ravel())).tocsr()


def counting(H):
    """``H`` as a LinearOperator that counts the columns it is applied to."""
    c = [0]

    def mm(X):
        c[0] += X.shape[1] if X.ndim == 2 else 1
        return H @ X
    return c, sla.LinearOperator(H.shape, matvec=mm, matmat=mm, dtype=H.dtype)


def timed(f):
    t = time.perf_counter()
    out = f()
    return out, time.perf_counter() - t


def scipy_arpack(H, v0):
    c, A = counting(H)
    (w, _), t = timed(lambda: sla.eigsh(A, K, which="SA", tol=TOL, v0=v0))
    return w, t, c[0]


def case(name: str, N: int) -> dict:
    H = problem(N)
    n = H.shape[0]
    v0 = np.random.default_rng(0).standard_normal(n)
    w_ref, t_ref, mv_ref = scipy_arpack(H, v0)
    extra: dict = {}
    if name == "scipy-arpack":
        w, t, mv = w_ref, t_ref, mv_ref
    elif name == "eg-arpack":
        from eigengrad._solvers import arpack
        c, A = counting(H)
        (w, _), t = timed(lambda: arpack.eigsh(A, K, which="smallest", v0=v0, tol=TOL, maxiter=20 * n))
        w, mv = np.sort(w)[:K], c[0]
    elif name.startswith("torch"):
        import torch
        torch.set_num_threads(1)
        from eigengrad._solvers.krylov_schur import krylov_schur
        from eigengrad._solvers.lobpcg import extremal
        Ht = torch.sparse_csr_tensor(torch.as_tensor(H.indptr), torch.as_tensor(H.indices), torch.as_tensor(H.data),
                                     size=H.shape)
        c = [0]

        def A(X):
            c[0] += X.shape[1]
            return Ht @ X
        X0 = torch.as_tensor(np.random.default_rng(0).standard_normal((n, 2 * K)))
        if name == "torch-lobpcg":
            out, t = timed(lambda: extremal(A, X0, K, largest=False, tol=TOL, maxiter=5000))
            w, it = out[0].numpy(), int(out[-1])
        else:
            out, t = timed(lambda: krylov_schur(A, X0[:, :1], K, which="smallest", hermitian=True, tol=TOL, maxiter=5000))
            w, it = out.w[:K].numpy(), int(out.iters)
        mv, extra = c[0], dict(iters=it)
    else:
        import jax
        jax.config.update("jax_enable_x64", True)
        import jax.numpy as jnp
        from jax.experimental import sparse as jsparse
        from eigengrad._solvers.krylov_schur import krylov_schur
        from eigengrad._solvers.lobpcg import extremal
        Hj = jsparse.BCOO.from_scipy_sparse(H)
        X0 = jnp.asarray(np.random.default_rng(0).standard_normal((n, 2 * K)))
        if name == "jax-lobpcg":
            f = jax.jit(lambda M, X: (lambda r: (r[0], r[-1]))(
                extremal(lambda Y: M @ Y, X, K, largest=False, tol=TOL, maxiter=5000)))
        else:
            f = jax.jit(lambda M, X: (lambda r: (r.w[:K], r.iters))(
                krylov_schur(lambda Y: M @ Y, X[:, :1], K, which="smallest", hermitian=True, tol=TOL, maxiter=5000)))
        (_, tc) = timed(lambda: jax.block_until_ready(f(Hj, X0)))
        (w, it), t = timed(lambda: jax.block_until_ready(f(Hj, X0)))
        w, mv, extra = np.asarray(w), None, dict(iters=int(it), compile_and_first=round(tc, 3))
    return dict(t=t, mv=mv, w=np.sort(w).tolist(), t_arpack=t_ref, mv_arpack=mv_ref, load=os.getloadavg()[0], **extra)


def reference(N: int) -> list:
    """The k lowest eigenvalues to ~1e-14 by shift-invert below the spectrum (V ≥ -5)."""
    return np.sort(sla.eigsh(problem(N), K, sigma=-6.0, which="LM", tol=1e-14)[0]).tolist()


def run(name: str, N: int, timeout: int) -> dict:
    try:
        p = subprocess.run([sys.executable, __file__, "--case", name, "--N", str(N)], capture_output=True, text=True,
                           timeout=timeout, env={**os.environ, "PYTHONPATH": os.path.join(ROOT, "src"),
                                                 "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"})
        lines = [s for s in p.stdout.splitlines() if s.startswith("{")]
        return json.loads(lines[-1]) if lines else dict(error=(p.stderr.strip().splitlines() or ["?"])[-1][:160])
    except subprocess.TimeoutExpired:
        return dict(error=f"skipped: over {timeout} s")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--case")
    ap.add_argument("--N", type=int, nargs="*", default=[64, 256])
    ap.add_argument("--timeout", type=int, default=60)
    ap.add_argument("--cases", nargs="*", default=list(HOST + NATIVE))
    a = ap.parse_args()
    if a.case:
        print(json.dumps(dict(w=reference(a.N[0])) if a.case == "reference" else case(a.case, a.N[0])))
        return
    rows = []
    for N in a.N:
        ref = run("reference", N, 10 * a.timeout).get("w")
        for name in a.cases:
            if N > 256 and name not in HOST:
                continue
            r = run(name, N, a.timeout + 30)
            if "w" in r and isinstance(ref, list):
                r["err"] = float(np.max(np.abs(np.array(r["w"]) - np.array(ref))) / np.max(np.abs(ref)))
            rows.append((N, name, r))
            print(N, name, {k: v for k, v in r.items() if k != "w"}, flush=True)
    write(rows)


def write(rows):
    out = ["# Forward solvers on the 2-D well (issue 10)", "",
           f"Generated by `benchmarks/solvers.py` on {time.strftime('%Y-%m-%d %H:%M')}: k = {K} smallest, tol = {TOL:g}, "
           "no preconditioner, one thread per process. Each row runs in its own process, which also times SciPy "
           "ARPACK (`eigsh(H, k, which='SA', tol)`, same matrix and start vector) for the ratio. `products`: columns "
           "A was applied to (JAX under jit: not counted, see `iters`). Error: max |λ - λ_ref| / max |λ_ref| against "
           "shift-invert at tol 1e-14. Load: the 1-minute load average during the row (2 cores, shared).", "",
           "| n | solver | forward (s) | ARPACK (s) | ratio | products | ARPACK products | iters | error | load |",
           "|---|---|---|---|---|---|---|---|---|---|"]
    for N, name, r in rows:
        if "error" in r and "t" not in r:
            out.append(f"| {N * N} | {name} | — | | | | | | {r['error']} | |")
            continue
        out.append(f"| {N * N} | {name} | {r['t']:.3f} | {r['t_arpack']:.3f} | {r['t'] / r['t_arpack']:.2f} | "
                   f"{r['mv'] if r['mv'] is not None else '—'} | {r['mv_arpack']} | {r.get('iters', '')} | "
                   f"{r.get('err', float('nan')):.1e} | {r['load']:.1f} |")
    path = os.path.join(ROOT, "benchmarks", "results", "solvers.md")
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")
    print("wrote", path)


if __name__ == "__main__":
    main()
