"""eigengrad_photonic (dense path): validation against MPB and exact 1D results, exact
symmetry-protected degeneracies, derivatives at band touchings, and the band-gap optimiser."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from eigengrad_photonic import bands, family, geometry, lattice, objective, operators, optimize

import eigengrad.nonsmooth as ns
from eigengrad.testing import check_grads

# shared/reference/README.md: MPB (meep python/tests/test_mpb.py, resolution 32), square lattice,
# rods r = 0.2, eps = 12, TM: top of band 1 at M, bottom of band 2 at X.
MPB_TOP1_M, MPB_BOT2_X = 0.28094795, 0.41711425


def freqs(lat, k, eps, pol, gmax):
    ops = operators.BlochOperators(lattice.PlaneWaves(lat, gmax), np.atleast_2d(k))
    return np.asarray(bands.frequencies(bands.eigenvalues(ops, jnp.asarray(eps), pol)))


def test_mpb_square_rods_tm():
    lat = lattice.square()
    eps = geometry.disk(lat, 48, 0.2, 12.0)
    f = freqs(lat, [lat.k("M"), lat.k("X")], eps, "tm", gmax=7)
    top, bot = f[0, 0], f[1, 1]
    assert abs(top / MPB_TOP1_M - 1) < 5e-3 and abs(bot / MPB_BOT2_X - 1) < 5e-3
    ratio, mpb_ratio = 2 * (bot - top) / (bot + top), 2 * (MPB_BOT2_X - MPB_TOP1_M) / (MPB_BOT2_X + MPB_TOP1_M)
    assert abs(ratio / mpb_ratio - 1) < 5e-3


@pytest.mark.parametrize("pol", ["tm", "te"])
def test_quarter_wave_stack(pol):
    """eps = 9 on a quarter of the period: band edges 2/9, 4/9 at k = π; at k = 0 bands 2–3 meet at
    2/3 and 4–5 at 4/3 (the continuum is exactly degenerate; plane waves converge to it)."""
    lat = lattice.chain()
    eps = geometry.layers(4, 0.25, 9.0)  # the pixel map represents the stack exactly
    k = [lat.k("Γ"), lat.k("X")]
    f10, f40 = freqs(lat, k, eps, pol, 10), freqs(lat, k, eps, pol, 40)
    np.testing.assert_allclose(f40[1, :2], [2 / 9, 4 / 9], rtol=2e-6)
    np.testing.assert_allclose(f40[0, 1:5], [2 / 3, 2 / 3, 4 / 3, 4 / 3], rtol=3e-5)
    split = lambda f: np.array([f[0, 2] - f[0, 1], f[0, 4] - f[0, 3]])  # noqa: E731
    assert np.all(split(f40) < split(f10) / 20)  # the touching is approached at the basis' rate


@pytest.mark.parametrize("lat", [lattice.square(), lattice.triangular()], ids=["square", "triangular"])
@pytest.mark.parametrize("pol", ["tm", "te"])
def test_uniform_medium_is_the_empty_lattice(lat, pol):
    """eps = 4 everywhere: f = |k + G| / (2π · 2) exactly, on any lattice and path."""
    kp = lattice.kpath(lat, 4)
    basis = lattice.PlaneWaves(lat, 2.5)
    ops = operators.BlochOperators(basis, kp.k)
    f = np.asarray(bands.frequencies(bands.eigenvalues(ops, jnp.full((8, 8), 4.0), pol)))
    nb = 12
    exact = np.sort(np.linalg.norm(ops.kG(), axis=-1) + np.where(ops.mask, 0, np.inf), axis=1)[:, :nb] / (4 * np.pi)
    np.testing.assert_allclose(f[:, :nb], exact, atol=1e-12)


def test_symmetry_doublets_are_exact():
    """C4v crystal: the E-irrep doublets at M and Γ are degenerate to round-off in the discrete model."""
    lat = lattice.square()
    eps = geometry.disk(lat, 32, 0.2, 12.0)
    f = freqs(lat, [lat.k("M"), lat.k("Γ")], eps, "tm", gmax=5)
    assert abs(f[0, 2] - f[0, 1]) < 1e-12 and abs(f[1, 3] - f[1, 2]) < 1e-12
    assert f[0, 3] - f[0, 2] > 1e-2 and f[1, 2] - f[1, 1] > 1e-3  # and they are isolated clusters


def _touching_setup(n=12, gmax=2.5):
    """TM rods on a coarse grid, wavevectors X and M; bands 2–3 touch exactly at M."""
    lat = lattice.square()
    ops = operators.BlochOperators(lattice.PlaneWaves(lat, gmax), np.array([lat.k("X"), lat.k("M")]))
    eps0 = jnp.asarray(geometry.disk(lat, n, 0.25, 12.0))
    return lat, ops, eps0


def test_cluster_objective_gradient_at_touching_point():
    """Gauge-invariant losses of the exact doublet at M (its mean frequency, and the share of its
    electric energy inside the rod, an eigenvector loss), differentiated with eigengrad against
    finite differences along generic (symmetry-breaking) pixel perturbations."""
    lat, ops, eps0 = _touching_setup()
    lam0, _ = bands.solve(ops, eps0, "tm")
    assert abs(lam0[1, 2] - lam0[1, 1]) < 1e-12 * lam0[1, 2]  # exactly degenerate at the test point
    rod = (eps0 > 6.0).astype(float)
    W = ops.toeplitz(rod)[1]  # ⟨E|rod|E⟩ as a plane-wave matrix at M

    @jax.jit
    def loss(eps):
        lam, V = bands.solve(ops, eps, "tm")
        f = bands.frequencies(lam)
        Vc = V[1][:, 1:3]  # the doublet: a subspace, any basis
        A, B = ops.tm(eps)
        share = jnp.real(jnp.trace(jnp.conj(Vc.T) @ W @ Vc) / jnp.trace(jnp.conj(Vc.T) @ B[1] @ Vc))
        gap = 0.5 * (f[1, 1] + f[1, 2]) - f[0, 0]
        return jnp.stack([gap, share])

    g = jax.jacrev(loss)(eps0)
    assert np.all(np.isfinite(np.asarray(g)))
    check_grads(loss, (eps0,), modes=("rev",), rtol=1e-6)


@pytest.mark.parametrize("pol", ["tm", "te"])
def test_family_vjp_convention(pol):
    """BandFamily's VJP is Σ_k Re tr(Āᴴ ∂A + B̄ᴴ ∂B) (the eigengrad.nonsmooth convention) for complex
    Hermitian cotangents, at a generic wavevector where the matrices are complex."""
    lat = lattice.square()
    design = geometry.Design(lat, 8, symmetric=False)  # no inversion symmetry: complex ε_G
    ops = operators.BlochOperators(lattice.PlaneWaves(lat, 1.5), np.array([[0.7, 0.3], [1.1, 0.2]]))
    fam = family.BandFamily(design, ops, pol)
    rng = np.random.default_rng(0)
    theta, d = rng.uniform(0.2, 0.8, design.size), rng.standard_normal(design.size)
    A, B = fam.matrices(theta)
    herm = lambda X: (X + np.conj(np.swapaxes(X, -1, -2))) / 2  # noqa: E731
    Abar = herm(rng.standard_normal(A.shape) + 1j * rng.standard_normal(A.shape))
    Bbar = None if B is None else herm(rng.standard_normal(B.shape) + 1j * rng.standard_normal(B.shape))
    got = fam.linearize(theta).vjp(Abar[None], None if Bbar is None else Bbar[None])[0] @ d
    h = 1e-5
    (Ap, Bp), (Am, Bm) = fam.matrices(theta + h * d), fam.matrices(theta - h * d)
    fd = np.real(np.sum(np.conj(Abar) * (Ap - Am))) / (2 * h)
    if B is not None:
        fd += np.real(np.sum(np.conj(Bbar) * (Bp - Bm))) / (2 * h)
    assert np.abs(np.imag(A if B is None else B)).max() > 1e-2  # complex: the conjugation matters
    assert got == pytest.approx(fd, rel=1e-7)


def test_nonsmooth_edge_directional_derivatives():
    """At the touching point the edge b = min_k λ_2(k) is the bottom of the M doublet, so -R is not
    differentiable. Through the photonic family, eigengrad.nonsmooth's exact one-sided slopes
    f'(θ; ±d) match one-sided finite differences and differ between +d and -d, and its min-norm
    subgradient gives a descent direction at the certified rate that no random direction beats."""
    lat, ops, eps0 = _touching_setup()
    design = geometry.Design(lat, 12, symmetric=False)  # one variable per pixel: the doublet can split
    theta = (np.asarray(eps0).ravel() - 1.0) / 11.0
    fam = family.BandFamily(design, operators.BlochOperators(ops.basis, np.array([lat.k("M")])), "tm")
    obj = objective.neg_gap_midgap(1)
    f = lambda th: obj(fam.eigenvalues(th))  # noqa: E731

    st = ns.structure(fam, obj, theta, rtol=1e-9)
    assert sorted(len(c.indices) for c in st.clusters) == [1, 2]  # band 1, and the 2–3 doublet

    rng = np.random.default_rng(1)
    d = rng.standard_normal(theta.shape)
    d /= np.linalg.norm(d)
    f0, h = f(theta), 1e-6
    slopes = [ns.directional_derivative(fam, obj, theta, sgn * d, rtol=1e-9) for sgn in (1, -1)]
    for sgn, slope in zip((1, -1), slopes):
        fd = (f(theta + sgn * h * d) - f0) / h
        assert abs(fd - slope) < 1e-5 * max(1.0, abs(fd))
    assert sum(slopes) > 1e-3  # f'(d) + f'(-d) > 0: a kink, no gradient here

    sub = ns.min_norm_subgradient(fam, obj, theta, rtol=1e-9)
    assert sub.stationarity > 0 and abs(sub.certificate) < 1e-6 * sub.stationarity**2
    assert sub.slope == pytest.approx(-sub.stationarity, rel=1e-6)
    fd = (f(theta + h * sub.direction) - f0) / h
    assert fd == pytest.approx(-sub.stationarity, rel=1e-4)
    for _ in range(10):  # no direction descends faster than the min-norm one
        e = rng.standard_normal(theta.size)
        assert ns.directional_derivative(fam, obj, theta, e / np.linalg.norm(e), rtol=1e-9) >= sub.slope * (1 + 1e-9)


@pytest.mark.parametrize("method,iterations", [("steepest", 6), ("cluster", 4)])
def test_short_optimisation_increases_the_gap(method, iterations):
    lat = lattice.square()
    design = geometry.Design(lat, 12)
    ops = operators.BlochOperators(lattice.PlaneWaves(lat, 3), lattice.kpath(lat, 2).k)
    fam = family.BandFamily(design, ops, "tm")
    theta0 = design.random_start(seed=0)
    res = optimize.maximize_gap(fam, 1, theta0, iterations=iterations, method=method)
    R = res.ratio
    assert len(R) >= 3 and "failed" not in res.message
    assert all(b >= a for a, b in zip(R[:-1], R[1:]))  # steps are accepted only if they increase R
    assert R[-1] > R[0] + 0.2
    assert np.all((res.theta >= 0) & (res.theta <= 1))
    f = np.asarray(bands.frequencies(bands.eigenvalues(ops, design.eps(res.theta), "tm")))
    assert objective.gap_midgap(f, 1) == pytest.approx(R[-1], abs=1e-10)  # eigengrad eigh agrees
