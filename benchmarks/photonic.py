"""Photonic band structures at MPB resolution on the matrix-free path (eigengrad_photonic.grid +
iterative: FFT operators, eigengrad.jax.eigsh/LOBPCG, kinetic preconditioner).

Measures: (1) the MPB rod crystal's TM band edges (top of band 1 at M, bottom of band 2 at X)
against MPB at 1 000–3 000 plane waves; (2) band structure plus the gap-midgap gradient with
respect to every grid value of ε at 16 wavevectors, TM, ≈1 000 plane waves: wall times (compile
included on the first call, excluded on the second) and the load average. Prints a Markdown table.
(3) with ``--legume`` (legume-gme importable), the same square-lattice rod crystal's TM and TE band
structures at the same wavevectors and about the same plane-wave count in legume's
``PlaneWaveExp`` (dense ``eigh`` per wavevector, analytic Fourier coefficients of the disk) and here:
wall times and band edges, in one run.
"""

from __future__ import annotations

import os
import sys
import time

import jax

jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

from eigengrad_photonic import grid, iterative, lattice  # noqa: E402

MPB_TOP1_M, MPB_BOT2_X = 0.28094795, 0.41711425  # shared/reference/README.md (meep test_mpb.py, res. 32)


def fine_disk(lat, n, radius, eps_in, s=8):
    return 1.0 + (eps_in - 1.0) * grid.disk_indicator(lat, n, radius, s)


def mpb_edges(n: int, gmax: float | None) -> str:
    lat = lattice.square()
    pw = grid.PlaneWaveGrid(lat, n, np.array([lat.k("M"), lat.k("X")]), gmax)
    t = time.perf_counter()
    f = np.asarray(iterative.frequencies(iterative.solve(pw, grid.smoothed_medium(fine_disk(lat, n, 0.2, 12.0), n, lat),
                                                         "tm", 2).lam))
    dt = time.perf_counter() - t
    return (f"| {n}² | {pw.npw} | {f[0, 0]:.6f} ({f[0, 0] / MPB_TOP1_M - 1:+.1e}) | {f[1, 1]:.6f} "
            f"({f[1, 1] / MPB_BOT2_X - 1:+.1e}) | {dt:.1f} s | {os.getloadavg()[0]:.1f} |")


def gap_and_gradient(n: int, gmax: float, per_segment: int):
    lat = lattice.square()
    kp = lattice.kpath(lat, per_segment)
    pw = grid.PlaneWaveGrid(lat, n, kp.k, gmax)

    def ratio(eps):
        f = iterative.frequencies(iterative.solve(pw, grid.grid_medium(eps), "tm", 2).lam)
        top, bot = jnp.max(f[:, 0]), jnp.min(f[:, 1])
        return 2 * (bot - top) / (bot + top)

    eps = jnp.asarray(fine_disk(lat, n, 0.2, 12.0, s=2).reshape(n, 2, n, 2).mean(axis=(1, 3)))
    times = []
    for _ in range(2):
        t = time.perf_counter()
        R, g = jax.value_and_grad(ratio)(eps)
        g.block_until_ready()
        times.append(time.perf_counter() - t)
    return pw, len(kp.k), float(R), float(jnp.linalg.norm(g)), times


def legume_side_by_side(legume_gmax: int = 15, n: int = 32) -> None:
    """Band structures (TM and TE, 4 bands) of the rod crystal on legume's Γ–X–M–Γ wavevectors:
    legume's PWE (841 plane waves at ``gmax = 15``) against our default sphere on the 32² grid (812).
    A sphere much smaller than the grid would make our TE converge slowly (``grid.PlaneWaveGrid``)."""
    import legume

    lat_l = legume.Lattice("square")
    crystal = legume.PhotCryst(lat_l)
    crystal.add_layer(d=0, eps_b=1)
    crystal.layers[-1].add_shape(legume.Circle(eps=12, x_cent=0, y_cent=0, r=0.2))
    pwe = legume.PlaneWaveExp(crystal.layers[0], gmax=legume_gmax)
    k = lat_l.bz_path(["G", "X", "M", "G"], [5, 5, 7])["kpoints"].T  # Cartesian, rad / a
    npw_l = pwe.gvec.shape[1]
    lat = lattice.square()
    pw = grid.PlaneWaveGrid(lat, n, k)
    med = grid.smoothed_medium(fine_disk(lat, n, 0.2, 12.0, s=4), n, lat)
    print(f"\n{len(k)} wavevectors; legume {npw_l} plane waves, ours {pw.npw}")
    print("| polarisation | code | top band 1 | bottom band 2 | time | load |")
    print("|---|---|---|---|---|---|")
    for pol in ("tm", "te"):
        t = time.perf_counter()
        pwe.run(kpoints=k.T, pol=pol, numeig=4)
        dt_l, f_l = time.perf_counter() - t, np.asarray(pwe.freqs)
        print(f"| {pol.upper()} | legume PlaneWaveExp | {f_l[:, 0].max():.5f} | {f_l[:, 1].min():.5f} | {dt_l:.1f} s | "
              f"{os.getloadavg()[0]:.1f} |", flush=True)
        for rep in ("first call", "second call"):
            t = time.perf_counter()
            f = np.asarray(iterative.frequencies(iterative.solve(pw, med, pol, 4).lam))
            print(f"| {pol.upper()} | eigengrad_photonic ({rep}) | {f[:, 0].max():.5f} | {f[:, 1].min():.5f} | "
                  f"{time.perf_counter() - t:.1f} s | {os.getloadavg()[0]:.1f} |", flush=True)


def main() -> None:
    if "--legume" in sys.argv:
        legume_side_by_side()
        return
    print("| grid | plane waves | top band 1 at M (vs MPB) | bottom band 2 at X (vs MPB) | time | load |")
    print("|---|---|---|---|---|---|")
    for n, gmax in ((32, None), (64, 18.0), (64, None)):
        print(mpb_edges(n, gmax), flush=True)
    pw, nk, R, gn, times = gap_and_gradient(48, 18.0, 7)
    print(f"\nTM gap-midgap + gradient, {nk} wavevectors, {pw.npw} plane waves, 48² grid: R = {100 * R:.3f} %, "
          f"|dR/dε| = {gn:.3e}; {times[0]:.1f} s first call (compiles), {times[1]:.1f} s second; "
          f"load {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
