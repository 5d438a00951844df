"""eigengrad for PyTorch: eigenvalue routines whose derivatives (backward, double backward,
forward mode, torch.func) are correct at degeneracy and report gauge-dependent losses."""

from ._eigh import eigh, eigvalsh

__all__ = ["eigh", "eigvalsh"]
