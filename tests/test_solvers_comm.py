"""The row-reduction seam ``_solvers.comm``: two ranks simulated by two threads, each holding half of
the rows of every block, the reducer summing the two halves' contributions (a thread barrier), and
the operator gathering the full block before its local rows of ``A X``. The solvers must take the
same decisions on both ranks (a diverging control flow would leave a barrier waiting: it times out)
and agree with the single-process run; and without a reducer nothing changes."""

from __future__ import annotations

import threading
from contextlib import nullcontext

import numpy as np
import pytest
import torch

from eigengrad._backend import namespace
from eigengrad._rules.partial import hermitian_adjoint
from eigengrad._solvers import comm
from eigengrad._solvers.krylov import cg
from eigengrad._solvers.krylov_schur import krylov_schur
from eigengrad._solvers.lobpcg import lobpcg

N1 = 14  # 2-D Laplacian on N1 x N1 points (double eigenvalues) plus a diagonal potential
K = 4


def matrix() -> torch.Tensor:
    T = 2 * np.eye(N1) - np.eye(N1, k=1) - np.eye(N1, k=-1)
    M = np.kron(T, np.eye(N1)) + np.kron(np.eye(N1), T)
    x = np.linspace(-1, 1, N1)
    M += np.diag(np.add.outer(x**2, 0.5 * x).ravel())
    return torch.as_tensor(M)


class Ranks:
    """``size`` threads exchanging arrays through shared slots and a barrier."""

    def __init__(self, size: int):
        self.size = size
        self.slots: list = [None] * size
        self.barrier = threading.Barrier(size, timeout=60)
        self.calls = [0] * size

    def gather(self, rank: int, x):
        self.slots[rank] = x
        self.barrier.wait()
        out = list(self.slots)
        self.barrier.wait()
        return out

    def reducer(self, rank: int):
        def allreduce(x):
            self.calls[rank] += 1
            return sum(self.gather(rank, x))
        return allreduce

    def run(self, job):
        """``job(rank, rows)`` on every rank in its own thread; the list of results."""
        n = matrix().shape[0]
        bounds = np.linspace(0, n, self.size + 1).astype(int)
        out: list = [None] * self.size
        errors: list = []

        def target(rank):
            try:
                with comm.reducing(self.reducer(rank)):
                    out[rank] = job(rank, slice(bounds[rank], bounds[rank + 1]))
            except BaseException as e:  # noqa: BLE001 - re-raised in the main thread
                errors.append(e)
                self.barrier.abort()

        threads = [threading.Thread(target=target, args=(r,)) for r in range(self.size)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if errors:
            raise errors[0]
        return out


def local_operator(ranks: Ranks, rank: int, rows: slice):
    M = matrix()
    return lambda X: M[rows] @ torch.cat(ranks.gather(rank, X), dim=0)


def start(m: int) -> torch.Tensor:
    return torch.as_tensor(np.random.default_rng(0).standard_normal((matrix().shape[0], m)))


def test_allreduce_is_identity_without_reducer_and_nests():
    x = torch.ones(3)
    assert comm.allreduce(x) is x
    with comm.reducing(lambda y: 2 * y):
        with comm.reducing(lambda y: 3 * y):
            assert torch.equal(comm.allreduce(x), 3 * x)
        assert torch.equal(comm.allreduce(x), 2 * x)
    assert comm.allreduce(x) is x


def test_reductions_match_their_definitions():
    rng = np.random.default_rng(1)
    a = torch.as_tensor(rng.standard_normal((9, 3)) + 1j * rng.standard_normal((9, 3)))
    b = torch.as_tensor(rng.standard_normal((9, 3)) + 1j * rng.standard_normal((9, 3)))
    xp = namespace(a)
    for ctx in (nullcontext(), comm.reducing(lambda y: y)):
        with ctx:
            assert torch.allclose(comm.inner(xp, a, b), a.conj().T @ b)
            assert torch.allclose(comm.cdot(xp, a, b), (a.conj() * b).sum(0))
            assert torch.allclose(comm.cnorm(xp, a), torch.linalg.vector_norm(a, dim=0))


@pytest.mark.parametrize("solver", ["lobpcg", "krylov_schur", "cg", "hermitian_adjoint"])
def test_two_ranks_agree_with_one_process(solver):
    M = matrix()
    n = M.shape[0]
    X0 = start(K + 2)
    w_ref = np.linalg.eigvalsh(M.numpy())
    shift = float(w_ref[0]) - 1.0  # M - shift I is positive definite for CG
    B = start(2)

    def job(op, X0_, B_):
        if solver == "lobpcg":
            r = lobpcg(op, X0_, K, tol=1e-10, maxiter=300)
            return r.w[:K], r.X[:, :K]
        if solver == "krylov_schur":
            r = krylov_schur(op, X0_[:, :1], K, which="smallest", hermitian=True, tol=1e-10, maxiter=100)
            return r.w[:K], r.X[:, :K]
        if solver == "cg":
            x, res, _ = cg(lambda X: op(X) - shift * X, B_, tol=1e-12, maxiter=500)
            return res, x
        # the Hermitian adjoint (CG on the projected systems) at the exact lowest pairs
        w, V = torch.linalg.eigh(M)
        rows = slice(0, n) if X0_.shape[0] == n else local_rows[threading.current_thread().name]
        a, _, info = hermitian_adjoint(op, w[:K], V[rows, :K], torch.ones(K, dtype=M.dtype), B_[:, :1].repeat(1, K),
                                       tol=1e-12, maxiter=500, rtol=1e-8)
        return info.res, a

    single = job(lambda X: M @ X, X0, B)
    ranks = Ranks(2)
    local_rows: dict = {}

    def ranked(rank, rows):
        local_rows[threading.current_thread().name] = rows
        return job(local_operator(ranks, rank, rows), X0[rows], B[rows])

    parts = ranks.run(ranked)
    assert min(ranks.calls) > 10 and ranks.calls[0] == ranks.calls[1]
    # the small reduced quantities are identical on both ranks
    assert torch.equal(parts[0][0], parts[1][0])
    V = torch.cat([p[1] for p in parts], dim=0)
    if solver in ("lobpcg", "krylov_schur"):
        assert np.allclose(parts[0][0].numpy(), w_ref[:K], rtol=1e-9, atol=0)
        assert np.allclose(single[0].numpy(), w_ref[:K], rtol=1e-9, atol=0)
        res = torch.linalg.vector_norm(M @ V - V * parts[0][0], dim=0) / w_ref[K - 1]
        assert res.max() < 1e-8
        assert torch.allclose(V.T @ V, torch.eye(K, dtype=V.dtype), atol=1e-10)
    else:
        assert parts[0][0].max() <= 1e-12
        assert torch.allclose(V, single[1], rtol=1e-8, atol=1e-10)


def test_counting_reducer_sees_every_reduction_and_changes_nothing():
    M = matrix()
    X0 = start(K + 2)
    plain = lobpcg(lambda X: M @ X, X0, K, tol=1e-10, maxiter=300)
    calls = []
    with comm.reducing(lambda y: calls.append(y.shape) or y):
        counted = lobpcg(lambda X: M @ X, X0, K, tol=1e-10, maxiter=300)
    # per step: residual norms, two projections and two Gram matrices, and the Rayleigh-Ritz matrix
    assert len(calls) >= 6 * int(counted.iters)
    assert all(len(s) <= 2 and max(s) <= 3 * (K + 2) for s in calls)  # only small arrays travel
    assert int(counted.iters) == int(plain.iters)
    assert torch.allclose(counted.w, plain.w, rtol=1e-12, atol=0)
