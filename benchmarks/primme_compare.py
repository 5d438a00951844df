"""Benchmark: PRIMME against ARPACK on the 2-D well of benchmarks/iterative.py (k = 8 smallest,
tol = 1e-10, float64), in one process, calls interleaved, min of 3:

- SciPy ARPACK: ``scipy.sparse.linalg.eigsh(H, 8, which="SA", tol=1e-10)``;
- raw PRIMME: ``primme.eigsh(H, 8, which="SA", tol=1e-10)`` (its tolerance is relative to its
  estimate of ``||H||``, here ~400x ``|λ|``: a looser test than ARPACK's), and with ARPACK's test
  ``||r|| <= tol |θ|`` as ``convtest`` (the accuracy eigengrad checks);
- eigengrad (torch front end, CSR tensor depending on θ, as ``iterative.py``) with the default
  solver and with ``solver="primme"``: forward alone and value + gradient.

Eigenvalue error: max |λ - λ_ARPACK| / max |λ_ARPACK|. Skips with a message when PRIMME is missing.

    OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 python benchmarks/primme_compare.py [--N 64 128 256]
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from iterative import K, TOL, _torch_calls, case_eg_torch, case_primme, case_scipy, problem  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results", "primme.md")
REPS = 3
GRAD_UP_TO = 128  # N: above, the torch CSR backward densifies H (34 GB at N = 256, issue 10): forward only


def forward_only(prob: str, N: int, **opts) -> dict:
    """The eigengrad call of ``iterative.case_eg_torch`` without the gradient."""
    import torch

    solve, _, _ = _torch_calls(prob, N, **opts)
    t0 = time.perf_counter()
    with torch.no_grad():
        w = solve()[0]
    return dict(fwd=time.perf_counter() - t0, w=w.numpy())


def primme_arpack_test(N: int) -> dict:
    import primme

    H, _, _, _ = problem("well2d", N)
    t0 = time.perf_counter()
    w = primme.eigsh(H, K, which="SA", convtest=lambda theta, v, r: r <= TOL * abs(theta), return_eigenvectors=False)
    return dict(fwd=time.perf_counter() - t0, w=w)


def measure(N: int) -> dict:
    eg = case_eg_torch if N <= GRAD_UP_TO else forward_only
    calls = dict(scipy=lambda: case_scipy("well2d", N), primme=lambda: case_primme("well2d", N),
                 primme_arpack_test=lambda: primme_arpack_test(N),
                 eg=lambda: eg("well2d", N), eg_primme=lambda: eg("well2d", N, solver="primme"))
    runs = {c: [] for c in calls}
    for _ in range(REPS):
        for c, f in calls.items():
            runs[c].append(f())
    ref = runs["scipy"][0]["w"]
    r = {"n": N * N, "load": os.getloadavg()}
    for c, rs in runs.items():
        r[c] = min(x["fwd"] for x in rs)
        if "fwdbwd" in rs[0]:
            r[c + "_bwd"] = min(x["fwdbwd"] for x in rs)
        r[c + "_err"] = float(np.max(np.abs(np.sort(rs[0]["w"]) - ref)) / np.max(np.abs(ref)))
    return r


def _bwd(r: dict, c: str) -> str:
    return f"({r[c + '_bwd']:.3f})" if c + "_bwd" in r else "(—)"


def write(rows: list[dict]) -> None:
    head = (
        "# PRIMME vs ARPACK on the 2-D well (`python benchmarks/primme_compare.py`)\n\n"
        "k = 8 smallest, tol = 1e-10, float64, `problem(\"well2d\", N)` of benchmarks/iterative.py; one process, "
        "calls interleaved, min of 3; OPENBLAS/OMP threads = 1; load: 1/5/15-minute load averages at the row's "
        "end (2 cores shared with other jobs). eigengrad: the torch front end on a CSR tensor (forward alone; "
        "value + gradient in brackets, up to N = 128: above, the torch CSR backward densifies H). err: max |λ - λ_ARPACK| / max |λ_ARPACK|. PRIMME 3.2.3 built from source "
        "against scipy-openblas32. "
        "eigengrad primme: PRIMME with ARPACK's test, then the confirmation run (one pair B-orthogonal to the found "
        "ones, fresh start: missed copies and the gap), then the front end's checks.\n\n"
        "| n | SciPy ARPACK s | raw PRIMME s (err) | raw PRIMME, ARPACK's test s | eigengrad default s | "
        "eigengrad primme s | primme / default | eigengrad primme err | load |\n|---|---|---|---|---|---|---|---|---|\n")
    lines = [
        f"| {r['n']} | {r['scipy']:.3f} | {r['primme']:.3f} ({r['primme_err']:.1e}) | {r['primme_arpack_test']:.3f} | {r['eg']:.3f} "
        f"{_bwd(r, 'eg')} | {r['eg_primme']:.3f} {_bwd(r, 'eg_primme')} | {r['eg_primme'] / r['eg']:.2f} | "
        f"{r['eg_primme_err']:.1e} | {' / '.join(f'{x:.1f}' for x in r['load'])} |\n"
        for r in rows]
    with open(OUT, "w") as f:
        f.write(head + "".join(lines))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--N", type=int, nargs="+", default=[64, 128, 256])
    args = ap.parse_args()
    try:
        import primme  # noqa: F401
    except ImportError:
        print("primme is not installed (pip install primme): nothing to compare, results/primme.md left as is")
        return
    rows = []
    for N in args.N:
        rows.append(measure(N))
        print(rows[-1], flush=True)
    write(rows)


if __name__ == "__main__":
    main()
