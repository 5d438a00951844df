"""Check derivatives of your own losses against finite differences, in JAX or PyTorch.

``check_grads(f, args)`` projects ``f``'s output on a random cotangent ``u`` (complex where the output
is), ``s(x) = Re Σ conj(u) f(x)``, and compares along random directions ``d`` (complex where the
input is) three numbers that must agree: the central difference ``(s(x+hd) - s(x-hd)) / 2h``
(Richardson-extrapolated over steps h, h/2, h/4 by default, whose spread estimates the
finite-difference error and widens the tolerance by that much), the reverse-mode value ``⟨∇s, d⟩``, and the forward-mode
value ``Re Σ conj(u) J d``. Reverse and forward mode are also compared with each other at a much
tighter tolerance (they must be transposes of each other, ``⟨u, J d⟩ = ⟨Jᵀ u, d⟩``, to round-off).
``order=2`` repeats the check on the gradient of ``s`` (Hessian-vector products).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np


@dataclass
class GradCheck:
    """What ``check_grads`` measured: per mode, the worst relative error against finite differences."""

    errors: dict[str, float] = field(default_factory=dict)
    transpose_error: float = 0.0

    def __repr__(self) -> str:
        parts = ", ".join(f"{k}={v:.2e}" for k, v in self.errors.items())
        return f"GradCheck({parts}, fwd-vs-rev={self.transpose_error:.2e})"


def _framework(args: Sequence[Any]) -> str:
    for a in args:
        mod = type(a).__module__
        if mod.startswith("torch"):
            return "torch"
        if mod.startswith("jax"):
            return "jax"
    raise TypeError("check_grads: no JAX array or torch.Tensor among the arguments")


class _Adapter:
    """Framework operations check_grads needs, on flat lists of differentiable arguments."""

    def __init__(self, name: str):
        self.name = name
        if name == "jax":
            import jax
            import jax.numpy as jnp

            self.jax, self.np = jax, jnp
        else:
            import torch

            self.torch = torch

    def is_float(self, x) -> bool:
        return np.issubdtype(np.dtype(str(x.dtype).replace("torch.", "")), np.inexact)

    def random_like(self, x, rng):
        shape = tuple(x.shape)
        is_c = "complex" in str(x.dtype)
        r = rng.standard_normal(shape) + (1j * rng.standard_normal(shape) if is_c else 0)
        if self.name == "jax":
            return self.np.asarray(r, dtype=x.dtype)
        return self.torch.as_tensor(r, dtype=x.dtype, device=x.device)

    def leaves(self, out):
        if self.name == "jax":
            return self.jax.tree_util.tree_leaves(out)
        if isinstance(out, (tuple, list)):
            return [y for o in out for y in self.leaves(o)]
        return [out]

    def pair(self, us, ys):
        """``Re Σ conj(u) y`` summed over output leaves."""
        if self.name == "jax":
            return sum(self.np.real(self.np.sum(self.np.conj(u) * y)) for u, y in zip(us, ys))
        t = self.torch
        return sum(t.real(t.sum(t.conj(u) * y)) if y.is_complex() else t.sum(u * y) for u, y in zip(us, ys))

    def grad(self, s, xs):
        """Reverse-mode gradient of scalar ``s`` w.r.t. the list ``xs`` and the pairing it uses."""
        if self.name == "jax":
            return self.jax.grad(lambda *x: s(*x), argnums=tuple(range(len(xs))))(*xs)
        t = self.torch
        try:  # torch.func composes with forward mode (Hessian-vector products) ...
            return t.func.grad(lambda *x: s(*x), argnums=tuple(range(len(xs))))(*xs)
        except RuntimeError as err:  # ... but refuses autograd.Functions without setup_context
            if "setup_context" not in str(err):
                raise
        with t.enable_grad():
            xs = [x.detach().requires_grad_(True) for x in xs]
            return t.autograd.grad(s(*xs), xs, create_graph=True)

    def dot(self, gs, ds) -> float:
        """Directional derivative ``⟨∇s, d⟩`` in the framework's gradient convention."""
        if self.name == "jax":  # JAX: grad is the conjugate of ∂/∂Re + i ∂/∂Im
            return float(sum(self.np.real(self.np.sum(g * d)) for g, d in zip(gs, ds)))
        t = self.torch  # PyTorch: grad is ∂/∂Re + i ∂/∂Im
        return float(sum(t.real(t.sum(t.conj(g) * d)) if g.is_complex() else t.sum(g * d) for g, d in zip(gs, ds)))

    def norm(self, xs) -> float:
        return float(np.sqrt(sum(np.sum(np.abs(_to_numpy(x)) ** 2) for x in xs)))

    def jvp(self, f, xs, ds):
        if self.name == "jax":
            return self.jax.jvp(f, tuple(xs), tuple(ds))[1]
        return self.torch.func.jvp(f, tuple(xs), tuple(ds))[1]

    def value(self, s, xs) -> float:
        val = s(*xs)
        return float(val.detach() if hasattr(val, "detach") else val)


def check_grads(
    f: Callable[..., Any],
    args: Sequence[Any],
    *,
    argnums: Sequence[int] | None = None,
    order: int = 1,
    modes: Sequence[str] = ("fwd", "rev"),
    n_directions: int = 3,
    step: float | None = None,
    richardson: bool = True,
    rtol: float | None = None,
    atol: float = 0.0,
    transpose_rtol: float | None = None,
    seed: int = 0,
) -> GradCheck:
    """Compare forward and reverse derivatives of ``f`` at ``args`` with central differences.

    ``f`` takes arrays (JAX) or tensors (PyTorch) and returns an array or a tuple/pytree of arrays,
    real or complex. Real and imaginary parts of complex inputs are perturbed together along a
    random complex direction. Raises ``AssertionError`` with the numbers when a derivative is off
    by more than ``atol + rtol * scale``, or when any of them is not finite (NaN, inf); ``rtol`` defaults to ``1e-6`` in double precision and
    ``2e-2`` in single. Forward and reverse mode must agree to ``transpose_rtol`` (default
    ``1e3 * eps``; pass about ``eps * κ`` for ill-conditioned problems such as a non-normal ``eig``).
    ``order=2`` checks the derivative of the gradient (Hessian-vector products).
    Use it on losses that pass their matrices through ``(A + A^H)/2`` before a Hermitian routine,
    since a finite-difference step in one entry breaks Hermitian symmetry.

    >>> import jax, jax.numpy as jnp
    >>> jax.config.update("jax_enable_x64", True)
    >>> import eigengrad.jax as ej
    >>> from eigengrad.testing import check_grads
    >>> A = jnp.array([[2.0, 1.0], [1.0, 3.0]])
    >>> r = check_grads(lambda A: ej.eigvalsh((A + A.T) / 2), (A,))
    >>> r.errors["rev"] < 1e-8
    True
    """
    args = list(args)
    ad = _Adapter(_framework(args))
    if order not in (1, 2):
        raise ValueError(f"check_grads: order must be 1 or 2, got {order!r}")
    if not modes or any(m not in ("fwd", "rev") for m in modes):
        raise ValueError(f"check_grads: modes must be a non-empty subset of ('fwd', 'rev'), got {modes!r}")
    if int(n_directions) < 1:
        raise ValueError(f"check_grads: n_directions must be >= 1, got {n_directions!r}")
    floating = [i for i, a in enumerate(args) if hasattr(a, "dtype") and ad.is_float(a)]
    if argnums is None:
        argnums = floating
        if not argnums:
            raise TypeError(
                "check_grads: no floating-point argument to differentiate (dtypes: "
                + ", ".join(str(getattr(a, "dtype", type(a).__name__)) for a in args)
                + "); pass float or complex arrays, e.g. x.astype(float) / x.double()"
            )
    argnums = list(argnums)
    for i in argnums:
        if not 0 <= i < len(args) or i not in floating:
            raise ValueError(f"check_grads: argnums entry {i} is not a floating-point argument of the {len(args)} given")
    dtype_names = [str(args[i].dtype) for i in argnums]
    single = any(("float32" in d) or ("complex64" in d) for d in dtype_names)
    eps = float(np.finfo(np.float32 if single else np.float64).eps)
    rtol = (2e-2 if single else 1e-6) if rtol is None else rtol
    rng = np.random.default_rng(seed)

    def fx(*xs):
        full = list(args)
        for i, x in zip(argnums, xs):
            full[i] = x
        return f(*full)

    xs = [args[i] for i in argnums]
    us = [ad.random_like(y, rng) for y in ad.leaves(fx(*xs))]

    def s(*x):
        return ad.pair(us, ad.leaves(fx(*x)))

    if order == 2:
        def grad_s(*x):
            return ad.grad(s, list(x))

        return check_grads(grad_s, xs, order=1, modes=modes, n_directions=n_directions, step=step,
                           richardson=richardson, rtol=rtol, atol=atol, transpose_rtol=transpose_rtol,
                           seed=seed + 1)
    scale_x = max(1.0, max(float(np.max(np.abs(np.asarray(_to_numpy(x))))) if np.size(_to_numpy(x)) else 0.0 for x in xs))
    h = step if step is not None else (eps ** (1 / 5) if richardson else eps ** (1 / 3)) * scale_x
    result = GradCheck(errors={m: 0.0 for m in modes})
    g = ad.grad(s, xs) if "rev" in modes else None
    for _ in range(n_directions):
        ds = [ad.random_like(x, rng) for x in xs]

        sizes = []

        def central(hh):
            sp = ad.value(s, [x + hh * d for x, d in zip(xs, ds)])
            sm = ad.value(s, [x - hh * d for x, d in zip(xs, ds)])
            sizes.append(max(abs(sp), abs(sm)) / hh)
            return (sp - sm) / (2 * hh)

        if richardson:  # two Richardson steps; their difference estimates the FD error
            d1, d2, d4 = central(h), central(h / 2), central(h / 4)
            coarse, fd = (4 * d2 - d1) / 3, (4 * d4 - d2) / 3
            fd_err = abs(fd - coarse) / 15
        else:
            fd, fd_err = central(h), 0.0
        noise = 100 * eps * max(sizes) + fd_err  # round-off floor of the quotient + its truncation
        got = {}
        if "rev" in modes:
            got["rev"] = ad.dot(g, ds)
        if "fwd" in modes:
            jd = ad.leaves(ad.jvp(fx, xs, ds))
            got["fwd"] = float(ad.pair(us, jd))
        # A directional derivative near 0 by accident (d almost orthogonal to ∇s) is judged against
        # a thousandth of its largest possible size ‖∇s‖‖d‖ rather than against itself.
        ref = 1e-3 * ad.norm(g) * ad.norm(ds) if g is not None else 0.0
        scale = max(abs(fd), *(abs(v) for v in got.values()), ref, 1e-300)
        values = {"finite difference": fd, **{f"{m}-mode derivative": v for m, v in got.items()}}
        bad = [k for k, v in values.items() if not np.isfinite(v)]
        if bad:  # a NaN compares False with every tolerance: fail explicitly
            raise AssertionError(
                "check_grads: non-finite " + ", ".join(f"{k} ({values[k]})" for k in bad)
                + (" (the function is not finite near the point)" if not np.isfinite(fd) else "")
            )
        for m, v in got.items():
            err = abs(v - fd) / max(scale, noise)
            result.errors[m] = max(result.errors[m], err)
            if abs(v - fd) > atol + noise + rtol * scale:
                raise AssertionError(
                    f"check_grads: {m}-mode directional derivative {v:.12g} differs from the finite "
                    f"difference {fd:.12g} (relative error {err:.2e} > rtol {rtol:.1e}; step {h:.1e})"
                )
        if len(got) == 2:
            tscale = max(scale, ad.norm(us) * ad.norm(jd))  # |⟨u, J d⟩| <= ‖u‖ ‖J d‖
            terr = abs(got["fwd"] - got["rev"]) / tscale
            result.transpose_error = max(result.transpose_error, terr)
            if not terr <= (1e3 * eps if transpose_rtol is None else transpose_rtol):  # NaN fails too
                raise AssertionError(
                    f"check_grads: forward ({got['fwd']:.15g}) and reverse ({got['rev']:.15g}) modes "
                    f"are not transposes of each other (relative difference {terr:.2e})"
                )
    return result


def _to_numpy(x) -> np.ndarray:
    if type(x).__module__.startswith("torch"):
        return x.detach().cpu().numpy()
    return np.asarray(x)
