"""Benchmark: eigsh with NO tuning (no solver, preconditioner or options) against SciPy ARPACK on the
same matrix, in the same run.

Problems (k = 8 lowest pairs, float64, tol = 1e-10; H(θ) = H₀ + diag(θ), gradient w.r.t. all n
entries of θ of L = Σλ_i + n Σ_p |ψ_i(p)|² at 5 probe points):
  well2d   -Δ (5-point, h⁻², Dirichlet, [-10, 10]²) + a Gaussian well, N×N
  bloch2d  the same on a periodic cell with a Bloch phase on the wrap-around links (complex Hermitian)
  well3d   -Δ (7-point) + a Gaussian well on N×N×N
  fem2d    the generalized pair K + diag(h² V) vs the consistent Q1 mass matrix M (B = M)

Rows: SciPy ARPACK (`scipy.sparse.linalg.eigsh(H, k, which="SA", tol=1e-10)`; `M=` for fem2d), the
eigengrad default call on each front end (framework sparse matrix whose values depend on θ; forward
timed alone, then value + gradient), each explicit solver at the sizes where it finishes, and
competitors (matfree, xitorch) where they finish. One process per case: peak RSS is that process's.
Eigenvalue error: max |λ - λ_ref| / max|λ_ref| with λ_ref from a tight shift-invert solve (n <= 2.7e5;
above, ARPACK at tol 1e-12). Gradient error: |⟨g, d⟩ - FD| / |FD| for a random direction d, FD the
central difference of tight shift-invert solves (n <= 2.7e5).

    python benchmarks/iterative.py                       # the plan below, writes results/iterative.md
    python benchmarks/iterative.py --quick               # 64² and 128² only
    python benchmarks/iterative.py --forward [--quick]   # default forward vs ARPACK, results/forward_default.md
    python benchmarks/iterative.py --case eg-jax --problem well2d --N 256   # one case, prints JSON
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
import scipy.sparse as sp
import scipy.sparse.linalg as sla

K = 8
TOL = 1e-10
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
warnings.filterwarnings("ignore", message="Sparse")


# ----------------------------------------------------------------------------------------- problems
def _lap1(N, h, periodic=False, phase=0.0):
    D = sp.diags([-np.ones(N - 1), 2 * np.ones(N), -np.ones(N - 1)], [-1, 0, 1], format="lil").astype(complex)
    if periodic:
        D[0, N - 1] = -np.exp(-1j * phase)
        D[N - 1, 0] = -np.exp(1j * phase)
    return (D.tocsr() / h**2) if periodic else (D.real.tocsr() / h**2)


def problem(name: str, N: int):
    """``(H0 csr, B csr or None, probes, n)`` with H(θ) = H0 + diag(θ)."""
    L = 20.0
    if name in ("well2d", "bloch2d"):
        periodic = name == "bloch2d"
        h = L / (N if periodic else N + 1)
        D = _lap1(N, h, periodic, phase=0.7)
        I = sp.eye(N)
        x = -L / 2 + h * (np.arange(N) + (0 if periodic else 1))
        X, Y = np.meshgrid(x, x, indexing="ij")
        V0 = -5.0 * np.exp(-((X - 0.3) ** 2 + 1.3 * (Y + 0.2) ** 2) / 8.0)
        H0 = (sp.kron(D, I) + sp.kron(I, D) + sp.diags(V0.ravel())).tocsr()
        B = None
    elif name == "well3d":
        h = L / (N + 1)
        D = _lap1(N, h)
        I = sp.eye(N)
        x = -L / 2 + h * np.arange(1, N + 1)
        X, Y, Z = np.meshgrid(x, x, x, indexing="ij")
        V0 = -5.0 * np.exp(-((X - 0.3) ** 2 + 1.3 * (Y + 0.2) ** 2 + Z**2) / 8.0)
        H0 = (sp.kron(sp.kron(D, I), I) + sp.kron(sp.kron(I, D), I) + sp.kron(sp.kron(I, I), D)
              + sp.diags(V0.ravel())).tocsr()
        B = None
    elif name == "fem2d":
        h = L / (N + 1)
        K1 = _lap1(N, h) * h  # P1 stiffness on a uniform 1-D mesh
        M1 = sp.diags([np.ones(N - 1), 4 * np.ones(N), np.ones(N - 1)], [-1, 0, 1]) * (h / 6)
        x = -L / 2 + h * np.arange(1, N + 1)
        X, Y = np.meshgrid(x, x, indexing="ij")
        V0 = -5.0 * np.exp(-((X - 0.3) ** 2 + 1.3 * (Y + 0.2) ** 2) / 8.0)
        H0 = (sp.kron(K1, M1) + sp.kron(M1, K1) + sp.diags(h * h * V0.ravel())).tocsr()
        B = sp.kron(M1, M1).tocsr()
    else:
        raise ValueError(name)
    H0.sort_indices()
    n = H0.shape[0]
    probes = np.linspace(0.3 * n, 0.7 * n, 5).astype(int)
    return H0, B, probes, n


def diag_positions(H):
    """Positions of the diagonal entries in ``H.data`` (CSR, every diagonal entry stored)."""
    rows = np.repeat(np.arange(H.shape[0]), np.diff(H.indptr))
    pos = np.flatnonzero(rows == H.indices)
    assert len(pos) == H.shape[0]
    return pos


def loss_np(w, V, probes, n):
    return float(np.sum(w) + n * np.sum(np.abs(V[probes]) ** 2))


def tight(H, B, probes, n):
    """Eigenpairs by shift-invert ARPACK at tol 1e-14 (sigma below the spectrum's bottom)."""
    lo = sla.eigsh(H, 1, M=B, which="SA", tol=1e-6)[0][0]
    w, V = sla.eigsh(H, K, M=B, sigma=lo - 1.0, which="LM", tol=1e-14)
    return w, V


# ----------------------------------------------------------------------------------------- cases
def case_scipy(prob, N):
    H0, B, probes, n = problem(prob, N)
    t0 = time.perf_counter()
    w, V = sla.eigsh(H0, K, M=B, which="SA", tol=TOL)
    return dict(fwd=time.perf_counter() - t0, w=np.sort(w))


def case_primme(prob, N):
    import primme

    H0, B, probes, n = problem(prob, N)
    t0 = time.perf_counter()
    w, V = primme.eigsh(H0, K, M=B, which="SA", tol=TOL)
    return dict(fwd=time.perf_counter() - t0, w=np.sort(w))


def _jax_calls(prob, N, **opts):
    """``(forward, value_and_grad, θ)``: the default call on a BCOO matrix whose values depend on θ."""
    import jax
    import jax.numpy as jnp
    from jax.experimental import sparse as jsparse

    jax.config.update("jax_enable_x64", True)
    import eigengrad.jax as ej

    H0, B, probes, n = problem(prob, N)
    idx = jnp.asarray(np.stack([np.repeat(np.arange(n), np.diff(H0.indptr)), H0.indices], axis=1))
    data0, dpos = jnp.asarray(H0.data), jnp.asarray(diag_positions(H0))
    Bj = None if B is None else jsparse.BCOO.from_scipy_sparse(B)
    pr = jnp.asarray(probes)

    def solve(theta):
        H = jsparse.BCOO((data0.at[dpos].add(theta.astype(data0.dtype)), idx), shape=(n, n))
        return jax.block_until_ready(ej.eigsh(H, K, B=Bj, tol=TOL, return_info=True, **opts))

    def loss(theta):
        w, V, _ = solve(theta)
        return jnp.sum(w) + n * jnp.sum(jnp.abs(V[pr]) ** 2)

    return solve, lambda th: jax.block_until_ready(jax.value_and_grad(loss)(th)), jnp.zeros(n)


def case_eg_jax(prob, N, **opts):
    solve, value_and_grad, theta = _jax_calls(prob, N, **opts)
    t0 = time.perf_counter()
    w, V, info = solve(theta)
    t1 = time.perf_counter()
    val, g = value_and_grad(theta)
    t2 = time.perf_counter()
    return dict(fwd=t1 - t0, fwdbwd=t2 - t1, w=np.asarray(w), grad=np.asarray(g), loss=float(val),
                iters=int(info.iterations))


def _torch_calls(prob, N, **opts):
    """``(forward, θ, probes)``: the default call on a CSR tensor whose values depend on θ (complex:
    a closure, PyTorch cannot differentiate complex CSR values)."""
    import torch

    import eigengrad.torch as et

    H0, B, probes, n = problem(prob, N)
    crow, col = torch.as_tensor(H0.indptr, dtype=torch.int64), torch.as_tensor(H0.indices, dtype=torch.int64)
    data0, dpos = torch.as_tensor(H0.data), torch.as_tensor(diag_positions(H0))
    Bt = None if B is None else torch.sparse_csr_tensor(torch.as_tensor(B.indptr, dtype=torch.int64),
                                                        torch.as_tensor(B.indices, dtype=torch.int64),
                                                        torch.as_tensor(B.data), size=(n, n))
    theta = torch.zeros(n, dtype=torch.float64, requires_grad=True)
    H0t = torch.sparse_csr_tensor(crow, col, data0, size=(n, n))

    def solve():
        if data0.is_complex():
            return et.eigsh(lambda X: H0t @ X + theta[:, None] * X, K, n=n, params=[theta], dtype=data0.dtype,
                            B=Bt, tol=TOL, return_info=True, **opts)
        vals = data0.index_add(0, dpos, theta.to(data0.dtype))
        H = torch.sparse_csr_tensor(crow, col, vals, size=(n, n))
        return et.eigsh(H, K, B=Bt, tol=TOL, return_info=True, **opts)

    return solve, theta, torch.as_tensor(probes)


def case_eg_torch(prob, N, **opts):
    import torch

    solve, theta, pr = _torch_calls(prob, N, **opts)
    n = theta.shape[0]
    t0 = time.perf_counter()
    with torch.no_grad():
        w, V, info = solve()
    t1 = time.perf_counter()
    w2, V2, _ = solve()
    loss = w2.sum() + n * (V2[pr].abs() ** 2).sum()
    loss.backward()
    t2 = time.perf_counter()
    return dict(fwd=t1 - t0, fwdbwd=t2 - t1, w=w.numpy(), grad=theta.grad.numpy(), loss=float(loss.detach()),
                iters=int(info.iterations))


def case_xitorch(prob, N):
    import torch
    import xitorch
    from xitorch.linalg import symeig

    H0, B, probes, n = problem(prob, N)
    Ht = torch.sparse_csr_tensor(torch.as_tensor(H0.indptr, dtype=torch.int64),
                                 torch.as_tensor(H0.indices, dtype=torch.int64), torch.as_tensor(H0.data), size=(n, n))
    theta = torch.zeros(n, dtype=torch.float64, requires_grad=True)

    class Op(xitorch.LinearOperator):
        def __init__(self, th):
            super().__init__(shape=(n, n), is_hermitian=True, dtype=torch.float64)
            self.th = th

        def _mv(self, x):
            X = x.reshape(-1, n).T
            return (Ht @ X + self.th[:, None] * X).T.reshape(x.shape)

        def _getparamnames(self, prefix=""):
            return [prefix + "th"]

    t0 = time.perf_counter()
    w, V = symeig(Op(theta), K, mode="lowest", method="davidson", max_niter=2000, nguess=K + 4, v_init="randn")
    t1 = time.perf_counter()
    loss = w.sum() + n * (V[torch.as_tensor(probes)] ** 2).sum()
    loss.backward()
    t2 = time.perf_counter()
    return dict(fwd=t1 - t0, fwdbwd=(t2 - t1) + (t1 - t0), w=w.detach().numpy(), grad=theta.grad.numpy(),
                loss=float(loss.detach()))


def case_matfree(prob, N, depth=400):
    import jax
    import jax.numpy as jnp
    from jax.experimental import sparse as jsparse
    from matfree import decomp, eig

    jax.config.update("jax_enable_x64", True)
    H0, B, probes, n = problem(prob, N)
    Hj = jsparse.BCOO.from_scipy_sparse(H0)
    pr = jnp.asarray(probes)

    def loss(theta):
        tri = decomp.tridiag_sym(depth, reortho="full")
        w, V = eig.eigh_partial(tri)(lambda v, th: Hj @ v + th * v, jnp.ones(n) / np.sqrt(n), theta)
        w, V = w[-K:], V[:, -K:] if V.shape[0] == n else V.T[:, -K:]
        return jnp.sum(w) + n * jnp.sum(V[pr] ** 2), w

    theta = jnp.zeros(n)
    t0 = time.perf_counter()
    _, w = jax.block_until_ready(jax.jit(loss)(theta))
    t1 = time.perf_counter()
    (val, _), g = jax.block_until_ready(jax.jit(jax.value_and_grad(loss, has_aux=True))(theta))
    t2 = time.perf_counter()
    return dict(fwd=t1 - t0, fwdbwd=t2 - t1, w=np.sort(np.asarray(w)), grad=np.asarray(g), loss=float(val))


def case_forward(prob, N, reps=3):
    """The default forward call on each front end against SciPy ARPACK, interleaved in one process:
    first call and min of ``reps``; eigenvalue error relative to ARPACK's."""
    import torch

    H0, B, probes, n = problem(prob, N)
    jsolve, _, theta = _jax_calls(prob, N)
    tsolve, _, _ = _torch_calls(prob, N)

    def scipy_call():
        return sla.eigsh(H0, K, M=B, which="SA", tol=TOL)[0]

    def torch_call():
        with torch.no_grad():
            return tsolve()[0].numpy()

    calls = dict(scipy=scipy_call, jax=lambda: np.asarray(jsolve(theta)[0]), torch=torch_call)
    times = {c: [] for c in calls}
    w = {}
    for _ in range(reps):
        for c, f in calls.items():
            t0 = time.perf_counter()
            w[c] = np.sort(f())
            times[c].append(time.perf_counter() - t0)
    r = {c: min(t) for c, t in times.items()}
    r.update({f"{c}_first": t[0] for c, t in times.items()})
    r.update({f"{c}_err": float(np.max(np.abs(w[c] - w["scipy"])) / np.max(np.abs(w["scipy"]))) for c in ("jax", "torch")})
    r["load"] = os.getloadavg()[0]
    return r


def reference(prob, N):
    """Tight eigenvalues, and the central difference of L along a fixed random direction."""
    H0, B, probes, n = problem(prob, N)
    if n > 270_000:
        w = np.sort(sla.eigsh(H0, K, M=B, which="SA", tol=1e-12)[0])
        return dict(w=w)
    w, V = tight(H0, B, probes, n)
    d = np.random.default_rng(1).standard_normal(n)
    h = 1e-4

    def L(s):
        return loss_np(*tight(H0 + sp.diags(s * d), B, probes, n), probes, n)

    c = lambda s: (L(s) - L(-s)) / (2 * s)  # noqa: E731
    return dict(w=np.sort(w), fd=(4 * c(h / 2) - c(h)) / 3, d=d.tolist())


CASES = {
    "scipy-arpack": case_scipy, "primme": case_primme,
    "eg-jax": case_eg_jax, "eg-torch": case_eg_torch,
    "eg-jax-lobpcg": lambda p, N: case_eg_jax(p, N, solver="lobpcg"),
    "eg-jax-lanczos": lambda p, N: case_eg_jax(p, N, solver="lanczos"),
    "eg-torch-lobpcg": lambda p, N: case_eg_torch(p, N, solver="lobpcg"),
    "eg-torch-lanczos": lambda p, N: case_eg_torch(p, N, solver="lanczos"),
    "xitorch": case_xitorch, "matfree": case_matfree, "forward": case_forward,
}
DEFAULTS = ("scipy-arpack", "primme", "eg-jax", "eg-torch")
PLAN = [("well2d", N, DEFAULTS) for N in (64, 128, 256, 512)] + [
    ("well2d", 64, ("eg-jax-lobpcg", "eg-jax-lanczos", "eg-torch-lobpcg", "eg-torch-lanczos", "xitorch", "matfree")),
    ("well2d", 128, ("eg-jax-lobpcg", "eg-jax-lanczos", "eg-torch-lobpcg", "eg-torch-lanczos")),
    ("bloch2d", 128, DEFAULTS), ("bloch2d", 256, DEFAULTS),
    ("fem2d", 128, DEFAULTS), ("fem2d", 256, DEFAULTS),
    ("well3d", 32, DEFAULTS), ("well3d", 64, DEFAULTS),
    ("well2d", 1000, DEFAULTS), ("well3d", 100, DEFAULTS),
]
FORWARD_PLAN = [("well2d", 64), ("well2d", 128), ("well2d", 256), ("bloch2d", 128), ("fem2d", 128), ("well2d", 512)]


def one(case, prob, N, out):
    t = time.perf_counter()
    try:
        r = reference(prob, N) if case == "reference" else CASES[case](prob, N)
        r = {k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in r.items()}
        r["ok"] = True
    except Exception as e:  # a competitor failing is a result, reported as such
        r = dict(ok=False, error=f"{type(e).__name__}: {str(e)[:200]}")
    r["wall"] = time.perf_counter() - t
    r["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    with open(out, "w") as f:
        json.dump(r, f)


def run(case, prob, N, tmp, timeout):
    out = os.path.join(tmp, f"{case}-{prob}-{N}.json")
    try:
        p = subprocess.run([sys.executable, __file__, "--case", case, "--problem", prob, "--N", str(N), "--out", out],
                           capture_output=True, text=True, timeout=timeout)
        if os.path.exists(out):
            with open(out) as f:
                return json.load(f)
        return dict(ok=False, error=(p.stderr.strip().splitlines() or ["no output"])[-1][:200])
    except subprocess.TimeoutExpired:
        return dict(ok=False, error=f"timed out after {timeout} s")


def summarise(r, ref):
    if not r.get("ok"):
        return r
    if ref.get("ok"):
        w = np.asarray(r["w"])
        wr = np.asarray(ref["w"])
        r["w_err"] = float(np.max(np.abs(np.sort(w) - wr)) / np.max(np.abs(wr)))
        if "grad" in r and "fd" in ref:
            gd = float(np.asarray(r["grad"]) @ np.asarray(ref["d"]))
            r["g_err"] = abs(gd - ref["fd"]) / abs(ref["fd"])
    r.pop("grad", None)
    return r


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--case")
    ap.add_argument("--problem", default="well2d")
    ap.add_argument("--N", type=int)
    ap.add_argument("--out", default="/tmp/eigengrad-iterative.json")
    ap.add_argument("--timeout", type=int, default=900)
    ap.add_argument("--quick", action="store_true", help="64² and 128² only")
    ap.add_argument("--forward", action="store_true", help="default forward vs ARPACK only (FORWARD_PLAN)")
    a = ap.parse_args()
    if a.case:
        return one(a.case, a.problem, a.N, a.out)
    tmp = "/tmp/eigengrad-iterative-bench"
    os.makedirs(tmp, exist_ok=True)
    if a.forward:
        return forward(tmp, a.timeout, a.quick)
    load = os.getloadavg()
    rows = []
    plan = [p for p in PLAN if not a.quick or (p[0] == "well2d" and p[1] <= 128)]
    refs = {}
    for prob, N, cases in plan:
        if (prob, N) not in refs:
            refs[prob, N] = run("reference", prob, N, tmp, 3 * a.timeout)
        for case in cases:
            r = summarise(run(case, prob, N, tmp, a.timeout), refs[prob, N])
            rows.append((prob, N, case, r))
            print(prob, N, case, {k: v for k, v in r.items() if k not in ("w",)}, flush=True)
            write(rows, load)


def forward(tmp, timeout, quick):
    """``--forward``: one process per problem, rows to results/forward_default.md."""
    lines = [
        "# Default forward solve vs SciPy ARPACK (`benchmarks/iterative.py --forward`)", "",
        f"k = {K} smallest, tol = {TOL:g}, float64, no solver/preconditioner/options; the front ends get a framework "
        "sparse matrix (complex Bloch on torch: a closure), SciPy the CSR matrix (`M=` for fem2d). One process per "
        "row, calls interleaved; min of 3 (first call in brackets). OPENBLAS/OMP threads as in the environment; "
        "load: 1-minute load average at the row's end. err: max |λ - λ_ARPACK| / max |λ_ARPACK|.", "",
        "| problem | n | SciPy ARPACK s | JAX s | JAX ratio | torch s | torch ratio | JAX err | torch err | load |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for prob, N in FORWARD_PLAN if not quick else FORWARD_PLAN[:2]:
        r = run("forward", prob, N, tmp, timeout)
        print(prob, N, r, flush=True)
        n = N ** (3 if prob == "well3d" else 2)
        if not r.get("ok"):
            lines.append(f"| {prob} | {n} | {r.get('error', '')} | | | | | | | |")
            continue
        lines.append(
            f"| {prob} | {n} | {r['scipy']:.3f} | {r['jax']:.3f} ({r['jax_first']:.3f}) | {r['jax'] / r['scipy']:.2f} | "
            f"{r['torch']:.3f} ({r['torch_first']:.3f}) | {r['torch'] / r['scipy']:.2f} | {r['jax_err']:.1e} | "
            f"{r['torch_err']:.1e} | {r['load']:.1f} |")
        with open(os.path.join(ROOT, "benchmarks", "results", "forward_default.md"), "w") as f:
            f.write("\n".join(lines) + "\n")


def write(rows, load):
    import platform

    arpack = {(p, N): r["fwd"] for p, N, c, r in rows if c == "scipy-arpack" and r.get("ok")}
    lines = [
        "# Iterative eigensolver benchmark (`benchmarks/iterative.py`)", "",
        f"k = {K} lowest pairs, tol = {TOL:g}, float64, default calls (no solver, preconditioner or tuning) against "
        "SciPy ARPACK on the same matrix in the same run (module docstring: problems, loss, errors). Machine: "
        f"{platform.machine()}, {os.cpu_count()} cores, load average {load[0]:.1f} / {load[1]:.1f} at the start. "
        "fwd: the forward solve alone; fwd+bwd: value and gradient (a second forward solve plus the backward). "
        "ratio: to ARPACK's forward. bwd/fwd: (fwd+bwd − fwd)/fwd.", "",
        "| problem | n | method | fwd s | ratio | fwd+bwd s | bwd/fwd | peak RSS MiB | λ error | grad error | notes |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for p, N, case, r in rows:
        dims = 3 if p == "well3d" else 2
        n = N**dims
        if not r.get("ok"):
            lines.append(f"| {p} | {N}^{dims} = {n} | {case} | — | — | — | — | — | — | — | {r.get('error', '')} |")
            continue
        ratio = f"{r['fwd'] / arpack[p, N]:.2f}×" if (p, N) in arpack else "—"
        fb = f"{r['fwdbwd']:.2f}" if "fwdbwd" in r else "—"
        bf = f"{(r['fwdbwd'] - r['fwd']) / r['fwd']:.2f}" if "fwdbwd" in r else "—"
        we = f"{r['w_err']:.1e}" if "w_err" in r else "—"
        ge = f"{r['g_err']:.1e}" if "g_err" in r else "—"
        notes = f"{r['iters']} solver steps" if r.get("iters", -1) >= 0 else ""
        lines.append(f"| {p} | {N}^{dims} = {n} | {case} | {r['fwd']:.3f} | {ratio} | {fb} | {bf} | "
                     f"{r['peak_rss_mib']:.0f} | {we} | {ge} | {notes} |")
    path = os.path.join(ROOT, "benchmarks", "results", "iterative.md")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
