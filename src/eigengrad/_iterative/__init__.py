"""The truncated eigensolvers' driver, framework-neutral: typed options (:mod:`.config`) and the
solve, checks and derivative maps (:mod:`.driver`) that ``eigengrad.jax`` and ``eigengrad.torch``
register with their AD systems."""
