"""eigengrad eig/svd against native torch and JAX: forward, and forward + backward of a gauge-invariant
loss, n = 100, 300, 1000 (real float64, CPU, 2 threads). Runs of ours and native alternate, medians
of at least 5 runs, one process. Writes ``benchmarks/results/dense_eig_svd.md``.

Usage: ``python benchmarks/dense_eig_svd.py [--sizes 100 300 1000] [--repeats 5]``.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from pathlib import Path

THREADS = "2"
for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ[var] = THREADS

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

import eigengrad.jax as ej  # noqa: E402
import eigengrad.torch as et  # noqa: E402

jax.config.update("jax_enable_x64", True)
torch.set_num_threads(int(THREADS))

OUT = Path(__file__).parent / "results" / "dense_eig_svd.md"


def torch_cases(A: np.ndarray):
    At = torch.tensor(A)
    C = torch.tensor(np.random.default_rng(1).standard_normal(A.shape))

    def eig_loss(eig):
        def f(A):
            w, V = eig(A)
            return w.real.sum() + (V.abs() ** 2 * C).sum()
        return f

    def svd_loss(svd):
        def f(A):
            U, s, Vh = svd(A)
            return s.sum() + (U.abs() ** 2 * C).sum() + (Vh.abs() ** 2 * C).sum()
        return f

    def backward(loss):
        def run():
            X = At.clone().requires_grad_(True)
            loss(X).backward()
            return X.grad
        return run

    native_svd = lambda A: torch.linalg.svd(A, full_matrices=False)  # noqa: E731
    return {
        ("eig", "forward"): (lambda: torch.linalg.eig(At), lambda: et.eig(At)),
        ("eig", "forward+backward"): (backward(eig_loss(torch.linalg.eig)), backward(eig_loss(et.eig))),
        ("svd", "forward"): (lambda: native_svd(At), lambda: et.svd(At)),
        ("svd", "forward+backward"): (backward(svd_loss(native_svd)), backward(svd_loss(et.svd))),
    }


def jax_cases(A: np.ndarray):
    Aj = jnp.asarray(A)
    C = jnp.asarray(np.random.default_rng(1).standard_normal(A.shape))
    native_eig = lambda A: jax.lax.linalg.eig(A, compute_left_eigenvectors=False,  # noqa: E731
                                              enable_eigvec_derivs=True)
    native_svd = lambda A: jnp.linalg.svd(A, full_matrices=False)  # noqa: E731

    def eig_loss(eig):
        def f(A):
            w, V = eig(A)
            return jnp.sum(w.real) + jnp.sum(jnp.abs(V) ** 2 * C)
        return f

    def svd_loss(svd):
        def f(A):
            U, s, Vh = svd(A)
            return jnp.sum(s) + jnp.sum(jnp.abs(U) ** 2 * C) + jnp.sum(jnp.abs(Vh) ** 2 * C)
        return f

    def compiled(f):
        g = jax.jit(f)
        return lambda: jax.block_until_ready(g(Aj))

    return {
        ("eig", "forward"): (compiled(native_eig), compiled(ej.eig)),
        ("eig", "forward+backward"): (compiled(jax.grad(eig_loss(native_eig))), compiled(jax.grad(eig_loss(ej.eig)))),
        ("svd", "forward"): (compiled(native_svd), compiled(ej.svd)),
        ("svd", "forward+backward"): (compiled(jax.grad(svd_loss(native_svd))), compiled(jax.grad(svd_loss(ej.svd)))),
    }


def timed(f) -> float:
    t = time.perf_counter()
    f()
    return time.perf_counter() - t


def measure(native, ours, repeats: int) -> tuple[float, float, float, float]:
    """``(median native, median ours, min native, min ours)``."""
    native(), ours()  # warm-up (compilation for JAX)
    tn, to = [], []
    for _ in range(repeats):  # alternate, so that load changes hit both alike
        tn.append(timed(native))
        to.append(timed(ours))
    return statistics.median(tn), statistics.median(to), min(tn), min(to)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 300, 1000])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    rows = []
    load_start = os.getloadavg()[0]
    for n in args.sizes:
        A = np.random.default_rng(n).standard_normal((n, n))
        for fw, cases in (("torch", torch_cases(A)), ("jax (jit)", jax_cases(A))):
            for (op, mode), (native, ours) in cases.items():
                tn, to, mn, mo = measure(native, ours, args.repeats)
                rows.append((op, mode, n, fw, tn, to, mn, mo))
                print(f"{op:3s} {mode:17s} n={n:4d} {fw:9s} median native {tn * 1e3:9.2f} ms eigengrad "
                      f"{to * 1e3:9.2f} ms ratio {to / tn:5.2f} | min ratio {mo / mn:5.2f}", flush=True)
    lines = [
        "# Dense eig and SVD: eigengrad against native torch and JAX",
        "",
        f"`python benchmarks/dense_eig_svd.py --repeats {args.repeats}`: real float64 n x n Gaussian matrices, "
        f"CPU ({platform.processor() or platform.machine()}), {THREADS} threads, torch {torch.__version__}, "
        f"jax {jax.__version__}; median wall time of {args.repeats} runs after a warm-up, ours and native "
        "alternating in one process. JAX functions are jitted. Native JAX eig is "
        "`jax.lax.linalg.eig(enable_eigvec_derivs=True)` (`jnp.linalg.eig` refuses eigenvector "
        "derivatives). Losses: eig `Σ Re w + Σ C∘|V|²`; svd `Σ s + Σ C∘|U|² + Σ C∘|Vh|²` "
        "(gauge-invariant; ours with the default gauge='raise' checks). Ratio = eigengrad / native "
        "(1.00 = same speed; target <= 1.05), of medians and of minima. The cores may be shared with "
        f"other jobs (1-minute load average {load_start:.1f} at the start, {os.getloadavg()[0]:.1f} at the "
        "end), which makes medians noisy; the minimum is the less disturbed estimate of the intrinsic "
        "cost.",
        "",
        "| op | mode | n | framework | native median (ms) | eigengrad median (ms) | ratio | native min (ms) "
        "| eigengrad min (ms) | ratio of min |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    lines += [f"| {op} | {mode} | {n} | {fw} | {tn * 1e3:.2f} | {to * 1e3:.2f} | {to / tn:.2f} | "
              f"{mn * 1e3:.2f} | {mo * 1e3:.2f} | {mo / mn:.2f} |"
              for op, mode, n, fw, tn, to, mn, mo in rows]
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text("\n".join(lines) + "\n")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
