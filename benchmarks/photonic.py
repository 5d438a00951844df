"""Photonic band structures at MPB resolution on the matrix-free path (eigengrad_photonic.grid +
iterative: FFT operators, eigengrad.jax.eigsh/LOBPCG, kinetic preconditioner).

Measures: (1) the MPB rod crystal's TM band edges (top of band 1 at M, bottom of band 2 at X)
against MPB at 1 000–3 000 plane waves; (2) band structure plus the gap-midgap gradient with
respect to every grid value of ε at 16 wavevectors, TM, ≈1 000 plane waves: wall times (compile
included on the first call, excluded on the second) and the load average. Prints a Markdown table.
(3) with ``--legume`` (legume-gme and autograd importable, e.g. ``pip install --target DIR
legume-gme autograd`` and ``PYTHONPATH=DIR``), in one run: band structure plus the gap-midgap gradient
of the square-lattice rod crystal, TM and TE, on legume's 18 Γ–X–M–Γ wavevectors, legume's
``PlaneWaveExp`` (dense ``eigh`` per wavevector, analytic Fourier coefficients of the disk, reverse
mode by autograd) at several ``gmax`` and ours at several grids: edges, times, load; our edges at 96²;
legume's gradient of an eigenvector loss at Γ's exact doublet.
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


# MPB resolution 32 (meep test_mpb.py; photonic/tests/data/mpb_band_ranges.json): top of band 1 at M,
# bottom of band 2 at X of the rod crystal
MPB_EDGES = {"tm": (0.28094795, 0.41711425), "te": (0.49683586, 0.44158845)}


def _ratio(top, bot):
    return 2 * (bot - top) / (bot + top)


def legume_gap(k: np.ndarray, pol: str, gmax: float, radius: float = 0.2, numeig: int = 2):
    """legume's PWE band structure + gap-midgap gradient with respect to the rod radius (autograd
    backend: reverse mode through its dense ``eigh`` at every wavevector). Returns the edges, ``R``,
    ``dR/dr``, the plane-wave count and the wall time."""
    import autograd
    import autograd.numpy as anp
    import legume

    legume.set_backend("autograd")
    npw = []

    def ratio(r):
        crystal = legume.PhotCryst(legume.Lattice("square"))
        crystal.add_layer(d=0, eps_b=1)
        crystal.layers[-1].add_shape(legume.Circle(eps=12, x_cent=0, y_cent=0, r=r))
        pwe = legume.PlaneWaveExp(crystal.layers[0], gmax=gmax)
        pwe.run(kpoints=k.T, pol=pol, numeig=numeig)
        npw.append(pwe.gvec.shape[1])
        f = pwe.freqs
        edges.append((anp.max(f[:, 0]), anp.min(f[:, 1])))
        return _ratio(anp.max(f[:, 0]), anp.min(f[:, 1]))

    edges = []
    t = time.perf_counter()
    R, g = autograd.value_and_grad(ratio)(radius)
    dt = time.perf_counter() - t
    top, bot = (float(getattr(e, "_value", e)) for e in edges[0])
    return top, bot, float(R), float(g), npw[0], dt


def ours_gap(k: np.ndarray, pol: str, n: int, radius: float = 0.2, s: int = 8, repeats: int = 2):
    """Ours: band structure + gap-midgap gradient with respect to every sample of the fine map
    (``(s n)²`` values, through MPB's smoothing), the default sphere of the ``n²`` grid. Returns the
    edges, ``R``, ``|dR/dε|``, the plane-wave counts and the wall times (the first compiles)."""
    lat = lattice.square()
    pw = grid.PlaneWaveGrid(lat, n, k)

    def ratio(fine):
        f = iterative.frequencies(iterative.solve(pw, grid.smoothed_medium(fine, n, lat), pol, 2).lam)
        top, bot = jnp.max(f[:, 0]), jnp.min(f[:, 1])
        return _ratio(top, bot), (top, bot)

    fine = jnp.asarray(fine_disk(lat, n, radius, 12.0, s))
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        (R, (top, bot)), g = jax.value_and_grad(ratio, has_aux=True)(fine)
        g.block_until_ready()
        times.append(time.perf_counter() - t)
    return float(top), float(bot), float(R), float(jnp.linalg.norm(g)), (pw.nbands, pw.npw), times


def legume_degenerate_gradient(gmax: float = 5, radius: float = 0.2):
    """legume's gradient (autograd) at Γ, where TM bands 3 and 4 are an exact doublet, of a
    gauge-invariant eigenvector loss: the doublet's total weight on the first 5 plane waves,
    ``Σ_{i=3,4} Σ_G |v_iG|²``. (At M legume's box of plane waves is not symmetric about ``−k``: its
    doublet there is split by ~5·10⁻⁶, and its gradient is finite and right.) Returns ``(loss, d loss/dr)``."""
    import autograd
    import autograd.numpy as anp
    import legume

    legume.set_backend("autograd")

    def loss(r):
        crystal = legume.PhotCryst(legume.Lattice("square"))
        crystal.add_layer(d=0, eps_b=1)
        crystal.layers[-1].add_shape(legume.Circle(eps=12, x_cent=0, y_cent=0, r=r))
        pwe = legume.PlaneWaveExp(crystal.layers[0], gmax=gmax)
        pwe.run(kpoints=np.zeros((2, 1)), pol="tm", numeig=4)
        v = pwe.eigvecs[0]
        return anp.sum(anp.abs(v[:5, 2:4]) ** 2)

    value, grad = autograd.value_and_grad(loss)(radius)
    return float(value), float(grad)


def legume_side_by_side(legume_gmax=(10, 13, 16), grids=(36, 48), reference: int = 96) -> None:
    """Band structure + gap-midgap gradient of the rod crystal (r = 0.2, ε = 12) on legume's 18
    Γ–X–M–Γ wavevectors, TM and TE, legume's PWE at several ``gmax`` and ours at several grids, in one
    run; then gradients at a degenerate wavevector."""
    import legume

    k = legume.Lattice("square").bz_path(["G", "X", "M", "G"], [5, 5, 7])["kpoints"].T  # Cartesian, rad / a
    print(f"\n{len(k)} wavevectors; edges: top of band 1, bottom of band 2 (differences from MPB resolution 32)")
    print("| polarisation | code | plane waves | top band 1 | bottom band 2 | R | time | load |")
    print("|---|---|---|---|---|---|---|---|")
    for pol in ("tm", "te"):
        m_top, m_bot = MPB_EDGES[pol]
        for gmax in legume_gmax:
            top, bot, R, g, npw, dt = legume_gap(k, pol, gmax)
            print(f"| {pol.upper()} | legume gmax={gmax} (grad d/dr {g:+.4f}) | {npw} | {top:.5f} ({top - m_top:+.1e})"
                  f" | {bot:.5f} ({bot - m_bot:+.1e}) | {100 * R:.3f} % | {dt:.2f} s | {os.getloadavg()[0]:.1f} |",
                  flush=True)
        for n in grids:
            top, bot, R, g, npw, times = ours_gap(k, pol, n)
            print(f"| {pol.upper()} | ours {n}² (grad norm {g:.3e}) | {npw[0]}–{npw[1]} | {top:.5f} ({top - m_top:+.1e})"
                  " | "
                  f"{bot:.5f} ({bot - m_bot:+.1e}) | {100 * R:.3f} % | {times[-1]:.2f} s (first {times[0]:.1f} s) | "
                  f"{os.getloadavg()[0]:.1f} |", flush=True)
    lat = lattice.square()
    pw = grid.PlaneWaveGrid(lat, reference, np.array([lat.k("M"), lat.k("X")]))
    for pol in ("tm", "te"):
        f = np.asarray(iterative.frequencies(iterative.solve(
            pw, grid.smoothed_medium(fine_disk(lat, reference, 0.2, 12.0), reference, lat), pol, 2).lam))
        print(f"ours at {reference}² ({pw.npw} plane waves), {pol.upper()}: top band 1 at M {f[0, 0]:.5f}, "
              f"bottom band 2 at X {f[1, 1]:.5f}", flush=True)
    value, grad = legume_degenerate_gradient()
    print(f"\nlegume at Γ (TM doublet, bands 3-4), eigenvector loss {value:.6f}: d/dr = {grad}")


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
