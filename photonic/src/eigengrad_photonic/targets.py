"""Gap targets on the matrix-free path and their references, and the optimisation run shared by
``examples/photonic_triangular.py`` and the demo.

* ``tm``: the triangular lattice's TM gap above band 1, from MPB's tri-rods crystal (rods r = 0.2,
  ε = 12, in air);
* ``complete``: the complete gap (TE above band 1 overlapping TM above band 2), from MPB's
  tri-holes crystal (air holes r = 0.45 in ε = 12);
* ``tm-square``: the square lattice's TM gap above band 1 from MPB's rod crystal (r = 0.2).

Design: one variable per C6v (square: C4v) orbit of the ``n × n`` grid points (``zone.GridDesign``,
ε = 1 + 11 θ); family: ``window.WindowFamily``; optimizer: ``optimize.maximize_gap`` (eigengrad.nonsmooth,
``steepest``) on the irreducible-zone path.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from . import gaps, grid, lattice, optimize, window, zone


@dataclass(frozen=True)
class Target:
    """A gap target: the lattice, the gaps ``(polarisation, band)`` (several: their overlap), the start
    crystal (``"rods"`` or ``"holes"``, radius), MPB's gap–midgap ratio at resolution 32 and its name."""

    lattice: Callable[[], lattice.Lattice]
    gaps: tuple[tuple[str, int], ...]
    start: tuple[str, float]
    mpb: float
    name: str
    ref: str


# MPB, resolution 32. Square rods TM (r = 0.2: 39.01 %; radius-optimised: 39.10 %): meep
# python/tests/test_mpb.py, as in shared/reference. tri-rods TM: NanoComp/mpb
# doc/docs/Python_Data_Analysis_Tutorial.md ("Gap from band 1 (0.275065617068082) to band 2
# (0.446289918847647), 47.4729292989213%"). tri-holes: the band edges of
# photonic/tests/data/mpb_band_ranges.json (meep test_mpb.py), overlap 0.39851–0.43908.
TARGETS = {
    "tm": Target(lattice.triangular, (("tm", 1),), ("rods", 0.2), 0.474729, "TM gap above band 1",
                 "MPB tri-rods (rods r = 0.2)"),
    "complete": Target(lattice.triangular, gaps.COMPLETE_TRIANGULAR, ("holes", 0.45),
                       2 * (0.43908 - 0.39851) / (0.43908 + 0.39851), "complete gap (TE 1 | TM 2)",
                       "MPB tri-holes (air holes r = 0.45)"),
    "tm-square": Target(lattice.square, (("tm", 1),), ("rods", 0.2), 0.3901, "square lattice, TM gap above band 1",
                        "MPB square rods (r = 0.2; radius-optimised 39.10 %)"),
}


def fine_map(lat: lattice.Lattice, n: int, kind: str, radius: float) -> np.ndarray:
    """Rods of ε = 12 in air, or air holes in ε = 12, sampled for :func:`grid.smoothed_medium`."""
    disk = grid.disk_indicator(lat, n, radius, s=4)
    return 1 + 11 * disk if kind == "rods" else 12 - 11 * disk


def crystal(lat: lattice.Lattice, n: int, kind: str, radius: float) -> np.ndarray:
    """Cell means of ε at the ``n²`` grid points."""
    return np.asarray(grid.smoothed_medium(fine_map(lat, n, kind, radius), n, lat).eps)


@dataclass(frozen=True)
class Run:
    """An optimisation of a :class:`Target`: its design, plane waves, start and result."""

    target: Target
    design: zone.GridDesign
    pw: grid.PlaneWaveGrid
    theta0: np.ndarray
    result: optimize.GapResult


def optimize_target(target: Target, n: int, per_segment: int, iterations: int,
                    log: Callable[[int, float, float], None] | None = None) -> Run:
    """Maximise ``target``'s gap over C-symmetric grid designs on the ``n²`` grid, on the path with
    ``per_segment`` intervals on its longest segment, from the reference crystal."""
    lat = target.lattice()
    design = zone.GridDesign(lat, n)
    pw = grid.PlaneWaveGrid(lat, n, lattice.kpath(lat, per_segment).k)
    fam = window.WindowFamily(pw, lambda th: grid.grid_medium(design.eps(th)), design.size, target.gaps)
    theta0 = design.project(crystal(lat, n, *target.start))
    return Run(target, design, pw, theta0, optimize.maximize_gap(fam, fam.band, theta0, iterations=iterations, log=log))
