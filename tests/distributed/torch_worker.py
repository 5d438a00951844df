"""Worker for tests/test_distributed_torch.py: one rank of a gloo process group over loopback
(``--rank I --world P --port N``). Solves the 3-D Laplacian plus potential of
examples/distributed/laplacian_torch.py with ``eigengrad.torch.distributed.eigsh`` (each rank the
x-slab of its rows, halos by isend/irecv) and, on rank 0, the same problem in one process with
``eigengrad.torch.eigsh``; rank 0 prints ``RESULT {json}`` with the largest differences of the
eigenvalues, eigenvectors and the gradient with respect to the potential. Also ``eigs`` (advection
added), the generalized problem (``B`` a diagonal mass split by rows) and forward mode of both."""

from __future__ import annotations

import argparse
import json
import os
import sys

import torch
import torch.autograd.forward_ad as fwAD
import torch.distributed as dist

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "examples", "distributed"))
import laplacian_torch as lap  # noqa: E402

import eigengrad.torch as egt  # noqa: E402
from eigengrad.torch.distributed import eigs, eigsh  # noqa: E402

parser = argparse.ArgumentParser()
parser.add_argument("--rank", type=int, required=True)
parser.add_argument("--world", type=int, required=True)
parser.add_argument("--port", type=int, required=True)
parser.add_argument("--solvers", default="lobpcg,lanczos,arnoldi,generalized,forward")
opts = parser.parse_args()
torch.set_num_threads(1)
dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{opts.port}", rank=opts.rank,
                        world_size=opts.world)
rank, size = dist.get_rank(), dist.get_world_size()
GRID, K = (16, 6, 6), 4
nx, ny, nz = GRID
n = nx * ny * nz
px = nx // size
pot_all = torch.rand(GRID, generator=torch.Generator().manual_seed(1), dtype=torch.float64) * 2
weights = torch.arange(n, dtype=torch.float64)[:, None] % 7  # a gauge-invariant weighting of |V|^2
mass_all = 1 + 0.5 * torch.rand(n, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
dpot_all = torch.randn(GRID, generator=torch.Generator().manual_seed(3), dtype=torch.float64)


def loss(w, V, rows, share):
    """``share · Σw + Σ weights |V|^2`` on the given rows: the eigenvector term needs the adjoint
    solves; ``share`` counts ``w`` once in the sum over ranks."""
    return share * w.sum() + (weights[rows] * V.abs() ** 2).sum()


def gather(x: torch.Tensor) -> torch.Tensor:
    parts = [torch.empty_like(x) for _ in range(size)]
    dist.all_gather(parts, x.contiguous())
    return torch.cat(parts)


out: dict = {"world": size}
mine = slice(rank * px * ny * nz, (rank + 1) * px * ny * nz)
def general():
    """eigs of the stencil plus advection: distributed on each rank (``A^T``: advection -0.5) and on
    rank 0 in one process; loss Σ Re λ (shared: counted once)."""
    pot = pot_all[rank * px:(rank + 1) * px].clone().requires_grad_()
    w, V = eigs(lap.halo_product(pot, advection=0.5), lap.halo_product(pot, advection=-0.5), K,
                n_local=px * ny * nz, params=[pot], which="smallest_real", tol=1e-11)
    (w.real.sum() / size).backward()
    Vg, gg = gather(V.detach()), gather(pot.grad)
    if rank == 0:
        ref_pot = pot_all.clone().requires_grad_()
        w1, V1 = egt.eigs(lambda X: lap.product(X, ref_pot, advection=0.5), K, n=n, params=[ref_pot],
                          which="smallest_real", solver="arnoldi", tol=1e-11)
        w1.real.sum().backward()
        out["arnoldi_w"] = float((w1 - w).abs().max())
        out["arnoldi_V"] = float(((V1.detach().conj() * Vg).sum(0).abs() - 1).abs().max())
        out["arnoldi_grad"] = float((ref_pot.grad - gg).abs().max() / ref_pot.grad.abs().max())
    out["arnoldi_w_spread"] = float((gather(w.detach()[None]) - w.detach()).abs().max())


def generalized():
    """eigsh with B = diag(mass) (each rank its rows of B; LOBPCG) on each rank and on rank 0 in one
    process: values, B-orthonormal vectors, the gradient of the loss with respect to the potential."""
    pot = pot_all[rank * px:(rank + 1) * px].clone().requires_grad_()
    mass = mass_all[mine]
    w, V = eigsh(lap.halo_product(pot), K, n_local=px * ny * nz, params=[pot], B=lambda X: mass[:, None] * X)
    loss(w, V, mine, 1.0 / size).backward()
    Vg, gg = gather(V.detach()), gather(pot.grad)
    if rank == 0:
        ref_pot = pot_all.clone().requires_grad_()
        w1, V1 = egt.eigsh(lambda X: lap.product(X, ref_pot), K, B=lambda X: mass_all[:, None] * X, n=n,
                           params=[ref_pot], solver="lobpcg")
        loss(w1, V1, slice(None), 1.0).backward()
        out["generalized_w"] = float((w1 - w).detach().abs().max())
        out["generalized_V"] = float(((V1.detach() * mass_all[:, None] * Vg).sum(0).abs() - 1).abs().max())
        out["generalized_grad"] = float((ref_pot.grad - gg).abs().max() / ref_pot.grad.abs().max())
    out["generalized_w_spread"] = float((gather(w.detach()[None]) - w.detach()).abs().max())


def tangents(solve, pot):
    """``(w, V, dw, dV)`` of ``solve(dual potential)`` with the tangent ``dpot`` (forward mode)."""
    with fwAD.dual_level():
        w, V = solve(fwAD.make_dual(pot, dpot_all[rank * px:(rank + 1) * px] if pot.shape != GRID else dpot_all))
        (w, dw), (V, dV) = fwAD.unpack_dual(w), fwAD.unpack_dual(V)
    return w, V, dw, dV


def forward():
    """Forward mode of eigsh (LOBPCG) and eigs (Arnoldi) on each rank and on rank 0 in one process:
    ``dw`` and ``dV`` (aligned to the reference's phases) relative to the largest entry."""
    pot = pot_all[rank * px:(rank + 1) * px].clone()
    nl = px * ny * nz
    runs = {
        "forward_eigsh": (
            lambda p: eigsh(lap.halo_product(p), K, n_local=nl, params=[p]),
            lambda p: egt.eigsh(lambda X: lap.product(X, p), K, n=n, params=[p], solver="lobpcg")),
        "forward_eigs": (
            lambda p: eigs(lap.halo_product(p, advection=0.5), lap.halo_product(p, advection=-0.5), K, n_local=nl,
                           params=[p], which="smallest_real", tol=1e-11),
            lambda p: egt.eigs(lambda X: lap.product(X, p, advection=0.5), K, n=n, params=[p], which="smallest_real",
                               solver="arnoldi", tol=1e-11)),
    }
    for name, (distributed, single) in runs.items():
        w, V, dw, dV = tangents(distributed, pot)
        Vg, dVg = gather(V), gather(dV)
        if rank == 0:
            w1, V1, dw1, dV1 = tangents(single, pot_all.clone())
            phase = (V1.conj() * Vg).sum(0)  # V = V1 · phase (unit modulus); dV turns with it
            out[f"{name}_dw"] = float((dw1 - dw).abs().max() / dw1.abs().max())
            out[f"{name}_dV"] = float((dV1 * phase - dVg).abs().max() / dV1.abs().max())
        out[f"{name}_dw_spread"] = float((gather(dw[None]) - dw).abs().max())


for solver in opts.solvers.split(","):
    if solver in ("arnoldi", "generalized", "forward"):
        {"arnoldi": general, "generalized": generalized, "forward": forward}[solver]()
        continue
    pot = pot_all[rank * px:(rank + 1) * px].clone().requires_grad_()
    w, V, info = eigsh(lap.halo_product(pot), K, n_local=px * ny * nz, params=[pot], solver=solver,
                       return_info=True)
    loss(w, V, mine, 1.0 / size).backward()
    Vg, gg = gather(V.detach()), gather(pot.grad)
    if rank == 0:
        ref_pot = pot_all.clone().requires_grad_()
        w1, V1 = egt.eigsh(lambda X: lap.product(X, ref_pot), K, n=n, params=[ref_pot], solver=solver)
        loss(w1, V1, slice(None), 1.0).backward()
        out[f"{solver}_w"] = float((w1 - w).abs().max())
        out[f"{solver}_V"] = float(((V1.detach() * Vg).sum(0).abs() - 1).abs().max())
        out[f"{solver}_grad"] = float((ref_pot.grad - gg).abs().max() / ref_pot.grad.abs().max())
        out[f"{solver}_res"] = float(info.residuals.max())
        out[f"{solver}_iters"] = info.iterations
    # w equal on every rank, bit for bit
    out[f"{solver}_w_spread"] = float((gather(w.detach()[None]) - w.detach()).abs().max())
if rank == 0:
    print("RESULT " + json.dumps(out), flush=True)
dist.destroy_process_group()
