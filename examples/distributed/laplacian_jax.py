"""The 8 lowest states of ``H = -Δ + diag(v)`` on a 3-D grid (Dirichlet walls, spacing 1), solved with
the rows of every block sharded over all JAX devices, and the gradient of their sum with respect to
the potential ``v``. The product ``X -> H X`` is a ``shard_map`` over x-slabs: each device holds
``nx / devices`` planes and swaps one boundary plane with each neighbour (``ppermute``); the
eigensolver never gathers a block.

One machine, 8 devices (CPU here; GPUs are used as they are)::

    XLA_FLAGS=--xla_force_host_platform_device_count=8 python examples/distributed/laplacian_jax.py

Several hosts (or processes): run the same command on each, adding ``--coordinator HOST:PORT
--nproc P --rank I`` (``jax.distributed.initialize``; on GPU clusters managed by SLURM or similar
the three are found automatically and may be left out).
"""

from __future__ import annotations

import argparse
from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec as P


def _apply(U: jax.Array, Ux: jax.Array, pot: jax.Array, advection: float) -> jax.Array:
    """``H U`` for ``U (px, ny, nz, m)`` given ``Ux`` = ``U`` with one halo plane on each side in x
    (zeros at the walls): ``6u - Σ neighbours + v u (+ a (u_{x+1} - u_{x-1}) / 2)``."""
    Up = jnp.pad(Ux, ((0, 0), (1, 1), (1, 1), (0, 0)))
    c = Up[1:-1, 1:-1, 1:-1]
    out = (6 * c - Up[2:, 1:-1, 1:-1] - Up[:-2, 1:-1, 1:-1] - Up[1:-1, 2:, 1:-1] - Up[1:-1, :-2, 1:-1]
           - Up[1:-1, 1:-1, 2:] - Up[1:-1, 1:-1, :-2] + pot[..., None] * U)
    if advection:
        out = out + advection * (Up[2:, 1:-1, 1:-1] - Up[:-2, 1:-1, 1:-1]) / 2
    return out


def product(X: jax.Array, pot: jax.Array, advection: float = 0.0) -> jax.Array:
    """``H X`` on one device, for ``X (n, m)`` with ``n = nx·ny·nz`` (x slowest)."""
    nx, ny, nz = pot.shape
    U = X.reshape(nx, ny, nz, -1)
    Ux = jnp.pad(U, ((1, 1), (0, 0), (0, 0), (0, 0)))
    return _apply(U, Ux, pot, advection).reshape(X.shape)


def sharded_product(mesh: Mesh, grid: tuple[int, int, int], advection: float = 0.0) -> Callable:
    """``(X, pot) -> H X`` with the rows of ``X (n, m)`` and the x-planes of ``pot`` sharded over the
    mesh axis ``"x"`` (``nx`` divisible by its size): a ``shard_map`` whose halos are ``ppermute``."""
    d = mesh.shape["x"]
    nx, ny, nz = grid
    if nx % d:
        raise ValueError(f"nx = {nx} must be divisible by the {d} devices")

    def local(Xl, potl):
        U = Xl.reshape(nx // d, ny, nz, -1)
        from_right = jax.lax.ppermute(U[:1], "x", [(i, i - 1) for i in range(1, d)])
        from_left = jax.lax.ppermute(U[-1:], "x", [(i, i + 1) for i in range(d - 1)])
        Ux = jnp.concatenate([from_left, U, from_right], axis=0)
        return _apply(U, Ux, potl, advection).reshape(Xl.shape)

    return jax.shard_map(local, mesh=mesh, in_specs=(P("x", None), P("x")), out_specs=P("x", None))


def potential(grid: tuple[int, int, int]) -> np.ndarray:
    """``v = 4(x - 0.3)² + 0.7 y + 0.3 z²`` (coordinates in [0, 1)): a well in x, tilted in y and z
    so that no two states are degenerate."""
    x, y, z = np.meshgrid(*(np.arange(m) / m for m in grid), indexing="ij")
    return 4.0 * (x - 0.3) ** 2 + 0.7 * y + 0.3 * z ** 2


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--grid", type=int, nargs=3, default=(32, 24, 24))
    parser.add_argument("--k", type=int, default=8)
    parser.add_argument("--coordinator", default=None, help="HOST:PORT of process 0 (several processes)")
    parser.add_argument("--nproc", type=int, default=None)
    parser.add_argument("--rank", type=int, default=None)
    args = parser.parse_args()
    jax.config.update("jax_enable_x64", True)
    if args.coordinator or args.nproc:
        if jax.devices()[0].platform == "cpu":
            jax.config.update("jax_cpu_collectives_implementation", "gloo")
        jax.distributed.initialize(args.coordinator, args.nproc, args.rank)
    import eigengrad.jax as eg
    from jax.experimental import multihost_utils

    grid = tuple(args.grid)
    n = int(np.prod(grid))
    mesh = Mesh(np.array(jax.devices()), ("x",))
    pot_host = potential(grid)
    pot = jax.make_array_from_callback(grid, NamedSharding(mesh, P("x")), lambda idx: pot_host[idx])
    H = sharded_product(mesh, grid)

    def energy(v):
        w, _ = eg.eigsh(lambda X: H(X, v), args.k, n=n, solver="lobpcg")
        return jnp.sum(w), w

    (total, w), g = jax.value_and_grad(energy, has_aux=True)(pot)
    if jax.process_index() == 0:
        print(f"n = {n} on {len(jax.devices())} devices, {jax.process_count()} process(es)")
        print("lowest eigenvalues:", np.round(np.asarray(multihost_utils.process_allgather(w, tiled=True)), 6))
        print("d(sum)/dv: sharded over", len(g.sharding.device_set), "devices; sums to",
              float(multihost_utils.process_allgather(jnp.sum(g), tiled=True)), "(= k for normalised states)")


if __name__ == "__main__":
    main()
