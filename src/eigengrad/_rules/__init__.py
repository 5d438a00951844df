"""Framework-neutral derivative rules: pure functions of arrays written against the array-API
namespace of their inputs. The front ends (``eigengrad.jax``, ``eigengrad.torch``) only register
them."""
