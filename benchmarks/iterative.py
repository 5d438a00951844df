"""Benchmark: k = 8 lowest eigenpairs of H(θ) = -Δ + diag(V₀ + θ) on an N×N grid (5-point Laplacian,
Dirichlet, domain [-10, 10]², V₀ a Gaussian well), loss L = Σλ_i + Σ_i Σ_p n|ψ_i(p)|² at 5 probe
points, gradient dL/dθ (n = N² parameters). Each case runs in its own process (peak RSS of that
process is reported). Gradient error is relative to a reference computed by eigengrad at tight
tolerances (1e-12; 5e-12 at 512², the rounding floor), itself checked by central differences of tight forward solves.

    python benchmarks/iterative.py                 # all cases, writes benchmarks/results/iterative.md
    python benchmarks/iterative.py --case eg-torch --N 256   # one case, prints JSON
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time

import warnings

import numpy as np
import scipy.fft as sfft
import scipy.sparse as sp

K = 8
warnings.filterwarnings("ignore", message="Sparse")
SIGMA_T = -1.5  # shift of the DST preconditioner (L̃ - σ)^{-1}; any σ < 0 keeps it positive definite
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def problem(N: int, L: float = 20.0):
    h = L / (N + 1)
    D = sp.diags([-np.ones(N - 1), 2 * np.ones(N), -np.ones(N - 1)], [-1, 0, 1]) / h**2
    I = sp.eye(N)
    x = -L / 2 + h * np.arange(1, N + 1)
    X, Y = np.meshgrid(x, x, indexing="ij")
    V0 = -5.0 * np.exp(-((X - 0.3) ** 2 + 1.3 * (Y + 0.2) ** 2) / 8.0)
    lap = (sp.kron(D, I) + sp.kron(I, D)).tocsr()
    # probes inside the well, at fixed physical positions
    pts = [(0.0, 0.0), (1.0, -0.5), (-1.2, 0.7), (2.0, 1.5), (-0.5, -2.0)]
    probes = np.array([int(round((px + L / 2) / h - 1)) * N + int(round((py + L / 2) / h - 1)) for px, py in pts])
    # DST-II diagonalises the Laplacian with Dirichlet walls at the half points: an SPD preconditioner
    lam = (2 - 2 * np.cos(np.pi * np.arange(1, N + 1) / N)) / h**2
    den = lam[:, None] + lam[None, :] - SIGMA_T
    return lap, V0.ravel(), probes, den


def dst_solve(X: np.ndarray, den: np.ndarray) -> np.ndarray:
    N = den.shape[0]
    Y = sfft.dstn(X.reshape(N, N, -1), type=2, axes=(0, 1), norm="ortho")
    Y /= den[:, :, None]
    return sfft.idstn(Y, type=2, axes=(0, 1), norm="ortho").reshape(N * N, -1)


def loss_np(w, V, probes, n):
    return float(np.sum(w) + n * np.sum(np.abs(V[probes]) ** 2))


# ----------------------------------------------------------------------------------------- cases
def case_eg_torch(N, tol=1e-10, atol=1e-10, solver="lobpcg"):
    import torch

    import eigengrad.torch as et

    lap, V0, probes, den = problem(N)
    n = N * N
    Lt = torch.sparse_csr_tensor(torch.tensor(lap.indptr), torch.tensor(lap.indices), torch.tensor(lap.data),
                                 size=(n, n))
    V0t = torch.tensor(V0)
    theta = torch.zeros(n, dtype=torch.float64, requires_grad=True)
    pr = torch.tensor(probes)

    def T(X):
        return torch.from_numpy(dst_solve(X.numpy(), den))

    if solver == "lobpcg":
        def run():
            return et.eigsh(lambda X: Lt @ X + (V0t + theta)[:, None] * X, K, n=n, params=[theta],
                            preconditioner=T, block_size=12, tol=tol, adjoint_tol=atol, return_info=True)
    else:  # ARPACK shift-invert on the sparse matrix; θ enters through its values
        C = lap.tocoo()
        idx = torch.tensor(np.vstack([np.concatenate([C.row, np.arange(n)]), np.concatenate([C.col, np.arange(n)])]))

        def run():
            vals = torch.cat([torch.tensor(C.data), V0t + theta])
            H = torch.sparse_coo_tensor(idx, vals, (n, n)).coalesce()
            return et.eigsh(H, K, sigma=-6.0, solver="arpack", preconditioner=T, tol=tol, adjoint_tol=atol,
                            return_info=True)

    t0 = time.perf_counter()
    w, V, info = run()
    loss = w.sum() + n * (V[pr] ** 2).sum()
    t1 = time.perf_counter()
    loss.backward()
    t2 = time.perf_counter()
    return dict(fwd=t1 - t0, bwd=t2 - t1, grad=theta.grad.numpy(), loss=float(loss.detach()),
                iters=int(info.iterations), res=float(info.residuals.max()))


def case_eg_jax(N, solver="lobpcg"):
    import jax
    import jax.numpy as jnp
    from jax.experimental import sparse as jsparse

    jax.config.update("jax_enable_x64", True)
    import eigengrad.jax as ej

    lap, V0, probes, den = problem(N)
    n = N * N
    Lj = jsparse.BCOO.from_scipy_sparse(lap)
    V0j = jnp.asarray(V0)

    def T(X):
        return jax.pure_callback(lambda x: dst_solve(np.asarray(x), den), jax.ShapeDtypeStruct(X.shape, X.dtype), X)

    def loss(theta):
        w, V = ej.eigsh(lambda X: Lj @ X + (V0j + theta)[:, None] * X, K, n=n, preconditioner=T, block_size=12,
                        solver=solver, ncv=40 if solver == "lanczos" else None, maxiter=20000 if solver == "lanczos" else None)
        return jnp.sum(w) + n * jnp.sum(V[probes] ** 2)

    theta = jnp.zeros(n)
    t0 = time.perf_counter()
    val, pull = jax.vjp(loss, theta)  # warm-up: compiles the solver and the adjoint
    pull(jnp.ones(()))[0].block_until_ready()
    tc = time.perf_counter() - t0
    t0 = time.perf_counter()
    val, pull = jax.vjp(loss, theta)
    val.block_until_ready()
    t1 = time.perf_counter()
    (g,) = pull(jnp.ones(()))
    g.block_until_ready()
    t2 = time.perf_counter()
    d = jnp.asarray(np.random.default_rng(1).standard_normal(n))  # forward mode: one directional derivative
    jax.jvp(loss, (theta,), (d,))[1].block_until_ready()  # warm-up
    t3 = time.perf_counter()
    _, dl = jax.jvp(loss, (theta,), (d,))
    dl.block_until_ready()
    jvp = time.perf_counter() - t3
    return dict(fwd=t1 - t0, bwd=t2 - t1, compile=tc, grad=np.asarray(g), loss=float(val), jvp=jvp,
                jvp_vs_vjp=abs(float(dl) - float(g @ d)) / abs(float(dl)))


def _case_dense_torch(N, solve):
    """torch autograd on the dense n×n matrix; ``solve(H) -> (w, V)``, the K lowest pairs."""
    import torch

    lap, V0, probes, _ = problem(N)
    n = N * N
    theta = torch.zeros(n, dtype=torch.float64, requires_grad=True)
    t0 = time.perf_counter()
    H = torch.tensor(lap.toarray()) + torch.diag(torch.tensor(V0) + theta)
    w, V = solve(H)
    loss = w.sum() + n * (V[torch.tensor(probes)] ** 2).sum()
    t1 = time.perf_counter()
    loss.backward()
    t2 = time.perf_counter()
    return dict(fwd=t1 - t0, bwd=t2 - t1, grad=theta.grad.numpy(), loss=float(loss))


def case_torch_lobpcg(N):
    import torch

    return _case_dense_torch(N, lambda H: torch.lobpcg(H, k=K, largest=False, tol=1e-10, niter=2000))


def case_dense(N):
    import torch

    def solve(H):
        w, V = torch.linalg.eigh(H)
        return w[:K], V[:, :K]

    return _case_dense_torch(N, solve)


def case_xitorch(N):
    import torch
    import xitorch
    from xitorch.linalg import symeig

    lap, V0, probes, _ = problem(N)
    n = N * N
    Lt = torch.sparse_csr_tensor(torch.tensor(lap.indptr), torch.tensor(lap.indices), torch.tensor(lap.data),
                                 size=(n, n))
    V0t = torch.tensor(V0)

    class H(xitorch.LinearOperator):
        def __init__(self, theta):
            super().__init__(shape=(n, n), is_hermitian=True, dtype=torch.float64)
            self.theta = theta

        def _mv(self, x):  # x (..., n): sparse CSR products take 2-D blocks only
            X = x.reshape(-1, n)
            return ((Lt @ X.T).T + (V0t + self.theta) * X).reshape(x.shape)

        def _getparamnames(self, prefix=""):
            return [prefix + "theta"]

    theta = torch.zeros(n, dtype=torch.float64, requires_grad=True)
    t0 = time.perf_counter()
    w, V = symeig(H(theta), neig=K, mode="lowest", method="davidson")  # matrix-free (default: dense)
    loss = w.sum() + n * (V[torch.tensor(probes)] ** 2).sum()
    t1 = time.perf_counter()
    loss.backward()
    t2 = time.perf_counter()
    return dict(fwd=t1 - t0, bwd=t2 - t1, grad=theta.grad.numpy(), loss=float(loss))


def case_matfree(N, depth=400):
    import jax
    import jax.numpy as jnp
    from jax.experimental import sparse as jsparse
    from matfree import decomp, eig

    jax.config.update("jax_enable_x64", True)
    lap, V0, probes, _ = problem(N)
    n = N * N
    Lj = jsparse.BCOO.from_scipy_sparse(lap)
    V0j = jnp.asarray(V0)
    eigh = eig.eigh_partial(decomp.tridiag_sym(depth))
    v0 = jnp.ones(n) / np.sqrt(n)

    def loss(theta):
        vals, vecs = eigh(lambda v, th: Lj @ v + (V0j + th) * v, v0, theta)
        w, V = vals[:K], vecs[:K].T
        return jnp.sum(w) + n * jnp.sum(V[probes] ** 2)

    f = jax.jit(jax.value_and_grad(loss))
    theta = jnp.zeros(n)
    t0 = time.perf_counter()
    jax.block_until_ready(f(theta))
    tc = time.perf_counter() - t0
    fv = jax.jit(loss)
    jax.block_until_ready(fv(theta))
    t0 = time.perf_counter()
    jax.block_until_ready(fv(theta))
    t1 = time.perf_counter()
    val, g = jax.block_until_ready(f(theta))
    t2 = time.perf_counter()
    return dict(fwd=t1 - t0, bwd=(t2 - t1) - (t1 - t0), compile=tc, grad=np.asarray(g), loss=float(val))


def reference(N):
    """Tight eigengrad gradient and its central-difference check along two random directions."""
    tight = 1e-12 if N <= 256 else 5e-12
    r = case_eg_torch(N, tol=tight, atol=tight)
    import torch

    import eigengrad.torch as et

    lap, V0, probes, den = problem(N)
    n = N * N
    Lt = torch.sparse_csr_tensor(torch.tensor(lap.indptr), torch.tensor(lap.indices), torch.tensor(lap.data),
                                 size=(n, n))

    def L(th):
        pot = torch.tensor(V0 + th)
        with torch.no_grad():
            w, V = et.eigsh(lambda X: Lt @ X + pot[:, None] * X, K, n=n, dtype=torch.float64, tol=tight, block_size=12,
                            preconditioner=lambda X: torch.from_numpy(dst_solve(X.numpy(), den)))
        return loss_np(w.numpy(), V.numpy(), probes, n)

    rng = np.random.default_rng(0)
    fd_err = float("nan")  # skipped above 256² (five more tight solves)
    for _ in range(2 if N <= 256 else 0):
        fd_err = 0.0 if fd_err != fd_err else fd_err
        d = rng.standard_normal(n)
        h = 1e-3
        c = lambda s: (L(s * d) - L(-s * d)) / (2 * s)  # noqa: E731
        fd = (4 * c(h / 2) - c(h)) / 3
        fd_err = max(fd_err, abs(fd - r["grad"] @ d) / abs(fd))
    return r["grad"], fd_err


CASES = {"eg-torch": case_eg_torch, "eg-torch-arpack": lambda N: case_eg_torch(N, solver="arpack"),
         "eg-jax": case_eg_jax, "eg-jax-lanczos": lambda N: case_eg_jax(N, solver="lanczos"),
         "torch.lobpcg": case_torch_lobpcg, "dense-eigh": case_dense,
         "xitorch": case_xitorch, "matfree": case_matfree, "matfree-depth1000": lambda N: case_matfree(N, 1000)}

PLAN = [("eg-torch", (64, 128, 256, 512)), ("eg-jax", (64, 128, 256, 512)), ("eg-jax-lanczos", (64, 128)),
        ("eg-torch-arpack", (64, 128)), ("dense-eigh", (64,)), ("torch.lobpcg", (64,)), ("xitorch", (64, 128, 256)),
        ("matfree", (64, 128, 256)), ("matfree-depth1000", (256,))]


def one(case, N, out):
    t = time.perf_counter()
    try:
        r = reference(N) if case == "reference" else CASES[case](N)
        if case == "reference":
            r = dict(grad=r[0], fd_err=r[1])
        np.save(out + ".npy", r.pop("grad"))
        r["ok"] = True
    except Exception as e:  # a competitor failing is a result, reported as such
        r = dict(ok=False, error=f"{type(e).__name__}: {str(e)[:200]}")
    r["wall"] = time.perf_counter() - t
    r["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(r))


def run(case, N, tmp, timeout):
    out = os.path.join(tmp, f"{case}-{N}")
    try:
        p = subprocess.run([sys.executable, __file__, "--case", case, "--N", str(N), "--out", out],
                           capture_output=True, text=True, timeout=timeout, env={**os.environ, "PYTHONPATH": os.path.join(ROOT, "src")})
        line = [s for s in p.stdout.splitlines() if s.startswith("{")]
        r = json.loads(line[-1]) if line else dict(ok=False, error=p.stderr.strip().splitlines()[-1][:200])
    except subprocess.TimeoutExpired:
        r = dict(ok=False, error=f"timed out after {timeout} s")
    if r.get("ok"):
        r["grad"] = np.load(out + ".npy")
    return r


LOAD = os.getloadavg()[0]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--case")
    ap.add_argument("--N", type=int)
    ap.add_argument("--out", default="/tmp/eigengrad-iterative")
    ap.add_argument("--timeout", type=int, default=300)
    ap.add_argument("--grids", type=int, nargs="*", help="only these N (default: every grid of PLAN)")
    a = ap.parse_args()
    if a.case:
        return one(a.case, a.N, a.out)
    tmp = "/tmp/eigengrad-iterative-bench"
    os.makedirs(tmp, exist_ok=True)
    rows = []
    grids = sorted({N for _, Ns in PLAN for N in Ns if not a.grids or N in a.grids})
    refs = {N: run("reference", N, tmp, 3 * a.timeout) for N in grids}
    for case, Ns in PLAN:
        for N in (N for N in Ns if N in grids):
            r = run(case, N, tmp, a.timeout)
            ref = refs[N]
            if r.get("ok") and ref.get("ok"):
                r["err"] = float(np.linalg.norm(r["grad"] - ref["grad"]) / np.linalg.norm(ref["grad"]))
            rows.append((case, N, r))
            print(case, N, {k: v for k, v in r.items() if k != "grad"}, flush=True)
    write(rows, refs)


def write(rows, refs):
    import platform

    base = {N: r for c, N, r in rows if c == "eg-torch" and r.get("ok")}
    lines = [
        "# Iterative eigensolver benchmark (`benchmarks/iterative.py`)", "",
        f"k = {K} lowest eigenpairs of H(θ) = −Δ + diag(V₀ + θ), N×N grid, float64; loss Σλ + Σ n|ψ(p)|² at 5 "
        "probes; gradient w.r.t. all n = N² entries of θ. Machine: "
        f"{platform.machine()}, {os.cpu_count()} CPU cores, load average {LOAD:.1f} when the run started, "
        f"torch threads = {os.environ.get('OMP_NUM_THREADS', 'default')}. One process per case; peak memory is the "
        "process's peak RSS (includes the Python/torch/JAX runtime, ~0.3–0.6 GiB). Gradient error: "
        "‖g − g_ref‖/‖g_ref‖ with g_ref from eigengrad at tol 1e-12 (5e-12 at 512²; forward and adjoint), whose "
        "central-difference check along 2 random directions is listed per grid.", "",
        "Reference check (central differences of tight forward solves vs g_ref, worst relative error; the "
        "difference quotient's own floor is about 1e-8 here): "
        + ", ".join(f"{N}²: {refs[N]['fd_err']:.1e}" if refs[N].get("ok") else f"{N}²: failed" for N in sorted(refs)),
        "", "| method | grid (n) | forward s | backward s | fwd+bwd s | ratio to eigengrad-torch | peak RSS MiB | grad error | notes |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for case, N, r in rows:
        if not r.get("ok"):
            lines.append(f"| {case} | {N}² ({N*N}) | — | — | — | — | — | — | {r.get('error', '')} |")
            continue
        tot = r["fwd"] + r["bwd"]
        ratio = f"{tot / (base[N]['fwd'] + base[N]['bwd']):.1f}×" if N in base else "—"
        notes = []
        if "iters" in r:
            notes.append(f"{r['iters']} LOBPCG steps" if r["iters"] >= 0 else "ARPACK")
        if case == "eg-jax-lanczos":
            notes.append("thick-restart Lanczos (Krylov–Schur, ncv 40), no preconditioner in the forward solve")
        if "compile" in r:
            notes.append(f"first call incl. compile {r['compile']:.1f} s")
        if "jvp" in r:
            notes.append(f"forward mode: value + jvp {r['jvp']:.2f} s, agrees with ⟨grad, d⟩ to {r['jvp_vs_vjp']:.0e}")
        err = f"{r['err']:.1e}" if "err" in r else "—"
        lines.append(f"| {case} | {N}² ({N*N}) | {r['fwd']:.2f} | {r['bwd']:.2f} | {tot:.2f} | {ratio} | "
                     f"{r['peak_rss_mib']:.0f} | {err} | {'; '.join(notes)} |")
    path = os.path.join(ROOT, "benchmarks", "results", "iterative.md")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    print("wrote", path)


if __name__ == "__main__":
    main()
