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

from eigengrad_photonic import check, gaps, grid, lattice, optimize, window, zone  # noqa: E402

# MPB, resolution 32. Square rods TM (r = 0.2: 39.01 %; radius-optimised: 39.10 %): meep
# python/tests/test_mpb.py, as in shared/reference. tri-rods TM: NanoComp/mpb doc/docs/Python_Data_Analysis_Tutorial.md ("Gap from
# band 1 (0.275065617068082) to band 2 (0.446289918847647), 47.4729292989213%"). tri-holes: the band
# edges of photonic/tests/data/mpb_band_ranges.json (meep test_mpb.py), overlap 0.39851–0.43908.
TARGETS = {
    "tm": dict(lattice=lattice.triangular, gaps=(("tm", 1),), start=("rods", 0.2), mpb=0.474729,
               name="TM gap above band 1", ref="MPB tri-rods (rods r = 0.2)"),
    "complete": dict(lattice=lattice.triangular, gaps=gaps.COMPLETE_TRIANGULAR, start=("holes", 0.45),
                     mpb=2 * (0.43908 - 0.39851) / (0.43908 + 0.39851), name="complete gap (TE 1 | TM 2)",
                     ref="MPB tri-holes (air holes r = 0.45)"),
    "tm-square": dict(lattice=lattice.square, gaps=(("tm", 1),), start=("rods", 0.2), mpb=0.3901,
                      name="square lattice, TM gap above band 1", ref="MPB square rods (r = 0.2; radius-optimised 39.10 %)"),
}


def fine_map(lat, n: int, kind: str, radius: float) -> np.ndarray:
    """Rods of ε = 12 in air, or air holes in ε = 12, sampled for :func:`grid.smoothed_medium`."""
    disk = grid.disk_indicator(lat, n, radius, s=4)
    return 1 + 11 * disk if kind == "rods" else 12 - 11 * disk


def crystal(lat, n: int, kind: str, radius: float) -> np.ndarray:
    """Cell means of ε at the n² grid points."""
    return np.asarray(grid.smoothed_medium(fine_map(lat, n, kind, radius), n, lat).eps)


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
        lat = TARGETS[args.target if args.target != "both" else "tm"]["lattice"]()
        for r in args.radii:
            med = grid.smoothed_medium(fine_map(lat, args.fine, "rods", r), args.fine, lat)
            print(report(f"rods r = {r:.3f} at {args.fine}²", check.gap_report(lat, med, args.fine, (("tm", 1),),
                                                                                zone_m=args.zone)), flush=True)
        return
    for key in ("tm", "complete") if args.target == "both" else (args.target,):
        t = TARGETS[key]
        lat = t["lattice"]()
        design = zone.GridDesign(lat, args.n)
        pw = grid.PlaneWaveGrid(lat, args.n, lattice.kpath(lat, args.per_segment).k)
        fam = window.WindowFamily(pw, lambda th: grid.grid_medium(design.eps(th)), design.size, t["gaps"])
        theta0 = design.project(crystal(lat, args.n, *t["start"]))
        print(f"\n== {t['name']}: {args.n}² grid, {design.size} orbit variables, {len(pw.k)} wavevectors, "
              f"{pw.npw} plane waves; start {t['ref']}", flush=True)

        def log(it, R, s):
            print(f"  it {it:3d}: R = {100 * R:7.3f} %  ({s:6.1f} s, load {os.getloadavg()[0]:.1f})", flush=True)

        res = optimize.maximize_gap(fam, fam.band, theta0, iterations=args.iterations, log=log)
        print(f"  {res.message} after {res.iterations} iterations, {res.seconds[-1]:.0f} s", flush=True)
        t0 = time.perf_counter()
        for label, th in (("start", theta0), ("optimised", res.theta)):
            eps = np.asarray(design.eps(th))
            print("  " + report(f"{label:9s} at {args.n}² (as optimised)",
                                check.gap_report(lat, grid.grid_medium(eps), args.n, t["gaps"], per_segment=args.per_segment,
                                                 zone_m=args.zone)), flush=True)
            print("  " + report(f"{label:9s} at {args.fine}² (upsampled)",
                                check.gap_report(lat, check.upsample(eps, lat, args.fine), args.fine, t["gaps"],
                                                 zone_m=args.zone)), flush=True)
        ref = crystal(lat, args.fine, *t["start"])  # the reference disk itself, smoothed at the fine grid
        print("  " + report(f"{t['ref']} at {args.fine}²", check.gap_report(
            lat, grid.smoothed_medium(fine_map(lat, args.fine, *t["start"]), args.fine, lat), args.fine, t["gaps"],
            zone_m=args.zone)), flush=True)
        print(f"  MPB (resolution 32): {100 * t['mpb']:.2f} %; fill fraction of ε > 6.5: optimised "
              f"{float(np.mean(np.asarray(design.eps(res.theta)) > 6.5)):.3f}, reference {float(np.mean(ref > 6.5)):.3f}; "
              f"re-evaluation {time.perf_counter() - t0:.0f} s", flush=True)


if __name__ == "__main__":
    main()
