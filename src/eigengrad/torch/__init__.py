"""eigengrad for PyTorch: eigenvalue routines whose derivatives (backward, double backward,
forward mode, torch.func) are correct at degeneracy and report gauge-dependent losses."""

from ._eig import eig, eigvals
from ._eigh import eigh, eigvalsh
from ._iterative import EigInfo, eigs, eigsh
from ._svd import svd, svdvals

__all__ = ["EigInfo", "eigs", "eigsh", "eig", "eigh", "eigvals", "eigvalsh", "svd", "svdvals"]
