"""A small 2D photonic-crystal band solver and band-gap optimiser built on eigengrad.

Plane waves with exact Fourier coefficients of a pixel permittivity map; TM as the generalized
Hermitian pencil ``diag|k+G|² c = λ [ε] c``, TE with the inverse rule ``(k+G)·(k+G') [ε]⁻¹``;
frequencies in units of ``ω a / 2πc``. Bands and their derivatives come from ``eigengrad.jax.eigh``;
the gap objective's generalized gradients at degenerate and tied band edges from the cluster model
in :mod:`objective`. Needs ``jax.config.update("jax_enable_x64", True)`` (float64).

Modules: :mod:`lattice` (lattices, k-paths, plane-wave sets), :mod:`geometry` (permittivity maps,
designs), :mod:`operators` (TM/TE matrices), :mod:`bands` (eigengrad solves), :mod:`objective`
(gap–midgap ratio, cluster model), :mod:`minnorm` (min-norm generalized gradient),
:mod:`optimize` (the optimiser), :mod:`plotting` (figures).
"""
