"""Exceptions and warnings: each says what happened and what to do."""


class EigengradError(Exception):
    """Base class of eigengrad's errors."""


class GaugeError(EigengradError, ValueError):
    """The loss depends on the gauge (eigenvector phase, or basis inside a degenerate cluster)."""


class GaugeWarning(UserWarning):
    """A gauge-dependent cotangent was seen where the check is set to ``"warn"`` or cannot raise (jit)."""


class DegeneracyWarning(UserWarning):
    """The loss depends on individual eigenvalues inside a degenerate cluster, where they are not
    differentiable: the gradient returned is one generalized (Clarke) gradient."""


class ClusterCutError(EigengradError, ValueError):
    """A degenerate cluster is cut by the k-th computed eigenvalue: its truncated adjoint is singular."""


class ConvergenceError(EigengradError, RuntimeError):
    """An iterative solver (forward or adjoint) did not converge."""


class ConvergenceWarning(UserWarning):
    """An iterative solver did not converge and the caller asked for a warning instead of an error."""


class ConditioningWarning(UserWarning):
    """The problem is (nearly) defective or ill conditioned; derivatives may be inaccurate."""
