"""The photonic package works in float64 (as the main suite's conftest sets it)."""

import jax

jax.config.update("jax_enable_x64", True)
