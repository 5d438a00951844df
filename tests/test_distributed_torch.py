"""``eigengrad.torch.distributed.eigsh`` / ``eigs`` on 2 and 4 gloo ranks over loopback (subprocesses
running tests/distributed/torch_worker.py): eigenvalues, eigenvectors, the gradient with respect to a
potential and the forward-mode tangents agree with the single-process ``eigengrad.torch.eigsh`` /
``eigs`` (values and vectors to 1e-10, derivatives to 1e-8; float64), also for ``A v = λ B v``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from eigengrad.torch.distributed import eigsh
from test_distributed_jax import ROOT, free_port

WORKER = Path(__file__).parent / "distributed" / "torch_worker.py"
TIMEOUT = 300
TOL = 1e-10


def run_ranks(world: int, solvers: str) -> dict:
    port = free_port()
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1",
           "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")])}
    procs = [subprocess.Popen([sys.executable, str(WORKER), "--rank", str(r), "--world", str(world), "--port",
                               str(port), "--solvers", solvers], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)
             for r in range(world)]
    outs = []
    try:
        outs = [p.communicate(timeout=TIMEOUT)[0] for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.communicate()
    assert all(p.returncode == 0 for p in procs), "\n".join(o[-3000:] for o in outs)
    line = [ln for ln in outs[0].splitlines() if ln.startswith("RESULT ")]
    assert line, outs[0][-3000:]
    return json.loads(line[-1][len("RESULT "):])


@pytest.mark.slow
@pytest.mark.parametrize("world", [2, 4])
def test_ranks_agree_with_one_process(world):
    """Every case on 2 ranks; on 4 ranks (twice the processes on a 2-core machine) Lanczos only: the
    same reductions over four shards, at a third of the cost."""
    r = run_ranks(world, "lobpcg,lanczos,arnoldi,generalized,forward" if world == 2 else "lanczos")
    assert r["world"] == world
    solvers = ("lobpcg", "lanczos") if world == 2 else ("lanczos",)
    for solver in solvers:
        assert r[f"{solver}_w"] < TOL and r[f"{solver}_V"] < TOL, (solver, r)
        assert r[f"{solver}_grad"] < 1e-8, (solver, r)  # both solves to tol 1e-10, by different iterates
        assert r[f"{solver}_res"] <= 1e-10
        assert r[f"{solver}_w_spread"] == 0.0  # identical on every rank
    if world != 2:
        return
    assert r["arnoldi_w_spread"] == 0.0
    # eigs (Arnoldi) of the stencil plus advection, gradient of Σ Re λ through the bordered adjoint
    assert r["arnoldi_w"] < TOL and r["arnoldi_V"] < TOL and r["arnoldi_grad"] < 1e-8, r
    # generalized A v = λ B v, B = diag(mass) split by rows (LOBPCG): B-orthonormal V, the gradient
    assert r["generalized_w"] < TOL and r["generalized_V"] < TOL and r["generalized_grad"] < 1e-8, r
    # forward mode of eigsh and eigs (tangent solves to 1e-10 by different iterates, as the gradients)
    for name in ("forward_eigsh", "forward_eigs"):
        assert r[f"{name}_dw"] < 1e-8 and r[f"{name}_dV"] < 1e-8, (name, r)
    assert all(v == 0.0 for key, v in r.items() if key.endswith("_spread")), r  # identical on every rank


def test_generalized_needs_lobpcg():
    with pytest.raises(ValueError, match="solver='lobpcg'"):
        eigsh(lambda X: X, 2, n_local=10, B=lambda X: X, solver="lanczos")


def test_needs_an_initialised_process_group():
    with pytest.raises(RuntimeError, match="init_process_group"):
        eigsh(lambda X: X, 2, n_local=10, params=[torch.ones(1)])


@pytest.mark.slow
def test_example_runs_with_torchrun():
    """The copyable example on 2 ranks (torchrun): same λ₀ as the JAX example, ∂Σλ/∂v sums to k."""
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1",
           "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")])}
    out = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", "2", "--master-port",
                          str(free_port()), str(ROOT / "examples" / "distributed" / "laplacian_torch.py"), "--grid",
                          "8", "6", "5"], env=env, capture_output=True, text=True, timeout=TIMEOUT)
    assert out.returncode == 0, out.stderr[-3000:]
    assert "[1.047365, " in out.stdout, out.stdout
    assert "sums to 8.0000000000" in out.stdout or "sums to 7.9999999999" in out.stdout, out.stdout
