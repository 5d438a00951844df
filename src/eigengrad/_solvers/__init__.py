"""Framework-neutral iterative solvers, written against the array-API namespace of their inputs plus
one control-flow primitive (``loop.while_loop``). They see operators only as functions on blocks of
column vectors, ``X (n, m) -> A X``; shapes never change inside a loop, so they run under ``jax.jit``
and on any device the framework supports.

- ``lobpcg``: block LOBPCG for the lowest eigenpairs of a Hermitian(-definite) pencil (forward).
- ``krylov``: CG and complex MINRES for blocks of shifted Hermitian systems (Hermitian adjoint, §5a),
  BiCGStab and GMRES for blocks of general systems (bordered non-Hermitian adjoint, §5b).
- ``window``: which computed pairs were asked for; ``report``: faults as errors or warnings.
- ``arpack``: SciPy ARPACK on the host (the forward backend for concrete CPU values); ``confirm``: its
  Hermitian use, checked for missed copies of multiple eigenvalues and the next eigenvalue.
- ``factor``: on the host, an exact sparse factorisation of ``±(A - σB)`` that preconditions the
  adjoint solves where the caller gave no preconditioner.
"""
