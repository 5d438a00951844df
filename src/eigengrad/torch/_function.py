"""What every eigengrad ``autograd.Function`` shares: recording its outputs, and reading plain
values for the gauge and conditioning checks, also behind ``torch.func`` wrappers."""

from __future__ import annotations

import contextlib
import math

import torch

from .. import _report


def save_outputs(ctx, output: tuple[torch.Tensor, ...]) -> None:
    """Keep the outputs for ``backward`` and ``jvp`` (the rules need only them) and pass ``None`` for
    unused output cotangents instead of zero matrices."""
    ctx.set_materialize_grads(False)
    ctx.save_for_backward(*output)
    ctx.save_for_forward(*output)


_ft = torch._C._functorch


def _legacy_batched(t: torch.Tensor) -> bool:
    """A tensor of the legacy vmap (``torch.autograd.functional.jacobian(..., vectorize=True)``,
    ``gradcheck``'s batched-gradient check): it holds one value per batch entry, none can be read."""
    return "Batched" in str(torch._C._dispatch_keys(t)).replace("FuncTorchBatched", "").split("(", 1)[-1]


def _readable(t: torch.Tensor | None) -> torch.Tensor | None:
    """The plain tensor behind ``torch.func`` grad/jvp wrappers; None under ``vmap`` (no single value)."""
    while t is not None and _ft.is_functorch_wrapped_tensor(t):
        if _ft.is_batchedtensor(t):
            return None
        t = _ft.get_unwrapped(t)
    if t is not None and (t.is_meta or _legacy_batched(t)):
        return None
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


def check_tensor(A: object, name: str, routine: str) -> None:
    """``A`` is a dense tensor with values: not a sparse layout, not on the meta device."""
    if not isinstance(A, torch.Tensor):
        raise TypeError(f"{routine}: {name} must be a torch.Tensor, got {type(A).__name__}")
    if A.layout != torch.strided:
        raise TypeError(
            f"{routine}: {name} has layout {A.layout}; the dense routines need a dense (strided) tensor. "
            f"Use {name}.to_dense() for a small matrix, or eigengrad.torch.eigsh / eigs, which take sparse "
            "tensors and operators, for a large one."
        )
    if A.is_meta:
        raise ValueError(
            f"{routine}: {name} is on the meta device (shape only, no values); eigendecompositions need "
            "values. Move it to a real device first."
        )


_BITS = {torch.float64: (torch.int64, 52, 1023), torch.float32: (torch.int32, 23, 127)}


def scale_exponent(amax: torch.Tensor, even: bool = False) -> torch.Tensor:
    """Binary exponent of the plain per-matrix maxima ``amax`` (real), read from their bits and
    clamped so that ``2^±e`` are normal numbers (even if ``even``): ``A 2^-e`` has entries below 2
    in size, and scaling by powers of two is exact."""
    itype, mant, bias = _BITS[amax.dtype]
    e = ((amax.view(itype) >> mant) & (2 * bias + 1)) - bias
    e = e.clamp(-(bias - 24), bias - 24)
    return e - (e & 1) if even else e


def _power_of_two(e: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """``2^e`` exactly, in ``x``'s real precision, shaped to broadcast against ``x``."""
    rdtype = x.real.dtype if x.is_complex() else x.dtype
    itype, mant, bias = _BITS[rdtype]
    f = ((e.to(itype) + bias) << mant).view(rdtype)
    return f.reshape(f.shape + (1,) * (x.ndim - f.ndim))


def scaled(A: torch.Tensor, e: torch.Tensor) -> torch.Tensor:
    """``A 2^-e`` (``e`` per matrix)."""
    return A * _power_of_two(-e, A)


def unscaled(x: torch.Tensor, e: torch.Tensor) -> torch.Tensor:
    """``x 2^e`` (``e`` per matrix of the input, ``x`` an output with one or two more axes)."""
    return x * _power_of_two(e, x)


def check_finite(x: torch.Tensor, routine: str) -> None:
    """Eigen- or singular values that overflow the floating range (inputs near its top) are an error."""
    plain = readable(x)
    if plain is not None:
        with plain_mode():
            if not bool(torch.isfinite(plain[0]).all()):
                raise OverflowError(f"{routine}: the results exceed the largest {x.dtype} number; rescale the input.")


def check_tangent(defect, args: tuple, mode: str, routine: str, values: bool = False) -> None:
    """Forward mode: ``_report.report_forward`` on ``defect(*args)``, the couplings inside clusters
    that a forward rule drops, on the plain values (skipped under ``vmap``)."""
    if mode == "ignore":
        return
    plain = readable(*args)
    if plain is not None:
        with plain_mode():
            _report.report_forward(*(host(x) for x in defect(*plain)), mode, routine, values)
