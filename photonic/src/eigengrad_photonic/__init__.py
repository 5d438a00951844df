"""eigengrad-photonic: 2D photonic-crystal band structures and band-gap optimisation on eigengrad.

Frequencies are in units of ``ω a / 2πc``; eigenvalues ``λ = (ωa/c)²``. Needs float64
(``jax.config.update("jax_enable_x64", True)``). Two discretisations of the same Maxwell problems:

* dense (small N, the cross-check): plane waves with exact Fourier coefficients of a pixel map,
  TM pencil ``diag|k+G|² c = λ [ε] c``, TE ``(k+G)·(k+G') [ε]⁻¹``, solved by ``eigengrad.jax.eigh``
  (:mod:`operators`, :mod:`bands`, :mod:`family`, :mod:`optimize`);
* matrix-free (real resolution): the same pencils applied by FFT on the pixel grid in
  ``O(N log N)`` per product, TE with MPB's sub-pixel (effective-tensor) smoothing, solved by
  ``eigengrad.jax.eigsh`` (LOBPCG) with a kinetic-energy preconditioner (:mod:`grid`, :mod:`iterative`);
  symmetric (C4v, C6v) grid designs and whole-zone sampling (:mod:`zone`), single and complete
  (TE + TM) gaps with their gradients (:mod:`gaps`); eigengrad.nonsmooth's optimizer through the
  eigsh window (:mod:`window`); re-evaluation at a finer grid, path and whole zone (:mod:`check`).

Modules: :mod:`lattice` (lattices, k-paths, plane-wave sets), :mod:`geometry` (permittivity maps,
designs), :mod:`objective` (gap–midgap ratio), :mod:`plotting` (figures), :mod:`demo` (``make demo``).
"""
