"""eigengrad_photonic.zone: point groups on grid points (C4v, C6v), symmetric grid designs, whole-zone
sampling; the triangular lattice against MPB (tests/data/mpb_band_ranges.json)."""

from __future__ import annotations

import json
import pathlib

import numpy as np
import pytest

from eigengrad_photonic import grid, iterative, lattice, zone

MPB = json.loads((pathlib.Path(__file__).parent / "data" / "mpb_band_ranges.json").read_text())


@pytest.mark.parametrize("lat, order", [(lattice.square(), 8), (lattice.triangular(), 12)], ids=["square", "triangular"])
def test_grid_designs_have_the_full_point_symmetry(lat, order):
    group = zone.point_group(lat)
    assert len(group) == order
    for g in group:
        np.testing.assert_allclose(g @ g.T, np.eye(2), atol=1e-12)
    d = zone.GridDesign(lat, 12)
    eps = np.asarray(d.eps(np.random.default_rng(0).uniform(size=d.size)))
    ij = np.stack(np.meshgrid(np.arange(12), np.arange(12), indexing="ij"), -1)
    for g in group:
        im = np.mod(ij @ zone.fractional(lat, g).T, 12)
        np.testing.assert_array_equal(eps[im[..., 0], im[..., 1]], eps)
    assert d.size == len(np.unique(d.orbit)) and (12 * 12) / order < d.size < 12 * 12 / order + 12
    np.testing.assert_allclose(d.project(eps), np.asarray((eps.ravel() - 1) / 11)[np.unique(d.orbit, return_index=True)[1]])
    with pytest.raises(ValueError, match="theta"):
        d.eps(np.zeros(d.size + 1))


@pytest.mark.parametrize("lat", [lattice.square(), lattice.triangular()], ids=["square", "triangular"])
def test_zone_grid_covers_the_zone(lat):
    """Full sample: every point folded into the first zone (no shorter k + G); irreducible sample:
    its images under the point group and k -> -k are the full sample, each once per orbit."""
    m = 12
    full = zone.zone_grid(lat, m, irreducible=False)
    B = lat.reciprocal
    for G in np.stack(np.meshgrid([-1, 0, 1], [-1, 0, 1], indexing="ij"), -1).reshape(-1, 2) @ B:
        assert np.all(np.linalg.norm(full + G, axis=1) >= np.linalg.norm(full, axis=1) - 1e-9)
    irr = zone.zone_grid(lat, m)

    def key(k):
        return tuple(np.mod(np.round(np.linalg.solve(B.T, k) * m).astype(int), m))

    images = {key(s * g @ k) for k in irr for g in zone.point_group(lat) for s in (1, -1)}
    assert images == {key(k) for k in full}
    assert len(irr) == {"square": 28, "triangular": 19}[lat.name]
    irr_keys = {key(k) for k in irr}
    for label in lat.path:  # every corner of the path is sampled, up to symmetry
        assert any(key(s * g @ lat.k(label)) in irr_keys for g in zone.point_group(lat) for s in (1, -1))


def test_compare_extrema_finds_an_edge_off_the_path():
    f_path = np.array([[0.0, 0.5], [0.3, 0.6]])
    f_zone = np.array([[0.0, 0.5], [0.35, 0.55], [0.3, 0.6]])
    k = np.arange(6.0).reshape(3, 2)
    e = zone.compare_extrema(f_path, f_zone, k, 1)
    assert not e.on_path() and e.top_zone == 0.35 and e.bottom_zone == 0.5 and np.all(e.k_top == k[1])
    assert e.ratio_zone < e.ratio_path
    assert zone.compare_extrema(f_path, f_path, k[:2], 1).on_path()


@pytest.mark.slow
def test_symmetric_triangular_design_has_exact_doublets():
    """A random C6v grid design: the E doublets at Γ and K are degenerate to round-off (the sphere is
    invariant under the little group and the map under C6v)."""
    lat = lattice.triangular()
    d = zone.GridDesign(lat, 12)
    pw = grid.PlaneWaveGrid(lat, 12, np.array([lat.k("Γ"), lat.k("K")]))
    lam = np.asarray(iterative.solve(pw, grid.grid_medium(d.eps(np.random.default_rng(3).uniform(size=d.size))), "tm", 4).lam)
    gaps = np.diff(lam, axis=1) / lam[:, -1:]
    assert np.sum(gaps < 1e-10) >= 2 and np.sum(gaps > 1e-3) >= 2  # doublets exact, the rest split


def air_holes(lat, n):
    """MPB's tri-holes crystal: air holes r = 0.45 in ε = 12, smoothed onto the n² grid."""
    return grid.smoothed_medium(12.0 - 11.0 * grid.disk_indicator(lat, n, 0.45, s=4), n, lat)


@pytest.mark.slow
def test_mpb_triangular_air_holes_tm():
    """TM top of band 2 (Γ) and bottom of band 3 (K), the edges of the crystal's TM gap (and of its
    complete gap), within 1e-3 of MPB at resolution 32, at 690 plane waves."""
    lat = lattice.triangular()
    pw = grid.PlaneWaveGrid(lat, 32, np.array([lat.k("Γ"), lat.k("K")]))
    f = np.asarray(iterative.frequencies(iterative.solve(pw, air_holes(lat, 32), "tm", 3).lam))
    ref = MPB["tri_holes"]["tm"]
    assert abs(f[0, 1] / ref["band2_max_Gamma"] - 1) < 1e-3 and abs(f[1, 2] / ref["band3_min_K"] - 1) < 1e-3


@pytest.mark.slow
def test_whole_zone_band_edges_of_the_air_holes_are_on_the_path():
    """TM gap above band 2 over the irreducible zone (6² grid) and over the path Γ–M–K–Γ: same edges."""
    lat = lattice.triangular()
    path = lattice.kpath(lat, 2).k
    kz = zone.zone_grid(lat, 6)
    pw = grid.PlaneWaveGrid(lat, 16, np.concatenate([path, kz]))
    f = np.asarray(iterative.frequencies(iterative.solve(pw, air_holes(lat, 16), "tm", 3).lam))
    e = zone.compare_extrema(f[: len(path)], f[len(path):], kz, 2)
    assert e.on_path(rtol=1e-6) and e.ratio_zone == pytest.approx(e.ratio_path, rel=1e-6) and e.ratio_path > 0.05


@pytest.mark.slow
def test_complete_gap_gradient_matches_central_differences():
    """The complete-gap ratio (TE above band 1, TM above band 2) of a C6v grid design near the air-hole
    crystal, ``jax.grad`` through eigsh's adjoint against central differences along a random
    direction of the orbit variables."""
    import jax

    from eigengrad_photonic import gaps

    lat = lattice.triangular()
    n = 12
    d = zone.GridDesign(lat, n)
    pw = grid.PlaneWaveGrid(lat, n, np.array([lat.k(s) for s in ("Γ", "M", "K")]))
    theta = np.clip(d.project(air_holes(lat, n).eps) + 0.05 * np.random.default_rng(4).standard_normal(d.size), 0, 1)

    def ratio(t):
        return gaps.gap_midgap(pw, grid.grid_medium(d.eps(t)), gaps.COMPLETE_TRIANGULAR)

    value, g = jax.value_and_grad(ratio)(theta)
    assert float(value) > 0  # a complete gap
    dirn = np.random.default_rng(5).standard_normal(d.size)
    h = 1e-4
    fd = (float(ratio(theta + h * dirn)) - float(ratio(theta - h * dirn))) / (2 * h)
    assert float(g @ dirn) == pytest.approx(fd, rel=1e-5)
    with pytest.raises(ValueError, match="gaps"):
        gaps.gap_midgap(pw, grid.grid_medium(d.eps(theta)), (("xy", 1),))


def test_upsample_keeps_each_cell_value_and_rejects_ambiguous_grids():
    """check.upsample: a fine grid point at a coarse grid point lies inside that point's cell, so its
    cell mean is the coarse value exactly; points between cells get a mean between their neighbours."""
    from eigengrad_photonic import check

    lat = lattice.triangular()
    eps = 1 + 11 * np.random.default_rng(0).uniform(size=(4, 4))
    med = check.upsample(eps, lat, 8, s=2)
    fine = np.asarray(med.eps)
    np.testing.assert_allclose(fine[::2, ::2], eps, rtol=1e-12)
    assert np.all((fine >= eps.min() - 1e-12) & (fine <= eps.max() + 1e-12))
    with pytest.raises(ValueError, match="even integer"):
        check.upsample(eps, lat, 6, s=2)
