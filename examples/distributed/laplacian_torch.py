"""The 8 lowest states of ``H = -Δ + diag(v)`` on a 3-D grid (Dirichlet walls, spacing 1) with the
grid's x-planes split across the ranks of a ``torch.distributed`` group, and the gradient of their
sum with respect to each rank's slab of the potential ``v``. Each rank applies ``H`` to its own rows,
swapping one boundary plane with each neighbour (``isend``/``irecv``).

One machine, 4 processes (gloo on CPU; ``--backend nccl`` with one GPU per rank)::

    torchrun --nproc-per-node 4 examples/distributed/laplacian_torch.py

Several hosts: ``torchrun --nnodes H --nproc-per-node G --rdzv-backend c10d
--rdzv-endpoint HOST0:29500 examples/distributed/laplacian_torch.py`` on each host.
"""

from __future__ import annotations

import argparse
from typing import Callable

import torch
import torch.distributed as dist


def _apply(U: torch.Tensor, Ux: torch.Tensor, pot: torch.Tensor, advection: float) -> torch.Tensor:
    """``H U`` for ``U (px, ny, nz, m)`` given ``Ux`` = ``U`` with one halo plane on each side in x
    (zeros at the walls): ``6u - Σ neighbours + v u (+ a (u_{x+1} - u_{x-1}) / 2)``."""
    Up = torch.nn.functional.pad(Ux, (0, 0, 1, 1, 1, 1))
    c = Up[1:-1, 1:-1, 1:-1]
    out = (6 * c - Up[2:, 1:-1, 1:-1] - Up[:-2, 1:-1, 1:-1] - Up[1:-1, 2:, 1:-1] - Up[1:-1, :-2, 1:-1]
           - Up[1:-1, 1:-1, 2:] - Up[1:-1, 1:-1, :-2] + pot[..., None] * U)
    if advection:
        out = out + advection * (Up[2:, 1:-1, 1:-1] - Up[:-2, 1:-1, 1:-1]) / 2
    return out


def product(X: torch.Tensor, pot: torch.Tensor, advection: float = 0.0) -> torch.Tensor:
    """``H X`` in one process, for ``X (n, m)`` with ``n = nx·ny·nz`` (x slowest); ``advection``
    adds the non-symmetric term ``a ∂_x`` (its transpose is the same with ``-a``)."""
    U = X.reshape(*pot.shape, -1)
    Ux = torch.nn.functional.pad(U, (0, 0, 0, 0, 0, 0, 1, 1))
    return _apply(U, Ux, pot, advection).reshape(X.shape)


def halo_product(pot_local: torch.Tensor, group=None, advection: float = 0.0) -> Callable[[torch.Tensor], torch.Tensor]:
    """``X_local -> (H X)_local`` for this rank's slab ``pot_local (px, ny, nz)`` of the potential
    (ranks hold consecutive slabs in rank order): one plane sent to and received from each neighbour."""
    rank, size = dist.get_rank(group), dist.get_world_size(group)

    def mv(X: torch.Tensor) -> torch.Tensor:
        U = X.reshape(*pot_local.shape, -1)
        lo, hi = torch.zeros_like(U[:1]), torch.zeros_like(U[:1])
        ops = []
        if rank > 0:
            peer = dist.get_global_rank(group, rank - 1) if group is not None else rank - 1
            ops += [dist.P2POp(dist.isend, U[:1].contiguous(), peer, group), dist.P2POp(dist.irecv, lo, peer, group)]
        if rank < size - 1:
            peer = dist.get_global_rank(group, rank + 1) if group is not None else rank + 1
            ops += [dist.P2POp(dist.isend, U[-1:].contiguous(), peer, group), dist.P2POp(dist.irecv, hi, peer, group)]
        for req in dist.batch_isend_irecv(ops) if ops else []:
            req.wait()
        return _apply(U, torch.cat([lo, U, hi]), pot_local, advection).reshape(X.shape)

    return mv


def potential(planes: range, grid: tuple[int, int, int]) -> torch.Tensor:
    """The x-planes ``planes`` of ``v = 4(x - 0.3)² + 0.7 y + 0.3 z²`` (coordinates in [0, 1)): a
    well in x, tilted in y and z so that no two states are degenerate."""
    nx, ny, nz = grid
    x = (torch.tensor(list(planes), dtype=torch.float64) / nx)[:, None, None]
    y = (torch.arange(ny, dtype=torch.float64) / ny)[None, :, None]
    z = (torch.arange(nz, dtype=torch.float64) / nz)[None, None, :]
    return 4.0 * (x - 0.3) ** 2 + 0.7 * y + 0.3 * z ** 2


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--grid", type=int, nargs=3, default=(32, 24, 24))
    parser.add_argument("--k", type=int, default=8)
    parser.add_argument("--backend", default="gloo")
    args = parser.parse_args()
    dist.init_process_group(args.backend)  # torchrun sets MASTER_ADDR/PORT, RANK, WORLD_SIZE
    from eigengrad.torch.distributed import eigsh

    rank, size = dist.get_rank(), dist.get_world_size()
    nx, ny, nz = args.grid
    if nx % size:
        raise SystemExit(f"nx = {nx} must be divisible by the {size} ranks")
    px = nx // size
    pot = potential(range(rank * px, (rank + 1) * px), args.grid).requires_grad_()
    w, V = eigsh(halo_product(pot), args.k, n_local=px * ny * nz, params=[pot])
    loss = w.sum() / size  # w is shared by the ranks: the summed loss counts it once
    loss.backward()
    total = pot.grad.sum().reshape(1)
    dist.all_reduce(total)
    if rank == 0:
        print(f"n = {nx * ny * nz} on {size} ranks")
        print("lowest eigenvalues:", [round(float(v), 6) for v in w.detach()])
        print("d(sum)/dv sums to", float(total), "(= k for normalised states)")
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
