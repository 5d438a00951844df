"""What every eigengrad ``autograd.Function`` shares: recording its outputs, and reading plain
values for the gauge and conditioning checks, also behind ``torch.func`` wrappers."""

from __future__ import annotations

import contextlib
import math

import torch


def save_outputs(ctx, output: tuple[torch.Tensor, ...]) -> None:
    """Keep the outputs for ``backward`` and ``jvp`` (the rules need only them) and pass ``None`` for
    unused output cotangents instead of zero matrices."""
    ctx.set_materialize_grads(False)
    ctx.save_for_backward(*output)
    ctx.save_for_forward(*output)


_ft = torch._C._functorch


def _readable(t: torch.Tensor | None) -> torch.Tensor | None:
    """The plain tensor behind ``torch.func`` grad/jvp wrappers; None under ``vmap`` (no single value)."""
    while t is not None and _ft.is_functorch_wrapped_tensor(t):
        if _ft.is_batchedtensor(t):
            return None
        t = _ft.get_unwrapped(t)
    return t


def readable(*tensors: torch.Tensor | None) -> list | None:
    """The values behind ``tensors`` for the gauge and conditioning checks, or None if one cannot be
    read (under ``vmap``); evaluate them inside :func:`plain_mode`."""
    plain = [_readable(t) for t in tensors]
    return None if any(p is None for p, t in zip(plain, tensors) if t is not None) else plain


@contextlib.contextmanager
def plain_mode():
    """No autograd recording and no functorch dispatch: the checks see plain tensors."""
    with torch.no_grad(), torch._C._DisableFuncTorch():
        yield


def host(t: torch.Tensor):
    return t.detach().cpu().numpy()


def flagged(defect: torch.Tensor, scale: torch.Tensor) -> bool:
    """Whether ``defect`` exceeds the gauge tolerance relative to ``scale`` anywhere, decided on the
    device, so that clean cotangents (the usual case) cost no host transfer of matrices."""
    tol = math.sqrt(torch.finfo(defect.dtype).eps)  # as _report.gauge_tolerance
    worst = defect.amax(dim=(-2, -1)) if defect.ndim > scale.ndim else defect
    return bool((worst > tol * scale).any())


def has_clusters(same: torch.Tensor) -> bool:
    return int(same.sum()) > same.numel() // same.shape[-1]
