"""Correctness benchmark against the anchor libraries: eigengrad (``eigengrad.jax.eigsh``,
``eigengrad.torch.eigsh``), matfree (Lanczos: ``eig.eigh_partial(decomp.tridiag_sym(depth))``) and
xitorch (``linalg.symeig``: Davidson forward, CG backward), on three problems small enough for a dense
reference (n = NX² = 900):

1. ``real``: real symmetric grid -Δ + V₀ + diag(θ), V₀ an off-centre Gaussian well (no symmetry);
2. ``complex``: complex Hermitian Bloch operator (periodic grid, boundary phases (0.7, -1.3)) + V₀ + diag(θ);
3. ``degenerate``: -Δ + diag(θ) on the square Dirichlet grid at θ = 0 (λ₂ = λ₃, λ₅ = λ₆, λ₇ = λ₈ exactly).

Loss over the k = 8 lowest pairs: L(θ) = Σ c_i λ_i + Σ_p Σ_i m_pi |ψ_i(p)|² at 5 probe points, with
equal weights inside each degenerate cluster (gauge invariant). Reference: dense ``numpy.linalg.eigh``
and the analytic gradient, itself checked by central differences along 2 random directions.

    python benchmarks/iterative_anchors.py      # writes benchmarks/results/iterative_anchors.md
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import datetime  # noqa: E402
import subprocess  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from dataclasses import dataclass  # noqa: E402

import numpy as np  # noqa: E402
import scipy.sparse as sp  # noqa: E402

NX = 30  # grid side: n = NX² = 900
K = 8  # eigenpairs
TOL = 1e-10  # forward and backward tolerance given to every solver that takes one
N_PROBES = 5
DEPTHS = (100, 200, 300, 450, 600, 900)  # matfree Krylov depths tried, the smallest that converges is used
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
warnings.filterwarnings("ignore", message="Sparse")


# ------------------------------------------------------------------------------------- problems
@dataclass
class Problem:
    """One case: operator H(θ) = H₀ + diag(θ), loss weights, and the dense reference."""

    name: str
    H0: sp.csr_matrix
    probes: np.ndarray
    c: np.ndarray
    m: np.ndarray
    clusters: list
    g_ref: np.ndarray | None = None
    loss_ref: float = float("nan")
    fd_err: float = float("nan")

    @property
    def n(self) -> int:
        return self.H0.shape[0]

    @property
    def complex(self) -> bool:
        return np.iscomplexobj(self.H0.data)


def laplacian_1d(nx: int, phase: float | None = None) -> sp.csr_matrix:
    """``-d²/dx²`` (unit spacing, Dirichlet); with ``phase``, periodic with the boundary twisted by
    ``e^{i phase}`` (a Bloch wavevector): complex Hermitian."""
    L = sp.diags([-np.ones(nx - 1), 2 * np.ones(nx), -np.ones(nx - 1)], [-1, 0, 1], format="lil").astype(complex)
    if phase is None:
        return L.real.tocsr()
    L[0, nx - 1] = -np.exp(-1j * phase)
    L[nx - 1, 0] = -np.exp(1j * phase)
    return L.tocsr()


def well(nx: int, depth: float = 4.0) -> np.ndarray:
    """Gaussian well off the grid's centre and anisotropic, so no symmetry survives."""
    x = np.arange(nx) - 0.42 * nx
    y = np.arange(nx) - 0.55 * nx
    return -depth * np.exp(-(x[:, None] ** 2 + 0.7 * y[None, :] ** 2) / (0.2 * nx) ** 2).ravel()


def operator(name: str) -> sp.csr_matrix:
    """H₀ of a case (sparse CSR, real or complex)."""
    phases = {"real": (None, None), "complex": (0.7, -1.3), "degenerate": (None, None)}[name]
    Lx, Ly = (laplacian_1d(NX, p) for p in phases)
    I = sp.eye(NX)
    V0 = np.zeros(NX * NX) if name == "degenerate" else well(NX)
    return (sp.kron(Lx, I) + sp.kron(I, Ly) + sp.diags(V0)).tocsr()


def clusters_of(w: np.ndarray) -> list:
    """Index groups of exactly (to rounding) equal eigenvalues among the first K."""
    groups = [[0]]
    for i in range(1, K):
        if w[i] - w[i - 1] <= 1e-9 * np.abs(w[:K]).max():
            groups[-1].append(i)
        else:
            groups.append([i])
    return groups


def make_problem(name: str, rng: np.random.Generator) -> Problem:
    """Operator, probe points drawn where the K eigenvectors have weight, random weights (equal inside
    clusters; m scaled so that the eigenvalue and the eigenvector parts of g_ref have equal norms),
    dense reference gradient and its finite-difference check."""
    H0 = operator(name)
    w, V = np.linalg.eigh(H0.toarray())
    clusters = clusters_of(w)
    if w[K] - w[K - 1] <= 1e-6:
        raise RuntimeError(f"{name}: a cluster is cut by the k-th eigenvalue")
    density = np.sum(np.abs(V[:, :K]) ** 2, axis=1) / K
    probes = rng.choice(H0.shape[0], N_PROBES, replace=False, p=density)
    c = rng.standard_normal(K)
    m = rng.standard_normal((N_PROBES, K))
    for g in clusters:
        c[g] = c[g[0]]
        m[:, g] = m[:, [g[0]]]
    prob = Problem(name, H0, probes, c, m, clusters)
    g_val, g_vec = dense_gradient(prob, w, V)
    prob.m *= np.linalg.norm(g_val) / np.linalg.norm(g_vec)
    prob.g_ref = g_val + g_vec * np.linalg.norm(g_val) / np.linalg.norm(g_vec)
    prob.loss_ref = dense_loss(prob, np.zeros(prob.n))
    prob.fd_err = fd_check(prob, rng)
    return prob


# ------------------------------------------------------------------------------------ reference
def dense_loss(prob: Problem, theta: np.ndarray) -> float:
    """L(θ) from the dense eigendecomposition."""
    w, V = np.linalg.eigh(prob.H0.toarray() + np.diag(theta))
    return float(prob.c @ w[:K] + np.sum(prob.m * np.abs(V[prob.probes, :K]) ** 2))


def dense_gradient(prob: Problem, w: np.ndarray, V: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Analytic dL/dθ at θ = 0 from H₀'s full eigendecomposition (w, V), as the eigenvalue part
    (∂λ_i/∂θ_p = |v_i(p)|²) and the probe part (first-order perturbation theory over the full
    spectrum; pairs inside a cluster are left out: with equal weights their contributions cancel)."""
    Vk = V[:, :K]
    gap = w[:K, None] - w[None, :]
    same = np.abs(gap) <= 1e-9 * np.abs(w[:K]).max()
    g_vec = np.zeros(prob.n)
    for i in range(K):
        b = (Vk[prob.probes, i].conj() * prob.m[:, i]) @ V[prob.probes, :]  # v_i^H D_i v_j
        a = np.where(same[i], 0.0, b / np.where(same[i], 1.0, gap[i]))
        g_vec += 2 * np.real(Vk[:, i] * (V @ a.conj()).conj())
    return np.abs(Vk) ** 2 @ prob.c, g_vec


def fd_check(prob: Problem, rng: np.random.Generator, h: float = 1e-2) -> float:
    """Worst relative error of the reference along 2 random unit directions against central
    differences of the dense loss (Richardson-extrapolated)."""
    err = 0.0
    for _ in range(2):
        d = rng.standard_normal(prob.n)
        d /= np.linalg.norm(d)
        diff = lambda s: (dense_loss(prob, s * d) - dense_loss(prob, -s * d)) / (2 * s)  # noqa: E731
        fd = (4 * diff(h / 2) - diff(h)) / 3
        err = max(err, abs(fd - prob.g_ref @ d) / abs(fd))
    return err


def objective(w, V, prob: Problem, to):
    """L = Σ c_i λ_i + Σ m_pi |ψ_i(p)|² in the caller's array library (``to`` converts constants)."""
    return (to(prob.c) * w).sum() + (to(prob.m) * abs(V[to(prob.probes)]) ** 2).sum()


# -------------------------------------------------------------------------------------- methods
def jax_setup():
    """Enable float64 in JAX; return (jax, jnp, jsparse)."""
    import jax
    import jax.numpy as jnp
    from jax.experimental import sparse as jsparse

    jax.config.update("jax_enable_x64", True)
    return jax, jnp, jsparse


def timed_jax(f, theta) -> dict:
    """First call (with compilation) and a second, warm call of a value-and-gradient function."""
    import jax

    t0 = time.perf_counter()
    jax.block_until_ready(f(theta))
    first = time.perf_counter() - t0
    t0 = time.perf_counter()
    val, g = jax.block_until_ready(f(theta))
    return dict(grad=np.asarray(g), loss=float(val), wall=time.perf_counter() - t0, first=first)


def run_eg_jax(prob: Problem) -> dict:
    """eigengrad.jax.eigsh, LOBPCG on the BCOO matrix-free product, default tolerances (1e-10)."""
    jax, jnp, jsparse = jax_setup()
    import eigengrad.jax as ej

    H = jsparse.BCOO.from_scipy_sparse(prob.H0)
    dtype = jnp.complex128 if prob.complex else jnp.float64

    def loss(theta):
        w, V = ej.eigsh(lambda X: H @ X + theta[:, None] * X, K, n=prob.n, dtype=dtype, tol=TOL)
        return objective(w, V, prob, jnp.asarray)

    return dict(timed_jax(jax.value_and_grad(loss), jnp.zeros(prob.n)), settings=f"LOBPCG, tol {TOL:g}")


def torch_csr(A: sp.csr_matrix):
    """SciPy CSR -> torch sparse CSR."""
    import torch

    return torch.sparse_csr_tensor(torch.tensor(A.indptr), torch.tensor(A.indices), torch.tensor(A.data),
                                   size=A.shape)


def run_eg_torch(prob: Problem) -> dict:
    """eigengrad.torch.eigsh, LOBPCG on the sparse-CSR matrix-free product, params=[θ]."""
    import torch

    import eigengrad.torch as et

    H = torch_csr(prob.H0)
    dtype = torch.complex128 if prob.complex else torch.float64
    theta = torch.zeros(prob.n, dtype=torch.float64, requires_grad=True)
    t0 = time.perf_counter()
    w, V = et.eigsh(lambda X: H @ X + theta[:, None] * X, K, n=prob.n, params=[theta], dtype=dtype, tol=TOL)
    loss = objective(w, V, prob, torch.as_tensor)
    loss.backward()
    wall = time.perf_counter() - t0
    return dict(grad=theta.grad.numpy(), loss=loss.item(), wall=wall, settings=f"LOBPCG, tol {TOL:g}")


def matfree_start(prob: Problem):
    """Random unit start vector (a symmetric one such as ones/√n would miss the antisymmetric modes)."""
    v = np.random.default_rng(1).standard_normal((2, prob.n))
    v0 = v[0] + 1j * v[1] if prob.complex else v[0]
    return v0 / np.linalg.norm(v0)


def matfree_depth(prob: Problem, H) -> tuple[int, float]:
    """Smallest depth in DEPTHS whose K lowest Ritz pairs pass eigengrad's stopping test
    ``‖H y - θ y‖ ≤ tol · max|θ|`` (what a user can check without a reference); returns it and the
    residual ratio reached. ``H``: H₀ as a JAX BCOO matrix."""
    from matfree import decomp, eig

    for depth in DEPTHS:
        vals, vecs = eig.eigh_partial(decomp.tridiag_sym(depth))(lambda v: H @ v, matfree_start(prob))
        w, Y = np.asarray(vals[:K]), np.asarray(vecs[:K]).T
        ratio = np.linalg.norm(prob.H0 @ Y - Y * w, axis=0).max() / np.abs(w).max()
        if ratio <= TOL:
            break
    return depth, float(ratio)


def run_matfree(prob: Problem, custom_vjp: bool = True) -> dict:
    """matfree ``eigh_partial(tridiag_sym(depth, custom_vjp))``, full reorthogonalisation, jitted
    value and gradient; ``custom_vjp=False`` differentiates through the Lanczos loop (what matfree's
    docs prescribe for complex input)."""
    jax, jnp, jsparse = jax_setup()
    from matfree import decomp, eig

    H = jsparse.BCOO.from_scipy_sparse(prob.H0)
    depth, ratio = matfree_depth(prob, H)
    eigh = eig.eigh_partial(decomp.tridiag_sym(depth, custom_vjp=custom_vjp))
    v0 = jnp.asarray(matfree_start(prob))

    def loss(theta):
        vals, vecs = eigh(lambda v, th: H @ v + th * v, v0, theta)
        return objective(vals[:K], vecs[:K].T, prob, jnp.asarray)

    out = timed_jax(jax.jit(jax.value_and_grad(loss)), jnp.zeros(prob.n))
    return dict(out, settings=f"depth {depth} (residual {ratio:.0e}·max|λ|), custom_vjp={custom_vjp}")


def run_xitorch(prob: Problem, tight: bool = True) -> dict:
    """xitorch.linalg.symeig(method="davidson") on a matrix-free LinearOperator. ``tight``: Davidson
    residual and backward CG tolerances set to TOL and the degeneracy thresholds given explicitly (at
    their default values, as the docs ask); otherwise every option at its default."""
    import torch
    import xitorch
    from xitorch.linalg import symeig

    H = torch_csr(prob.H0)
    dtype = torch.complex128 if prob.complex else torch.float64

    class Op(xitorch.LinearOperator):
        def __init__(self, theta):
            super().__init__(shape=(prob.n, prob.n), is_hermitian=True, dtype=dtype)
            self.theta = theta

        def _mv(self, x):  # x: (..., n)
            Hx = (H @ x.reshape(-1, prob.n).T).T.reshape(x.shape)
            return Hx + self.theta * x

        def _getparamnames(self, prefix=""):
            return [prefix + "theta"]

    eps = torch.finfo(torch.float64).eps
    fwd = dict(min_eps=TOL) if tight else {}
    bck = dict(rtol=TOL, atol=0.0, degen_atol=eps**0.6, degen_rtol=eps**0.4) if tight else {}
    theta = torch.zeros(prob.n, dtype=torch.float64, requires_grad=True)
    t0 = time.perf_counter()
    w, V = symeig(Op(theta), neig=K, mode="lowest", method="davidson", bck_options=bck, **fwd)
    loss = objective(w, V, prob, torch.as_tensor)
    loss.backward()
    wall = time.perf_counter() - t0
    settings = f"Davidson min_eps {TOL:g}; CG rtol {TOL:g}, atol 0" if tight else \
        "defaults: Davidson min_eps 1e-6; CG rtol 1e-6, atol 1e-8"
    return dict(grad=theta.grad.numpy(), loss=loss.item(), wall=wall, settings=settings)


METHODS = {
    "eigengrad JAX": run_eg_jax,
    "eigengrad torch": run_eg_torch,
    "matfree": run_matfree,
    "matfree, custom_vjp=False": lambda prob: run_matfree(prob, custom_vjp=False),
    "xitorch": run_xitorch,
    "xitorch, defaults": lambda prob: run_xitorch(prob, tight=False),
}


def measure(method: str, prob: Problem) -> dict:
    """Run one method on one problem; a raised exception is a result."""
    try:
        r = METHODS[method](prob)
    except Exception as e:  # noqa: BLE001 - a library failing is reported, not hidden
        return dict(error=f"raises {type(e).__name__}: {' '.join(str(e).split())[:110]}…")
    r["nan"] = bool(np.isnan(r["grad"]).any())
    r["loss_err"] = abs(r["loss"] - prob.loss_ref) / abs(prob.loss_ref)
    r["err"] = float(np.linalg.norm(r["grad"] - prob.g_ref) / np.linalg.norm(prob.g_ref))
    return r


# --------------------------------------------------------------------------------------- report
def row(prob: Problem, method: str, r: dict, base: float) -> str:
    """One markdown table row."""
    if "error" in r:
        return f"| {prob.name} | {method} | — | — | — | — | — | — | {r['error']} |"
    ratio = f"{r['err'] / base:.1e}" if np.isfinite(base) and base > 0 else "—"
    first = f"{r['first']:.2f}" if "first" in r else "—"
    return (f"| {prob.name} | {method} | {r['err']:.1e} | {'yes' if r['nan'] else 'no'} | {ratio} | "
            f"{r['loss_err']:.0e} | {r['wall']:.2f} | {first} | {r['settings']} |")


def provenance() -> str:
    """eigengrad's commit (flagging uncommitted changes under src/) and the anchors' versions."""
    from importlib.metadata import version

    def git(*args):
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True).stdout.strip()

    dirty = " + uncommitted changes in src/" if git("status", "--porcelain", "src") else ""
    libs = ", ".join(f"{p} {version(p)}" for p in ("jax", "torch", "matfree", "xitorch"))
    return f"eigengrad {git('rev-parse', '--short', 'HEAD')}{dirty}; {libs}"


def write(problems: list, results: dict, started: str, runtime: float) -> str:
    """Write the markdown report; returns its path."""
    lines = [
        "# Correctness against the anchor libraries (`benchmarks/iterative_anchors.py`)", "",
        f"Measured {started} on 2 CPU cores (load average {os.getloadavg()[0]:.1f} at the end; BLAS/OpenMP threads = "
        f"{os.environ['OMP_NUM_THREADS']}), whole script {runtime:.0f} s; float64, n = {NX}² = {NX * NX}, "
        f"k = {K}. {provenance()}.", "",
        "| case | method | rel. grad error | NaN in grad | error ÷ eigengrad-JAX error | rel. loss error | "
        "wall s (fwd+bwd) | first call s (JAX) | settings / outcome |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for prob in problems:
        base = results[prob.name, "eigengrad JAX"].get("err", float("nan"))
        lines += [row(prob, method, results[prob.name, method], base) for method in METHODS]
    lines += ["", "Notes:", ""]
    lines += notes(problems)
    path = os.path.join(ROOT, "benchmarks", "results", "iterative_anchors.md")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    return path


def notes(problems: list) -> list:
    """What was measured and how (3–6 lines)."""
    fd = ", ".join(f"{p.name} {p.fd_err:.0e}" for p in problems)
    clusters = next(p.clusters for p in problems if p.name == "degenerate")
    return [
        "- Loss L(θ) = Σ c_i λ_i + Σ_p Σ_i m_pi |ψ_i(p)|² over the k lowest pairs, 5 random probe points, "
        "drawn with density Σ_i|v_i(p)|²/k, random c, m equal inside each degenerate cluster, m scaled so that the "
        "eigenvalue and eigenvector parts of g_ref have equal norms; gradient w.r.t. all n entries of θ at θ = 0. "
        "Error = ‖g − g_ref‖/‖g_ref‖.",
        "- g_ref: dense `numpy.linalg.eigh` + first-order perturbation formula (in-cluster pairs dropped); "
        f"central differences (h = 1e-2, Richardson) along 2 random unit directions agree to: {fd}.",
        f"- Cases: `real` −Δ + V₀ (off-centre well); `complex` Bloch grid with boundary phases (0.7, −1.3) + V₀; "
        f"`degenerate` −Δ on the square Dirichlet grid, clusters {clusters} (0-based, all inside k).",
        "- Each library used as documented, no preconditioners: eigengrad `eigsh(fn, k, n=, tol=1e-10)`; "
        "matfree `eigh_partial(tridiag_sym(depth))` (full reorthogonalisation, random start vector) with the "
        "smallest depth whose k Ritz residuals pass ‖Hy − θy‖ ≤ 1e-10·max|θ| (matfree's docs: the custom VJP "
        "does not support complex input, use `custom_vjp=False`; both are run); xitorch `symeig(method='davidson')` "
        "with tolerances 1e-10, and with all defaults.",
        "- Failures: xitorch's Davidson raises on complex input (its `tallqr` forms V^T V, not V^H V, which is not "
        "positive definite): not supported. matfree on the degenerate grid: NaN gradient from JAX's derivative of "
        "the eigh of its tridiagonal matrix, whose Ritz values repeat to ~1e-16 (no cluster masking).",
        "- JAX rows: wall = second (warm) call of value-and-gradient, first call = the first in this process "
        "(compilation is shared between cases of one dtype); torch rows: the single call. Timings are "
        "indicative only (shared 2-core machine).",
    ]


def main():
    started = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    t0 = time.perf_counter()
    rng = np.random.default_rng(0)
    problems = [make_problem(name, rng) for name in ("real", "complex", "degenerate")]
    results = {}
    for prob in problems:
        print(f"{prob.name}: clusters {prob.clusters}, reference FD check {prob.fd_err:.1e}", flush=True)
        for method in METHODS:
            results[prob.name, method] = r = measure(method, prob)
            print(f"  {method}: {r.get('error') or {k: v for k, v in r.items() if k != 'grad'}}", flush=True)
    print("wrote", write(problems, results, started, time.perf_counter() - t0))


if __name__ == "__main__":
    main()
