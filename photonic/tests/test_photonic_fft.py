"""eigengrad_photonic's matrix-free path (grid + iterative): the FFT operators against their dense
matrices and the empty lattice, eigsh against dense eigh, the MPB rod crystal, and eigsh gradients
against central differences (also at a degenerate band edge)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.linalg

from eigengrad_photonic import bands, geometry, grid, iterative, lattice, operators

# shared/reference/README.md: MPB (meep python/tests/test_mpb.py, resolution 32), rods r = 0.2, ε = 12, TM.
MPB_TOP1_M, MPB_BOT2_X = 0.28094795, 0.41711425


def dense(apply, npw):
    return np.asarray(apply(jnp.eye(npw, dtype=complex)))


def medium_of(pol, lat, n, seed=0):
    """A generic (no symmetry) smoothed medium: a random fine map of ε ∈ [1, 12]."""
    fine = 1 + 11 * np.random.default_rng(seed).uniform(size=(2 * n, 2 * n))
    return grid.smoothed_medium(fine, n, lat)


# Each lattice with each polarisation once across the two tests below (10-15 CPU-s per case).
@pytest.mark.slow
@pytest.mark.parametrize("pol, lat", [("tm", lattice.triangular()), ("te", lattice.square())],
                         ids=["tm-triangular", "te-square"])
def test_eigsh_matches_dense_eigh_of_the_same_operator(lat, pol):
    pw = grid.PlaneWaveGrid(lat, 12, np.array([[0.9, 0.4]]))
    med = medium_of(pol, lat, 12)
    (A, B), _ = iterative._operators(pw.at(0), med, pol)
    Ad = dense(A, pw.npw)
    np.testing.assert_allclose(Ad, np.conj(Ad.T), atol=1e-10 * np.abs(Ad).max())  # Hermitian
    Bd = None if B is None else dense(B, pw.npw)
    ref = scipy.linalg.eigh(Ad, Bd, eigvals_only=True)[:5]
    got = iterative.solve(pw, med, pol, 5)
    np.testing.assert_allclose(np.asarray(got.lam[0]), ref, rtol=1e-8)


@pytest.mark.slow
@pytest.mark.parametrize("pol, lat", [("tm", lattice.square()), ("te", lattice.triangular())],
                         ids=["tm-square", "te-triangular"])
def test_uniform_medium_is_the_empty_lattice(lat, pol):
    """ε = 4 everywhere: λ = |k+G|²/4 at Γ and the zone corners (degenerate clusters of up to 6)."""
    pw = grid.PlaneWaveGrid(lat, 12, np.array([lat.k(s) for s in lat.path[:3]]))
    # extra=8: one window of 13 holds the clusters at once (the default 3 widened it to 14 by steps, one
    # eigsh compilation per width: 27 s instead of 7 s for tm-square at load 7.6)
    b = iterative.solve(pw, grid.grid_medium(jnp.full((12, 12), 4.0)), pol, 5, options=iterative.EigshOptions(extra=8))
    q2 = np.sort(np.sum(pw.q**2, -1) + np.where(pw.mask, 0, np.inf), axis=1)[:, :5]
    np.testing.assert_allclose(np.asarray(b.lam), q2 / 4, atol=1e-9 * q2.max())


@pytest.mark.parametrize("lat", [lattice.square(), lattice.triangular()], ids=["square", "triangular"])
def test_smoothing_is_mpb_tensor_with_the_interface_normal(lat):
    """A cell cut through its centre by a straight interface at any angle:
    ``η = I/ε̄ + (⟨ε⁻¹⟩ − 1/ε̄) n nᵀ`` with ``n`` the interface's normal (within 2° at 16² samples per cell; the first moment over the
    triangular lattice's parallelogram cell was off by up to 23°)."""
    n, s = 2, 16
    u = (np.arange(s * n) + 0.5) / (s * n)
    frac = np.stack(np.meshgrid(u, u, indexing="ij"), -1)
    cart = (frac - np.round(frac)) @ lat.vectors  # offsets from the nearest lattice point, r_00 for its cell
    mean, inv = (1 + 12) / 2, (1 + 1 / 12) / 2
    for angle in np.radians([0, 10, 20, 35, 50, 75, 110]):
        normal = np.array([np.cos(angle), np.sin(angle)])
        med = grid.smoothed_medium(np.where(cart @ normal > 0, 12.0, 1.0), n, lat)
        assert float(med.eps[0, 0]) == pytest.approx(mean)
        P = (np.asarray(med.eta[0, 0]) - np.eye(2) / mean) / (inv - 1 / mean)
        np.testing.assert_allclose(np.linalg.eigvalsh(P), [0, 1], atol=1e-6)  # a projector
        assert normal @ P @ normal > np.cos(np.radians(2)) ** 2


def fine_disk(lat, n, radius, eps_in, s=8):
    """Rods of ``eps_in`` in air on the fine grid of :func:`grid.smoothed_medium`."""
    return 1.0 + (eps_in - 1.0) * grid.disk_indicator(lat, n, radius, s)


@pytest.mark.slow
def test_mpb_rod_crystal_tm_and_the_dense_exact_fourier_model():
    """Top of band 1 at M and bottom of band 2 at X at 716 plane waves on a 32² grid, within 5e-4
    of MPB at its resolution 32 (MPB's own resolution-32 figures of two versions differ by 6e-3);
    and the two discretisations (FFT grid with smoothing; exact pixel Fourier coefficients) agree
    on the rod crystal's three lowest TM bands at modest resolution. One matrix-free solve serves
    both checks (they were two tests solving the same problem)."""
    lat = lattice.square()
    k = np.array([lat.k("M"), lat.k("X")])
    pw = grid.PlaneWaveGrid(lat, 32, k)
    f = np.asarray(iterative.frequencies(iterative.solve(pw, grid.smoothed_medium(fine_disk(lat, 32, 0.2, 12.0), 32, lat),
                                                         "tm", 3).lam))
    assert pw.npw >= 700
    assert abs(f[0, 0] / MPB_TOP1_M - 1) < 5e-4 and abs(f[1, 1] / MPB_BOT2_X - 1) < 5e-4
    ops = operators.BlochOperators(lattice.PlaneWaves(lat, 6), k)
    ref = np.asarray(bands.frequencies(bands.eigenvalues(ops, jnp.asarray(geometry.disk(lat, 48, 0.2, 12.0)), "tm")))[:, :3]
    np.testing.assert_allclose(f, ref, rtol=5e-3)


@pytest.mark.parametrize("pol", ["tm", "te"])
def test_quarter_wave_stack_in_the_plane(pol):
    """Layers ε = 9 on a quarter of the period, wavevector normal to them: both polarisations are the
    1D problem, band edges 2/9 and 4/9 at k = π (interfaces mid-cell: the smoothing at work)."""
    lat = lattice.square()
    n, s = 32, 4
    u = (np.arange(s * n) + 0.5) / (s * n)
    fine = np.where(u[:, None] < 0.25, 9.0, 1.0) * np.ones((1, s * n))
    pw = grid.PlaneWaveGrid(lat, n, np.array([[np.pi, 0.0]]))
    f = np.asarray(iterative.frequencies(iterative.solve(pw, grid.smoothed_medium(fine, n, lat), pol, 2).lam))
    np.testing.assert_allclose(f[0], [2 / 9, 4 / 9], rtol=3e-3)  # 1e-3, 2e-3 at n = 32


@pytest.mark.slow
@pytest.mark.parametrize("pol", ["tm", "te"])
def test_gradient_matches_central_differences(pol):
    """d/dt of band-edge eigenvalues (top of band 1 at M + bottom of band 2 at X) for ε = ε(t) a
    generic smooth family of fine maps; eigsh's adjoint against central differences."""
    lat = lattice.square()
    n = 12
    pw = grid.PlaneWaveGrid(lat, n, np.array([lat.k("M"), lat.k("X")]))
    rng = np.random.default_rng(1)
    base, dirn = 1 + 11 * rng.uniform(size=(2 * n, 2 * n)), rng.standard_normal((2 * n, 2 * n))

    def loss(t):
        b = iterative.solve(pw, grid.smoothed_medium(base + t * dirn, n, lat), pol, 2)
        return b.lam[0, 0] + b.lam[1, 1]

    g = float(jax.grad(loss)(0.0))
    h = 1e-3  # truncation ~5e-6 relative here; below it the eigensolver's round-off dominates (2.0e-5 seen with the driver's operator scaling)
    fd = (float(loss(h)) - float(loss(-h))) / (2 * h)
    assert g == pytest.approx(fd, rel=5e-5)


# The dense exact-Fourier TE path on the rod crystal, bottom of band 1 at X, at large plane-wave counts
# (256² pixel disk, oversampled 4×): 0.40720 (800 plane waves), 0.40808 (1 252), 0.40885 (1 808); the
# fit f = f∞ − c/gmax through the last two (gmax 20, 24) gives f∞ = 0.4127 (0.4122 through gmax 16, 24).
DENSE_TE1_X_LIMIT = 0.4125


@pytest.mark.slow
def test_te_at_x_dense_inverse_rule_converges_to_the_matrix_free_value():
    """The 4 % TE difference at X between the two paths (issue #12) is the dense path's truncation:
    its inverse rule ``[ε]⁻¹`` on a 2-D pixel map converges like ``1/gmax`` for the band-1 X mode,
    whose field crosses the rod interfaces; the smoothed FFT operator is converged to 10⁻³ at 16².
    The dense band rises monotonically towards the matrix-free value, and its extrapolated limit
    (computed at up to 1 808 plane waves, above) agrees with it."""
    lat = lattice.square()
    k = lat.k("X")[None]
    mf = float(iterative.frequencies(iterative.solve(
        grid.PlaneWaveGrid(lat, 16, k), grid.smoothed_medium(fine_disk(lat, 16, 0.2, 12.0), 16, lat), "te", 1).lam)[0, 0])
    eps = jnp.asarray(geometry.disk(lat, 64, 0.2, 12.0))
    dense = [float(bands.frequencies(bands.eigenvalues(operators.BlochOperators(lattice.PlaneWaves(lat, g), k),
                                                       eps, "te"))[0, 0]) for g in (6.0, 12.0)]
    assert dense[0] < dense[1] < mf
    assert mf / dense[0] - 1 > 0.03 and mf / dense[1] - 1 < 0.03  # the reported 4 %, shrinking with 4× the plane waves
    assert abs(mf / DENSE_TE1_X_LIMIT - 1) < 3e-3


@pytest.mark.slow
def test_mpb_rod_crystal_te():
    """TE top of band 1 (M) and bottom of band 2 (X) of the rod crystal within 5e-3 of MPB at
    resolution 32 (tests/data/mpb_band_ranges.json) at 452 plane waves on 24²; measured +4.2e-3 and
    +1.9e-3 (+2.7e-3, +1.7e-3 on 32²)."""
    import json
    import pathlib

    ref = json.loads((pathlib.Path(__file__).parent / "data" / "mpb_band_ranges.json").read_text())["square_rods"]["te"]
    lat = lattice.square()
    pw = grid.PlaneWaveGrid(lat, 24, np.array([lat.k("M"), lat.k("X")]))
    f = np.asarray(iterative.frequencies(iterative.solve(pw, grid.smoothed_medium(fine_disk(lat, 24, 0.2, 12.0), 24, lat),
                                                         "te", 2).lam))
    assert abs(f[0, 0] / ref["band1_max_M"] - 1) < 5e-3 and abs(f[1, 1] / ref["band2_min_X"] - 1) < 5e-3
