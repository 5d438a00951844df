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
WARM = 70_000  # up to this n the front ends are timed on a second call (the first traces and compiles)
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
    """Eigenpairs by shift-invert ARPACK (SciPy's own) at tol 1e-14, sigma a Gershgorin bound below
    the spectrum's bottom."""
    from eigengrad._solvers import factor

    w, V = sla.eigsh(H, K, M=B, sigma=factor.end_bound(H, B, 1.0), which="LM", tol=1e-14)
    return w, V


# ----------------------------------------------------------------------------------------- cases
def case_scipy(prob, N):
    H0, B, probes, n = problem(prob, N)
    t0 = time.perf_counter()
    w, V = sla.eigsh(H0, K, M=B, which="SA", tol=TOL)
    return dict(fwd=time.perf_counter() - t0, w=np.sort(w))


def case_scipy_sigma(prob, N):
    """Hand-tuned, not a default: SciPy ARPACK in shift-invert mode at the Gershgorin lower bound
    (what an expert who knows the spectrum's bottom passes; SciPy's own LU)."""
    from eigengrad._solvers import factor

    H0, B, probes, n = problem(prob, N)
    sigma = factor.end_bound(H0, B, 1.0)
    if sigma is None:
        raise ValueError("no Gershgorin bound (B's discs do not prove it definite)")
    t0 = time.perf_counter()
    w, V = sla.eigsh(H0, K, M=B, sigma=sigma, which="LM", tol=TOL)
    return dict(fwd=time.perf_counter() - t0, w=np.sort(w))


def case_primme(prob, N):
    import primme

    H0, B, probes, n = problem(prob, N)
    t0 = time.perf_counter()
    w, V = primme.eigsh(H0, K, M=B, which="SA", tol=TOL)
    return dict(fwd=time.perf_counter() - t0, w=np.sort(w))


def direction(n):
    """The fixed random direction ``d`` of the directional gradient ``<g, d>`` (same in every case)."""
    return np.random.default_rng(1).standard_normal(n)


def _jax_calls(prob, N, **opts):
    """``(forward, loss, θ)``: the default call on a BCOO matrix whose values depend on θ."""
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
        w, V, info = solve(theta)
        return jnp.sum(w) + n * jnp.sum(jnp.abs(V[pr]) ** 2), (w, info.iterations)

    return solve, loss, jnp.zeros(n)


def case_eg_jax(prob, N, **opts):
    """Forward: ``jax.vjp`` of the loss (the solve, recorded for reverse mode); backward: its pullback."""
    import jax

    _, loss, theta = _jax_calls(prob, N, **opts)
    rss0 = _rss()
    if theta.shape[0] <= WARM:
        jax.block_until_ready(jax.vjp(loss, theta, has_aux=True)[1](1.0))
    t0 = time.perf_counter()
    val, pullback, (w, iters) = jax.vjp(loss, theta, has_aux=True)
    jax.block_until_ready(val)
    t1 = time.perf_counter()
    (g,) = jax.block_until_ready(pullback(1.0))
    t2 = time.perf_counter()
    g = np.asarray(g)
    return dict(fwd=t1 - t0, bwd=t2 - t1, w=np.asarray(w), gd=float(g @ direction(g.shape[0])), loss=float(val),
                iters=int(iters), rss_setup_mib=rss0)


def _torch_calls(prob, N, **opts):
    """``(forward, θ, probes)``: the default call on a sparse COO tensor whose values depend on θ
    (PyTorch's own backward of ``sparse_csr_tensor(crow, col, values)`` w.r.t. ``values`` densifies the
    gradient, O(n²): docs/iterative.md); complex: a closure (PyTorch cannot differentiate complex
    sparse values)."""
    import torch

    import eigengrad.torch as et

    H0, B, probes, n = problem(prob, N)
    H0c = H0.tocoo()
    idx = torch.as_tensor(np.stack([H0c.row, H0c.col]), dtype=torch.int64)
    data0, dpos = torch.as_tensor(H0c.data), torch.as_tensor(np.flatnonzero(H0c.row == H0c.col))
    Bt = None if B is None else torch.sparse_csr_tensor(torch.as_tensor(B.indptr, dtype=torch.int64),
                                                        torch.as_tensor(B.indices, dtype=torch.int64),
                                                        torch.as_tensor(B.data), size=(n, n))
    theta = torch.zeros(n, dtype=torch.float64, requires_grad=True)
    H0t = torch.sparse_csr_tensor(torch.as_tensor(H0.indptr, dtype=torch.int64),
                                  torch.as_tensor(H0.indices, dtype=torch.int64), torch.as_tensor(H0.data), size=(n, n))

    def solve():
        if data0.is_complex():
            return et.eigsh(lambda X: H0t @ X + theta[:, None] * X, K, n=n, params=[theta], dtype=data0.dtype,
                            B=Bt, tol=TOL, return_info=True, **opts)
        vals = data0.index_add(0, dpos, theta.to(data0.dtype))
        H = torch.sparse_coo_tensor(idx, vals, size=(n, n), is_coalesced=True)
        return et.eigsh(H, K, B=Bt, tol=TOL, return_info=True, **opts)

    return solve, theta, torch.as_tensor(probes)


def case_eg_torch(prob, N, **opts):
    """Forward: the solve with the graph recorded; backward: ``loss.backward()``."""
    solve, theta, pr = _torch_calls(prob, N, **opts)
    n = theta.shape[0]
    rss0 = _rss()
    if n <= WARM:
        w, V, _ = solve()
        (w.sum() + n * (V[pr].abs() ** 2).sum()).backward()
        theta.grad = None
    t0 = time.perf_counter()
    w, V, info = solve()
    loss = w.sum() + n * (V[pr].abs() ** 2).sum()
    t1 = time.perf_counter()
    loss.backward()
    t2 = time.perf_counter()
    g = theta.grad.numpy()
    return dict(fwd=t1 - t0, bwd=t2 - t1, w=w.detach().numpy(), gd=float(g @ direction(n)),
                loss=float(loss.detach()), iters=int(info.iterations), rss_setup_mib=rss0)


def _rss():
    """Peak resident memory of this process so far, MiB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


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
    return dict(fwd=t1 - t0, bwd=t2 - t1, w=w.detach().numpy(), gd=float(theta.grad.numpy() @ direction(n)),
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
    return dict(fwd=t1 - t0, bwd=(t2 - t1) - (t1 - t0), w=np.sort(np.asarray(w)),
                gd=float(np.asarray(g) @ direction(n)), loss=float(val))


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
    """Tight eigenvalues, and the central difference of L along ``direction(n)``, where the exact LU of
    shift-invert is affordable (2-D n <= 270 000, 3-D n <= 40 000); above, nothing (errors are then
    taken against SciPy ARPACK's eigenvalues and between the two front ends' gradients)."""
    H0, B, probes, n = problem(prob, N)
    if n > (40_000 if prob == "well3d" else 270_000):
        return dict(skipped=True)
    w, V = tight(H0, B, probes, n)
    d = direction(n)
    h = 1e-4

    def L(s):
        return loss_np(*tight(H0 + sp.diags(s * d), B, probes, n), probes, n)

    c = lambda s: (L(s) - L(-s)) / (2 * s)  # noqa: E731
    return dict(w=np.sort(w), fd=(4 * c(h / 2) - c(h)) / 3)


CASES = {
    "scipy-arpack": case_scipy, "scipy-sigma-handtuned": case_scipy_sigma, "primme": case_primme,
    "eg-jax": case_eg_jax, "eg-torch": case_eg_torch,
    "eg-jax-lobpcg": lambda p, N: case_eg_jax(p, N, solver="lobpcg"),
    "eg-jax-lanczos": lambda p, N: case_eg_jax(p, N, solver="lanczos"),
    "eg-torch-lobpcg": lambda p, N: case_eg_torch(p, N, solver="lobpcg"),
    "eg-torch-lanczos": lambda p, N: case_eg_torch(p, N, solver="lanczos"),
    "xitorch": case_xitorch, "matfree": case_matfree, "forward": case_forward,
}
DEFAULTS = ("scipy-arpack", "primme", "eg-jax", "eg-torch", "scipy-sigma-handtuned")
BIG = ("scipy-arpack", "eg-jax", "eg-torch", "scipy-sigma-handtuned")  # 10^6 unknowns: one run each, no reference (see reference())
EXPLICIT = ("eg-jax-lanczos", "eg-torch-lanczos", "eg-jax-lobpcg", "eg-torch-lobpcg", "xitorch", "matfree")
PLAN = [("well2d", N, DEFAULTS) for N in (64, 128, 256, 512)] + [
    ("well2d", 64, EXPLICIT), ("well2d", 128, EXPLICIT[:2]),  # measured before (solvers.md): kept cheap
    ("bloch2d", 128, DEFAULTS), ("bloch2d", 256, DEFAULTS),
    ("fem2d", 64, DEFAULTS), ("fem2d", 128, DEFAULTS),
    ("well3d", 32, DEFAULTS), ("well3d", 64, DEFAULTS),
    ("well2d", 1000, BIG), ("well3d", 100, BIG),
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
    r["peak_rss_mib"] = _rss()
    r["load"] = os.getloadavg()[0]
    with open(out, "w") as f:
        json.dump(r, f)


def run(case, prob, N, tmp, timeout, reuse=False):
    """One case in its own process (its JSON result; ``reuse``: a stored result of an earlier run,
    ``"only"``: stored results only, none run)."""
    out = os.path.join(tmp, f"{case}-{prob}-{N}.json")
    if reuse == "only" and not os.path.exists(out):
        return dict(ok=False, error="not run")
    if not (reuse and os.path.exists(out)):
        if os.path.exists(out):
            os.remove(out)
        try:
            p = subprocess.run([sys.executable, __file__, "--case", case, "--problem", prob, "--N", str(N), "--out",
                                out], capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            return dict(ok=False, error=f"timed out after {timeout} s")
        if not os.path.exists(out):
            return dict(ok=False, error=(p.stderr.strip().splitlines() or ["no output"])[-1][:200])
    with open(out) as f:
        return json.load(f)


def summarise(group: dict, ref: dict) -> None:
    """Errors of each case of one problem: eigenvalues against the tight reference (else against SciPy
    ARPACK at the same tol), ``<g, d>`` against the reference's central difference (else between the
    two front ends' default calls: ``g_vs``)."""
    wref = np.asarray(ref["w"]) if ref.get("ok") and "w" in ref else None
    sc = group.get("scipy-arpack", {})
    if wref is None and sc.get("ok"):
        wref, against = np.sort(sc["w"]), "ARPACK"
    else:
        against = "tight"
    for case, r in group.items():
        if not r.get("ok"):
            continue
        if wref is not None and not (against == "ARPACK" and case == "scipy-arpack"):
            r["w_err"] = float(np.max(np.abs(np.sort(r["w"]) - wref)) / np.max(np.abs(wref)))
            r["w_against"] = against
        if "gd" in r and "fd" in ref:
            r["g_err"] = abs(r["gd"] - ref["fd"]) / abs(ref["fd"])
    j, t = group.get("eg-jax", {}), group.get("eg-torch", {})
    if "fd" not in ref and "gd" in j and "gd" in t:
        j["g_vs"] = t["g_vs"] = abs(j["gd"] - t["gd"]) / abs(t["gd"])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--case")
    ap.add_argument("--problem", default="well2d")
    ap.add_argument("--N", type=int)
    ap.add_argument("--out", default="/tmp/eigengrad-iterative.json")
    ap.add_argument("--timeout", type=int, default=900)
    ap.add_argument("--quick", action="store_true", help="64² and 128² only")
    ap.add_argument("--only", action="append", default=[], metavar="PROBLEM:N",
                    help="run only these plan entries (the others are taken from stored results)")
    ap.add_argument("--reuse", action="store_true", help="take stored results of earlier runs where present")
    ap.add_argument("--table", action="store_true", help="write the table from stored results only, run nothing")
    ap.add_argument("--forward", action="store_true", help="default forward vs ARPACK only (FORWARD_PLAN)")
    a = ap.parse_args()
    if a.case:
        return one(a.case, a.problem, a.N, a.out)
    tmp = "/tmp/eigengrad-iterative-bench"
    os.makedirs(tmp, exist_ok=True)
    if a.forward:
        return forward(tmp, a.timeout, a.quick)
    plan = [p for p in PLAN if not a.quick or (p[0] == "well2d" and p[1] <= 128)]
    results = {}
    for prob, N, cases in plan:
        reuse = "only" if a.table or a.only and f"{prob}:{N}" not in a.only else a.reuse
        if (prob, N) not in results:
            results[prob, N] = {"reference": run("reference", prob, N, tmp, 3 * a.timeout, reuse)}
        for case in cases:
            results[prob, N][case] = r = run(case, prob, N, tmp, a.timeout, reuse)
            print(prob, N, case, {k: v for k, v in r.items() if k != "w"}, flush=True)
    for (prob, N), group in results.items():
        summarise(group, group.pop("reference"))
    write(plan, results)


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


def write(plan, results):
    import platform

    lines = [
        "# Iterative eigensolver benchmark (`benchmarks/iterative.py`)", "",
        f"k = {K} lowest pairs, tol = {TOL:g}, float64. Headline: the DEFAULT call (no solver, preconditioner or "
        "options) of each front end against SciPy ARPACK (`eigsh(H, k, which='SA', tol)`, `M=` for fem2d) on the same "
        "matrix (module docstring: problems, loss, errors). One process per case (peak RSS is that process's "
        "`ru_maxrss`; in brackets after setup, i.e. runtime + problem, before the solve). "
        f"Machine: {platform.machine()}, {os.cpu_count()} cores shared with other jobs; load: 1-minute load "
        "average at the case's end. OPENBLAS/OMP threads as in the environment. "
        "fwd: the solve with AD recording (JAX `jax.vjp`, torch the graph); bwd: the pullback / `backward()` alone; "
        f"the front ends' second call up to n = {WARM} (the first traces and compiles), their first call above. "
        "ratio: fwd / ARPACK's fwd. λ error: max|λ - λ_ref| / max|λ_ref|, λ_ref tight shift-invert (else SciPy "
        "ARPACK at the same tol, marked A). grad error: |<g, d> - FD| / |FD| (FD: central differences of tight "
        "solves); where unaffordable, the JAX-torch difference of <g, d>, marked J/T.", "",
        "| problem | n | method | fwd s | ratio | bwd s | bwd/fwd | peak RSS MiB | λ error | grad error | load | notes |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    seen = set()
    for prob, N, cases in plan:
        group = results[prob, N]
        dims = 3 if prob == "well3d" else 2
        n = N**dims
        sc = group.get("scipy-arpack", {})
        for case in cases:
            if (prob, N, case) in seen:
                continue
            seen.add((prob, N, case))
            r = group[case]
            if r.get("error") == "not run":  # --table/--only: listed in the notes instead
                continue
            if not r.get("ok"):
                lines.append(f"| {prob} | {N}^{dims} = {n} | {case} | — | — | — | — | — | — | — | "
                             f"{r.get('load', float('nan')):.1f} | {r.get('error', '')} |")
                continue
            ratio = f"{r['fwd'] / sc['fwd']:.2f}×" if sc.get("ok") else "—"
            bwd = f"{r['bwd']:.2f}" if "bwd" in r else "—"
            bf = f"{r['bwd'] / r['fwd']:.2f}" if "bwd" in r else "—"
            we = f"{r['w_err']:.1e}" + (" A" if r.get("w_against") == "ARPACK" else "") if "w_err" in r else "—"
            ge = f"{r['g_err']:.1e}" if "g_err" in r else (f"{r['g_vs']:.1e} J/T" if "g_vs" in r else "—")
            rss = f"{r['peak_rss_mib']:.0f}" + (f" ({r['rss_setup_mib']:.0f})" if "rss_setup_mib" in r else "")
            notes = f"{r['iters']} solver steps" if r.get("iters", -1) >= 0 else ""
            lines.append(f"| {prob} | {N}^{dims} = {n} | {case} | {r['fwd']:.3f} | {ratio} | {bwd} | {bf} | {rss} | "
                         f"{we} | {ge} | {r['load']:.1f} | {notes} |")
    path = os.path.join(ROOT, "benchmarks", "results", "iterative.md")
    notes = ""
    if os.path.exists(path):  # hand-written notes below the generated table are kept
        with open(path) as f:
            old = f.read()
        notes = old[old.index(NOTES):] if NOTES in old else ""
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n\n" + (notes or NOTES + "\n"))


NOTES = "## Notes"


if __name__ == "__main__":
    main()
