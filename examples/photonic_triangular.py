"""Triangular-lattice (and square-lattice) band gaps optimised on the matrix-free path with eigengrad.nonsmooth's optimizer.

Targets (``--target``):

* ``tm``: the TM gap above band 1, from MPB's tri-rods crystal (rods r = 0.2, ε = 12, in air);
* ``complete``: the complete gap (TE above band 1 overlapping TM above band 2), from MPB's tri-holes
  crystal (air holes r = 0.45 in ε = 12);
* ``tm-square``: the square lattice's TM gap above band 1 from MPB's rod crystal (r = 0.2), against
  the radius-optimised rod crystal (39.10 %).

Design: one variable per C6v (square: C4v) orbit of the ``n × n`` grid points (``zone.GridDesign``, ε = 1 + 11 θ).
Family: ``window.WindowFamily`` (each wavevector's eigsh window, generalized gradients from whole
band-edge clusters); optimizer: ``eigengrad.nonsmooth.minimize(method="steepest")`` through
``optimize.maximize_gap``, on the path Γ–M–K–Γ. Afterwards the start and the final design are
re-evaluated at ``--fine`` grid points per side (cells upsampled, MPB smoothing), on a finer path and
on a grid of the whole irreducible zone (``check.gap_report``), next to MPB's published figures.

    OPENBLAS_NUM_THREADS=1 python examples/photonic_triangular.py [--target tm|complete] [--n 16]
        [--iterations 10] [--full]
    python examples/photonic_triangular.py --fine 64 --radii 0.16 0.18 0.2   # rod crystals only

``--full``: the real-resolution run (64² grid: 374 orbit variables, 18 wavevectors, 2 772 plane
waves), re-evaluated at 96².
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import jax  # noqa: E402

jax.config.update("jax_enable_x64", True)

import numpy as np  # noqa: E402

from eigengrad_photonic import check, grid  # noqa: E402
from eigengrad_photonic.targets import TARGETS, crystal, fine_map, optimize_target  # noqa: E402

def report(label: str, rep: check.GapReport) -> str:
    where = "edges on the path" if rep.on_path else "an edge OFF the path"
    return (f"{label}: path {100 * rep.ratio_path:6.2f} % [{rep.U_path:.5f}, {rep.L_path:.5f}] ({rep.nk_path} k), "
            f"path + zone {100 * rep.ratio_zone:6.2f} % ({rep.nk_zone} zone k, {where}), {rep.npw} plane waves")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--target", choices=tuple(TARGETS) + ("both",), default="both", help="both: tm and complete")
    ap.add_argument("--n", type=int, default=16, help="grid points per side during the optimisation")
    ap.add_argument("--per-segment", type=int, default=2, help="k intervals on the longest path segment")
    ap.add_argument("--iterations", type=int, default=10)
    ap.add_argument("--fine", type=int, default=32, help="grid for the re-evaluation (a multiple of n/2)")
    ap.add_argument("--zone", type=int, default=8, help="zone grid m × m (irreducible part) for the re-evaluation")
    ap.add_argument("--full", action="store_true", help="64² grid, 18 wavevectors, re-evaluated at 96²")
    ap.add_argument("--radii", type=float, nargs="*", default=(),
                    help="only scan the TM gap of rod crystals of these radii at --fine (the radius-optimised reference)")
    args = ap.parse_args()
    if args.full:
        args.n, args.per_segment, args.fine = 64, 7, 96
    if args.radii:
        lat = TARGETS[args.target if args.target != "both" else "tm"].lattice()
        for r in args.radii:
            med = grid.smoothed_medium(fine_map(lat, args.fine, "rods", r), args.fine, lat)
            print(report(f"rods r = {r:.3f} at {args.fine}²", check.gap_report(lat, med, args.fine, (("tm", 1),),
                                                                                zone_m=args.zone)), flush=True)
        return
    for key in ("tm", "complete") if args.target == "both" else (args.target,):
        t = TARGETS[key]
        lat = t.lattice()

        def log(it, R, s):
            print(f"  it {it:3d}: R = {100 * R:7.3f} %  ({s:6.1f} s, load {os.getloadavg()[0]:.1f})", flush=True)

        print(f"\n== {t.name}: {args.n}² grid, start {t.ref}", flush=True)
        run = optimize_target(t, args.n, args.per_segment, args.iterations, log)
        design, theta0, res = run.design, run.theta0, run.result
        print(f"  {design.size} orbit variables, {len(run.pw.k)} wavevectors, {run.pw.npw} plane waves; "
              f"{res.message} after {res.iterations} iterations, {res.seconds[-1]:.0f} s", flush=True)
        t0 = time.perf_counter()
        for label, th in (("start", theta0), ("optimised", res.theta)):
            eps = np.asarray(design.eps(th))
            print("  " + report(f"{label:9s} at {args.n}² (as optimised)",
                                check.gap_report(lat, grid.grid_medium(eps), args.n, t.gaps, per_segment=args.per_segment,
                                                 zone_m=args.zone)), flush=True)
            print("  " + report(f"{label:9s} at {args.fine}² (upsampled)",
                                check.gap_report(lat, check.upsample(eps, lat, args.fine), args.fine, t.gaps,
                                                 zone_m=args.zone)), flush=True)
        ref = crystal(lat, args.fine, *t.start)  # the reference disk itself, smoothed at the fine grid
        print("  " + report(f"{t.ref} at {args.fine}²", check.gap_report(
            lat, grid.smoothed_medium(fine_map(lat, args.fine, *t.start), args.fine, lat), args.fine, t.gaps,
            zone_m=args.zone)), flush=True)
        print(f"  MPB (resolution 32): {100 * t.mpb:.2f} %; fill fraction of ε > 6.5: optimised "
              f"{float(np.mean(np.asarray(design.eps(res.theta)) > 6.5)):.3f}, reference {float(np.mean(ref > 6.5)):.3f}; "
              f"re-evaluation {time.perf_counter() - t0:.0f} s", flush=True)


if __name__ == "__main__":
    main()
