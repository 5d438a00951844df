"""Benchmark: ``eigengrad.torch.distributed.eigsh`` on 1, 2 and 4 gloo ranks of ONE machine, k = 8
lowest states of H = -Δ + diag(v) on an nx×ny×nz grid (examples/distributed/laplacian_torch.py, the
x-planes split across ranks, halos by isend/irecv), LOBPCG without preconditioner, loss
Σλ + Σ⟨x⟩ (the mean position of each state, so the adjoint solves run), gradient w.r.t. v. Per rank: forward and backward seconds, peak RSS, and the all-reduces made (count and
bytes, counted at the reducer) — the communication per iteration the docs project from.

    python benchmarks/distributed.py            # all cases, writes benchmarks/results/distributed.md
    python benchmarks/distributed.py --rank 0 --world 2 --port 29512 --grid 32 16 16   # one rank, JSON

Honest about the machine: all ranks share its cores, so more ranks cannot be faster here; the
figures show the cost of the reductions and halos, not a speed-up.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import socket
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
K = 8
GRIDS = ((16, 16, 16), (32, 32, 16), (32, 32, 32))
WORLDS = (1, 2, 4)


def rank_main(opts) -> None:
    import torch
    import torch.distributed as dist

    sys.path.insert(0, os.path.join(ROOT, "examples", "distributed"))
    import laplacian_torch as lap

    import eigengrad.torch.distributed as egd

    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{opts.port}", rank=opts.rank,
                            world_size=opts.world)
    calls = {"n": 0, "bytes": 0}
    plain = egd._allreduce

    def counting(group):
        fn = plain(group)

        def reduce(x):
            calls["n"] += 1
            calls["bytes"] += x.numel() * x.element_size()
            return fn(x)
        return reduce
    egd._allreduce = counting

    nx, ny, nz = opts.grid
    px = nx // opts.world
    pot = lap.potential(range(opts.rank * px, (opts.rank + 1) * px), opts.grid).requires_grad_()
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    dist.barrier()
    t0 = time.perf_counter()
    w, V, info = egd.eigsh(lap.halo_product(pot), K, n_local=px * ny * nz, params=[pot], return_info=True)
    t1 = time.perf_counter()
    fwd_calls = dict(calls)
    xs = torch.arange(opts.rank * px, (opts.rank + 1) * px, dtype=torch.float64).repeat_interleave(ny * nz) / nx
    (w.sum() / opts.world + (xs[:, None] * V ** 2).sum()).backward()  # energies + <x> of each state
    t2 = time.perf_counter()
    print(json.dumps({
        "rank": opts.rank, "world": opts.world, "n": nx * ny * nz, "forward_s": t1 - t0, "backward_s": t2 - t1,
        "iters": info.iterations, "allreduce_fwd": fwd_calls["n"], "allreduce_fwd_bytes": fwd_calls["bytes"],
        "allreduce_bwd": calls["n"] - fwd_calls["n"], "rss_before_MiB": rss0,
        "peak_rss_MiB": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "w0": float(w[0].detach()), "halo_bytes_per_product_col": 2 * ny * nz * 8 if opts.world > 1 else 0}), flush=True)
    dist.destroy_process_group()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def case(grid, world) -> list[dict]:
    port = free_port()
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1",
           "PYTHONPATH": os.pathsep.join([os.path.join(ROOT, "src"), os.environ.get("PYTHONPATH", "")])}
    procs = [subprocess.Popen([sys.executable, __file__, "--rank", str(r), "--world", str(world), "--port", str(port),
                               "--grid", *map(str, grid)], env=env, stdout=subprocess.PIPE, text=True)
             for r in range(world)]
    outs = [p.communicate(timeout=1800)[0] for p in procs]
    if any(p.returncode for p in procs):
        raise RuntimeError(f"case {grid} × {world} failed")
    return [json.loads(o.strip().splitlines()[-1]) for o in outs]


def main() -> None:
    load = os.getloadavg()
    rows = []
    for grid in GRIDS:
        for world in WORLDS:
            rs = case(grid, world)
            r0 = rs[0]
            rows.append(
                f"| {'×'.join(map(str, grid))} ({r0['n']}) | {world} | {max(r['forward_s'] for r in rs):.2f} | "
                f"{max(r['backward_s'] for r in rs):.2f} | {r0['iters']} | {max(r['peak_rss_MiB'] for r in rs):.0f} "
                f"({r0['rss_before_MiB']:.0f} before) | {r0['allreduce_fwd']} ({r0['allreduce_fwd_bytes'] / 1024:.0f} KiB) "
                f"| {r0['allreduce_bwd']} | {r0['halo_bytes_per_product_col']} | {r0['w0']:.10f} |")
            print(rows[-1], flush=True)
    text = "\n".join([
        "# Distributed eigsh benchmark (`benchmarks/distributed.py`)",
        "",
        f"k = {K} lowest states of H = −Δ + diag(v) on a 3-D grid, float64, LOBPCG (no preconditioner), loss Σλ + Σ⟨x⟩ (mean x-position of each state: the adjoint solves run), "
        "gradient w.r.t. v; `eigengrad.torch.distributed.eigsh` on 1, 2, 4 gloo ranks of ONE x86_64 machine with "
        f"2 CPU cores (1 torch thread per rank), load average {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} "
        "(1/5/15 min) when the run started, shared with other jobs. With 4 ranks on 2 cores the ranks "
        "time-share: more ranks cannot be faster here; the table shows the overhead of the reductions and "
        "halos and the per-rank memory; the times are noisy (other jobs' tests ran at the same time), while steps, all-reduce counts and memory are not. No GPU was available. Times are the slowest rank's; peak RSS is the largest "
        "rank's (includes the Python/torch runtime, given as 'before').",
        "",
        "| grid (n) | ranks | forward s | backward s | LOBPCG steps | peak RSS MiB per rank | all-reduces forward "
        "(total payload) | all-reduces backward | halo bytes per column per product | λ₀ |",
        "|---|---|---|---|---|---|---|---|---|---|",
        *rows, ""])
    with open(os.path.join(ROOT, "benchmarks", "results", "distributed.md"), "w") as f:
        f.write(text)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--rank", type=int)
    parser.add_argument("--world", type=int)
    parser.add_argument("--port", type=int)
    parser.add_argument("--grid", type=int, nargs=3)
    opts = parser.parse_args()
    if opts.rank is None:
        main()
    else:
        rank_main(opts)
