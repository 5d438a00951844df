"""Derivatives at an exactly degenerate band edge on the matrix-free path: eigengrad_photonic.window
(the eigsh window as an eigengrad.nonsmooth family), whose projected derivative, read by the
non-smooth layer's own analysis, gives the one-sided derivatives of the doublet (from the whole
cluster) along a perturbation that splits it; and eigsh's adjoint (``jax.grad`` through
``iterative.solve``) for the doublet's mean, which is differentiable there."""

from __future__ import annotations

import numpy as np
import pytest

import jax
import jax.numpy as jnp

from eigengrad import nonsmooth
from eigengrad_photonic import grid, iterative, lattice, optimize, window


@pytest.mark.slow
def test_degenerate_doublet_one_sided_derivatives_and_mean_gradient():
    """TM at M of a C4v rod crystal (every pixel a variable): bands 2 and 3 are an exact doublet.
    eigengrad.nonsmooth's exact directional derivative of ``max λ_3`` (the top of the doublet) and of
    ``-min λ_2`` (its bottom) through the family match one-sided differences, in both directions:
    the doublet splits, so the two sides differ, as the cluster model (not one eigenvector) predicts."""
    lat, n = lattice.square(), 10
    pw = grid.PlaneWaveGrid(lat, n, np.array([lat.k("M")]))
    base = np.asarray(grid.smoothed_medium(1 + 11 * grid.disk_indicator(lat, n, 0.25, s=2), n, lat).eps).ravel()
    fam = window.WindowFamily(pw, lambda t: grid.grid_medium(t.reshape(n, n)), n * n, [("tm", 3)])
    lam0 = fam.eigenvalues(base)[0]
    assert abs(lam0[2] - lam0[1]) < 1e-9 * lam0[1]  # the doublet
    d = np.random.default_rng(3).standard_normal(n * n)
    top = nonsmooth.Objective((nonsmooth.Max(2),), lambda y: (y[0], np.ones(1)), "top of the doublet")
    neg_bottom = nonsmooth.Objective((nonsmooth.Min(1),), lambda y: (-y[0], -np.ones(1)), "-bottom of the doublet")
    h = 1e-4  # eigsh noise on a difference: ~1e-5 absolute at h = 1e-5; curvature: 1e-4 relative at 1e-4
    slopes = {}
    for obj, band, sign in ((top, 2, 1.0), (neg_bottom, 1, -1.0)):
        for s in (1.0, -1.0):
            exact = nonsmooth.directional_derivative(fam, obj, base, s * d)
            fd = sign * (fam.eigenvalues(base + h * s * d)[0, band] - lam0[band]) / h
            assert exact == pytest.approx(fd, rel=1e-3)
            slopes[band, s] = exact
    assert slopes[2, 1.0] + slopes[2, -1.0] > 1e-2 * abs(slopes[2, 1.0])  # a kink: f'(d) + f'(-d) > 0
    # The mean of the doublet is smooth: eigsh's adjoint gives the mean of the two one-sided slopes.
    mean = jax.grad(lambda t: jnp.mean(iterative.solve(pw, grid.grid_medium((base + t * d).reshape(n, n)), "tm", 3).lam[0, 1:3]))
    assert float(mean(0.0)) == pytest.approx((slopes[2, 1.0] - slopes[1, 1.0]) / 2, rel=1e-6)


def test_cluster_method_is_refused_on_the_window_family():
    lat = lattice.square()
    pw = grid.PlaneWaveGrid(lat, 6, np.array([lat.k("M")]))
    fam = window.WindowFamily(pw, lambda t: grid.grid_medium(t.reshape(6, 6)), 36, [("tm", 1)])
    with pytest.raises(ValueError, match="cluster"):
        optimize.maximize_gap(fam, 1, np.full(36, 4.0), method="cluster")
