"""eigengrad: derivatives of eigenvalue problems that are correct at degeneracy, for JAX
(``eigengrad.jax``) and PyTorch (``eigengrad.torch``). The math lives once in ``eigengrad._rules``;
the front ends only register it. ``eigengrad.testing.check_grads`` checks any loss against finite
differences."""

from . import errors

__version__ = "0.1.0"
__all__ = ["errors", "__version__"]
