"""Worker for tests/test_distributed_jax.py, run in a subprocess: ``XLA_FLAGS`` must force the host
device count before JAX is imported, and ``jax.distributed`` can be initialised once per process.

``python jax_worker.py --devices 8 --cases dense,stencil,eigs,example`` solves on one process with 8 host
devices; ``--process I --nproc P --port N`` joins P such processes over loopback (CPU collectives,
gloo). Each case solves a problem sharded over a mesh of every device and compares it with a
reference: the dense case with the same solve on one device, the stencil cases with NumPy's dense
``eigh``/``eig`` of the assembled matrix and first-order perturbation formulas (no compilation for
one device). It prints one line ``RESULT {json}`` with the largest differences and the shardings
seen; the test module asserts on them.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import sys
import time
import traceback

parser = argparse.ArgumentParser()
parser.add_argument("--devices", type=int, default=8)
parser.add_argument("--process", type=int, default=None)
parser.add_argument("--nproc", type=int, default=1)
parser.add_argument("--port", type=int, default=None)
parser.add_argument("--cases", default="dense,stencil,eigs")
opts = parser.parse_args()
# optimisation level 0: compiling for 8 SPMD devices dominates, as in tests/conftest.py
os.environ["XLA_FLAGS"] = f"--xla_force_host_platform_device_count={opts.devices} --xla_backend_optimization_level=0"

import jax  # noqa: E402

jax.config.update("jax_enable_x64", True)
if opts.process is not None:
    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    jax.distributed.initialize(coordinator_address=f"127.0.0.1:{opts.port}", num_processes=opts.nproc,
                               process_id=opts.process, initialization_timeout=60)

import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
import scipy.linalg  # noqa: E402
from jax.experimental import multihost_utils  # noqa: E402
from jax.sharding import Mesh, NamedSharding, PartitionSpec as P  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "examples", "distributed"))
import laplacian_jax as lap  # noqa: E402  (the example's stencil, tested here)

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from perturbation import potential_gradient  # noqa: E402  (first-order references, tests/perturbation.py)

import eigengrad.jax as eg  # noqa: E402

MESH = Mesh(np.array(jax.devices()), ("x",))
ROWS = NamedSharding(MESH, P("x"))
LOCAL = jax.local_devices()[0]
K = 4
out: dict = {"devices": len(jax.devices()), "processes": jax.process_count()}


def host(x) -> np.ndarray:
    """An array's value on this process (gathered across processes when it spans them)."""
    if isinstance(x, np.ndarray) or x.is_fully_addressable:
        return np.asarray(x)
    return np.asarray(multihost_utils.process_allgather(x, tiled=True))


def spans(x) -> int:
    """Number of devices the array's sharding spans (all of them when row-sharded)."""
    return len(x.sharding.device_set) if not x.sharding.is_fully_replicated else 1


def sharded(a: np.ndarray) -> jax.Array:
    return jax.make_array_from_callback(a.shape, ROWS, lambda idx: a[idx])


def same_vectors(V1, V2) -> float:
    """``max_i | |v1_i^H v2_i| - 1 |`` for unit columns: zero when they agree up to phases."""
    return float(np.abs(np.abs(np.sum(host(V1).conj() * host(V2), axis=0)) - 1).max())


def vector_loss(w, V):
    """A gauge-invariant loss that needs the eigenvector adjoint (the projected CG solves)."""
    return jnp.sum(w) + jnp.sum(jnp.abs(V[::7]) ** 2 * jnp.arange(V[::7].shape[0])[:, None])


def dense():
    rng = np.random.default_rng(0)
    n = 128
    M = rng.standard_normal((n, n))
    M = (M + M.T) / 2 + np.diag(np.arange(n, dtype=float))
    A1, As = jax.device_put(M, LOCAL), sharded(M)
    w1, V1 = eg.eigsh(A1, K, solver="lobpcg")
    ws, Vs = eg.eigsh(As, K, solver="lobpcg")
    out["dense_w"] = float(np.abs(host(w1) - host(ws)).max())
    out["dense_V"] = same_vectors(V1, Vs)
    out["dense_V_spans"] = spans(Vs)

    def loss(A):
        return vector_loss(*eg.eigsh(A, K, solver="lobpcg"))
    g1, gs = jax.grad(loss)(A1), jax.grad(loss)(As)
    out["dense_grad"] = float(np.abs(host(g1) - host(gs)).max() / np.abs(host(g1)).max())
    out["dense_grad_spans"] = spans(gs)
    try:
        w, V = eg.eigsh(As, K)
        out["default_V_spans"] = spans(V)
        out["default_w"] = float(np.abs(host(w) - host(w1)).max())
    except Exception as e:  # noqa: BLE001  (reported to the test)
        out["default_error"] = f"{type(e).__name__}: {e}"
    try:
        eg.eigsh(As, K, solver="arpack")
        out["arpack_error"] = None
    except Exception as e:  # noqa: BLE001
        out["arpack_error"] = f"{type(e).__name__}: {e}"


def stencil_matrix(pot: np.ndarray, advection: float = 0.0) -> np.ndarray:
    """The example's ``H = -Δ + diag(v) (+ a ∂x)`` as a dense matrix (x slowest), built with NumPy:
    the independent reference the sharded solves are compared with."""
    nx, ny, nz = pot.shape

    def lap(m):
        return 2 * np.eye(m) - np.eye(m, k=1) - np.eye(m, k=-1)

    eye = np.eye
    H = (np.kron(np.kron(lap(nx), eye(ny)), eye(nz)) + np.kron(np.kron(eye(nx), lap(ny)), eye(nz))
         + np.kron(np.kron(eye(nx), eye(ny)), lap(nz)) + np.diag(pot.ravel()))
    if advection:
        H += advection * np.kron(np.kron(np.eye(nx, k=1) - np.eye(nx, k=-1), eye(ny)), eye(nz)) / 2
    return H


def stencil(solver: str, reverse: bool, forward: bool):
    """Lanczos/LOBPCG on the sharded stencil against a dense NumPy reference (the solves at tol
    1e-12, so that the vectors and gradients are exact to about 1e-11)."""
    grid = (16, 6, 6)
    n = int(np.prod(grid))
    pot = np.random.default_rng(1).uniform(0.0, 2.0, grid)
    product = lap.sharded_product(MESH, grid)
    ps = sharded(pot)
    w_all, V_all = np.linalg.eigh(stencil_matrix(pot))

    def solve(p):
        return eg.eigsh(lambda X: product(X, p), K, n=n, solver=solver, tol=1e-12, adjoint_tol=1e-12)

    ws, Vs = solve(ps)
    out["stencil_w"] = float(np.abs(w_all[:K] - host(ws)).max())
    out["stencil_V"] = same_vectors(V_all[:, :K], Vs)
    out["stencil_V_spans"] = spans(Vs)
    if reverse:
        gs = jax.grad(lambda p: vector_loss(*solve(p)))(ps)
        weights = np.zeros((n, K))
        weights[::7] = np.arange(len(weights[::7]))[:, None]  # vector_loss's weights on |V|²
        g1 = potential_gradient(stencil_matrix(pot), K, weights).reshape(grid)
        out["stencil_grad"] = float(np.abs(g1 - host(gs)).max() / np.abs(g1).max())
        out["stencil_grad_spans"] = spans(gs)
    if forward:
        dp = np.random.default_rng(2).standard_normal(grid).ravel()
        _, (dws, dVs) = jax.jvp(solve, (ps,), (sharded(dp.reshape(grid)),))
        # dλ_i = v_i·(dp ⊙ v_i),  dv_i = Σ_{j≠i} v_j (v_j·(dp ⊙ v_i)) / (λ_i - λ_j)   (v_i·dv_i = 0)
        Vk = V_all[:, :K]
        C = V_all.T @ (dp[:, None] * Vk)
        diff = w_all[:K][None, :] - w_all[:, None]
        C = np.divide(C, diff, out=np.zeros_like(C), where=np.arange(n)[:, None] != np.arange(K))
        dw1, dV1 = np.sum(Vk * dp[:, None] * Vk, axis=0), V_all @ C
        out["stencil_jvp_w"] = float(np.abs(dw1 - host(dws)).max() / np.abs(dw1).max())
        # dV in the gauge of V: compare after aligning the signs of the columns
        s = np.sign(np.sum(Vk * host(Vs), axis=0))
        out["stencil_jvp_V"] = float(np.abs(dV1 - host(dVs) * s).max() / np.abs(dV1).max())
        out["stencil_jvp_V_spans"] = spans(dVs)


def general():
    """eigs (native Arnoldi / Krylov–Schur) of the stencil plus an advection term in x, against
    a dense NumPy reference: ``∂λ_i/∂v = conj(u_i) ⊙ v_i / (u_i^H v_i)`` with left vectors u."""
    grid = (16, 6, 6)
    n = int(np.prod(grid))
    pot = np.random.default_rng(3).uniform(0.0, 2.0, grid)
    product = lap.sharded_product(MESH, grid, advection=0.5)
    ps = sharded(pot)
    lam, U, R = scipy.linalg.eig(stencil_matrix(pot, advection=0.5), left=True, right=True)
    order = np.argsort(lam.real)[:K]
    lam, U, R = lam[order], U[:, order], R[:, order]

    def solve(p):
        return eg.eigs(lambda X: product(X, p), K, n=n, which="smallest_real", solver="arnoldi", tol=1e-12)

    ws, Vs = solve(ps)
    out["eigs_w"] = float(np.abs(lam - host(ws)).max())
    out["eigs_V"] = same_vectors(R / np.linalg.norm(R, axis=0), Vs)
    out["eigs_V_spans"] = spans(Vs)
    gs = jax.grad(lambda p: jnp.sum(jnp.real(solve(p)[0])))(ps)
    g1 = np.sum(np.real(U.conj() * R / np.sum(U.conj() * R, axis=0)), axis=1).reshape(grid)
    out["eigs_grad"] = float(np.abs(g1 - host(gs)).max() / np.abs(g1).max())
    out["eigs_grad_spans"] = spans(gs)


def example():
    """The copyable example (examples/distributed/laplacian_jax.py) run by its ``main`` on this
    process's devices: its printed output, checked by the test (one JAX start less than running it
    as a script of its own)."""
    argv, sys.argv = sys.argv, ["laplacian_jax.py", "--grid", "8", "6", "5"]
    printed = io.StringIO()
    try:
        with contextlib.redirect_stdout(printed):
            lap.main()
    finally:
        sys.argv = argv
    out["example_stdout"] = printed.getvalue()


CASES = {
    "dense": dense,
    "stencil": lambda: stencil("lanczos", reverse=True, forward=True),
    "stencil_lobpcg": lambda: stencil("lobpcg", reverse=False, forward=False),
    "stencil_lobpcg_grad": lambda: stencil("lobpcg", reverse=True, forward=False),
    "eigs": general,
    "example": example,
}

for name in opts.cases.split(","):
    t0 = time.perf_counter()
    try:
        CASES[name]()
    except Exception as e:  # noqa: BLE001  (reported to the test, which names the failing case)
        out[f"{name}_error"] = f"{type(e).__name__}: {str(e)[:2000]}"
        out[f"{name}_traceback"] = traceback.format_exc()[-4000:]
    out[f"{name}_seconds"] = round(time.perf_counter() - t0, 2)
print("RESULT " + json.dumps(out), flush=True)
