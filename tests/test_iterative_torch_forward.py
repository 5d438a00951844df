"""PyTorch eigsh / eigs beyond reverse mode: forward-mode AD (``torch.autograd.forward_ad``) for every
operator form, forward against reverse (transposition), ``torch.func`` (grad, jvp, vmap, and the
clear errors where it cannot work), and batching over leading axes of dense inputs."""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
import torch
import torch.autograd.forward_ad as fwAD

import eigengrad.torch as et
from eigengrad.errors import ConvergenceError, ConvergenceWarning, DegeneracyWarning
from eigengrad.testing import check_grads
from test_iterative_problems import advection_diffusion, grid, laplacian_1d, mass_1d



pytestmark = pytest.mark.usefixtures("torch_float64")

RTOL = 1e-7


def rel(a, b):
    return float((a - b).abs().max() / b.abs().max())


def tangents(fn, primals, dirs):
    """Forward-mode tangents of the outputs of ``fn`` (dual inputs made from ``primals``/``dirs``)."""
    with fwAD.dual_level():
        outs = fn(*[fwAD.make_dual(p, d) for p, d in zip(primals, dirs)])
        return [fwAD.unpack_dual(o).tangent for o in outs]


def observe(w, V):
    """Gauge-invariant outputs: eigenvalues and ``|V|²``."""
    return w, V.abs() ** 2


def dense_window(A, k, B=None):
    w, V = et.eigh(A) if B is None else et.eigh(A, B)
    return w[:k], V[:, :k]


def assert_close(got, ref, rtol=RTOL):
    for g, r in zip(got, ref):
        assert rel(g, r) < rtol, rel(g, r)


def central_difference(f, x, d, h=1e-3):
    """Richardson-extrapolated central difference of the scalar ``f(x)[0]`` along ``d`` (steps h, h/2)."""
    c = [(f(x + s * d)[0] - f(x - s * d)[0]) / (2 * s) for s in (h, h / 2)]
    return (4 * c[1] - c[0]) / 3


def square(n1):
    """``-Δ`` on a symmetric ``n1 × n1`` grid: exactly degenerate pairs ``λ(i,j) = λ(j,i)``."""
    L = laplacian_1d(n1)
    return torch.tensor((sp.kron(L, sp.eye(n1)) + sp.kron(sp.eye(n1), L)).toarray())


def transposition(f, x, dx, seed=0):
    """``⟨u, J dx⟩`` by forward mode and ``⟨Jᵀu, dx⟩`` by reverse mode for a random real cotangent
    ``u`` of each (gauge-invariant) output of ``f``; a closure in ``f`` captures ``x`` as given
    (dual in forward mode, requiring grad in reverse mode)."""
    rng = np.random.default_rng(seed)
    with torch.no_grad():
        outs = f(x)
    us = [torch.tensor(rng.standard_normal(tuple(o.shape)) + (1j * rng.standard_normal(tuple(o.shape))
                                                              if o.is_complex() else 0)) for o in outs]

    def pair(outs):
        return sum((torch.conj(u) * o).real.sum() for u, o in zip(us, outs))

    fwd = float(pair(tangents(f, [x], [dx])))
    xr = x.detach().clone().requires_grad_()
    (g,) = torch.autograd.grad(pair(f(xr)), xr)
    rev = float((torch.conj(g) * dx).real.sum())
    return fwd, rev


# ---------------------------------------------------------------- forward mode, every operator form


def test_function_params_matches_eigh():
    """Real 2D Laplacian + diag(θ) as a closure over dual θ, against the dense eigh JVP."""
    rng = np.random.default_rng(0)
    L = torch.tensor(grid(10).toarray())
    n, k = 100, 4
    theta, dtheta = torch.tensor(0.1 * rng.standard_normal(n)), torch.tensor(rng.standard_normal(n))
    got = tangents(lambda th: observe(*et.eigsh(lambda X: L @ X + th[:, None] * X, k, n=n, params=[th])),
                   [theta], [dtheta])
    ref = tangents(lambda A: observe(*dense_window(A, k)), [L + torch.diag(theta)], [torch.diag(dtheta)])
    assert_close(got, ref)


def test_complex_bloch_dense_and_function():
    """Complex Hermitian Bloch operator: a dual dense matrix, and a closure over a dual potential."""
    rng = np.random.default_rng(1)
    A = torch.tensor(grid(10, phase=(0.7, -1.3)).toarray())
    n, k = 100, 4
    dA = torch.tensor(rng.standard_normal((n, n)) + 1j * rng.standard_normal((n, n)))
    dA = dA + dA.mH
    got = tangents(lambda A: observe(*et.eigsh(A, k)), [A], [dA])
    ref = tangents(lambda A: observe(*dense_window(A, k)), [A], [dA])
    assert_close(got, ref)
    theta, dtheta = torch.zeros(n), torch.tensor(rng.standard_normal(n))
    got = tangents(lambda th: observe(*et.eigsh(lambda X: A @ X + th[:, None] * X, k, n=n, params=[th],
                                                dtype=A.dtype)), [theta], [dtheta])
    ref = tangents(lambda A: observe(*dense_window(A, k)), [A], [torch.diag(dtheta).to(A.dtype)])
    assert_close(got, ref)


def test_generalized_function_A_dense_B():
    """A v = λ B v: A a closure over a dual potential, B a dual dense mass matrix."""
    rng = np.random.default_rng(2)
    n, k = 100, 4
    L = torch.tensor(laplacian_1d(n).toarray())
    B = torch.tensor(mass_1d(n).toarray())
    theta, dtheta = torch.tensor(0.01 * (np.arange(n) - n / 3) ** 2 / n), torch.tensor(rng.standard_normal(n))
    dB = torch.tensor(np.diag(rng.random(n)))
    got = tangents(lambda th, B: observe(*et.eigsh(lambda X: L @ X + th[:, None] * X, k, B=B, n=n, params=[th])),
                   [theta, B], [dtheta, dB])
    ref = tangents(lambda A, B: observe(*dense_window(A, k, B)), [L + torch.diag(theta), B],
                   [torch.diag(dtheta), dB])
    assert_close(got, ref)


def csr_product(M):
    """The product of a CSR matrix as a function of its values (what forward AD can differentiate:
    PyTorch cannot make a sparse tensor dual nor build one from dual values)."""
    crow, col = M.crow_indices(), M.col_indices()
    row = torch.repeat_interleave(torch.arange(M.shape[0]), crow.diff())
    return lambda vals, X: torch.zeros(M.shape[0], X.shape[1], dtype=X.dtype).index_add(0, row, vals[:, None] * X[col])


def test_sparse_csr():
    """CSR: the sparsity pattern with dual values (a closure over them); a sparse A with no tangent
    beside a dual dense B."""
    rng = np.random.default_rng(3)
    D = torch.tensor(grid(10).toarray())
    n, k = 100, 4
    M = D.to_sparse_csr()
    vals = M.values()
    dD = torch.tensor(rng.standard_normal((n, n))) * (D != 0)
    dD = dD + dD.T
    dvals = dD.to_sparse_csr().values()
    prod = csr_product(M)
    got = tangents(lambda v: observe(*et.eigsh(lambda X: prod(v, X), k, n=n, params=[v])), [vals], [dvals])
    ref = tangents(lambda A: observe(*dense_window(A, k)), [D], [dD])
    assert_close(got, ref)

    B = torch.tensor(mass_1d(n).toarray())
    dB = torch.tensor(np.diag(rng.random(n)))
    got = tangents(lambda B: observe(*et.eigsh(M, k, B=B)), [B], [dB])
    ref = tangents(lambda B: observe(*dense_window(D, k, B)), [B], [dB])
    assert_close(got, ref)


class Hamiltonian(torch.nn.Module):
    def __init__(self, L, theta, sparse=True):
        super().__init__()
        self.L = L.to_sparse_csr() if sparse else L
        self.theta = torch.nn.Parameter(theta.clone())

    def forward(self, X):
        return self.L @ X + self.theta[:, None] * X


def test_module():
    """nn.Module: PyTorch's recipe (parameters replaced by dual tensors), and functional_call."""
    rng = np.random.default_rng(4)
    L = torch.tensor(grid(10).toarray())
    n, k = 100, 3
    theta, dtheta = torch.tensor(0.1 * rng.standard_normal(n)), torch.tensor(rng.standard_normal(n))
    ref = tangents(lambda A: observe(*dense_window(A, k)), [L + torch.diag(theta)], [torch.diag(dtheta)])
    H = Hamiltonian(L, theta)
    with fwAD.dual_level():
        del H.theta
        H.theta = fwAD.make_dual(theta, dtheta)
        got = [fwAD.unpack_dual(o).tangent for o in observe(*et.eigsh(H, k, n=n))]
    assert_close(got, ref)

    H = Hamiltonian(L, theta, sparse=False)  # functorch's functional_call refuses CSR attributes
    with fwAD.dual_level():
        ps = {"theta": fwAD.make_dual(theta, dtheta)}
        w, V = et.eigsh(lambda X: torch.func.functional_call(H, ps, (X,)), k, n=n, params=list(ps.values()))
        got = [fwAD.unpack_dual(o).tangent for o in observe(w, V)]
    assert_close(got, ref)


def test_scipy_operator_has_no_tangent():
    """A SciPy A is a constant: the tangents come from a dual B only."""
    rng = np.random.default_rng(5)
    n, k = 100, 4
    A = grid(10)
    B = torch.tensor(mass_1d(n).toarray())
    dB = torch.tensor(np.diag(rng.random(n)))
    got = tangents(lambda B: observe(*et.eigsh(sp.linalg.aslinearoperator(A), k, B=B)), [B], [dB])
    ref = tangents(lambda B: observe(*dense_window(torch.tensor(A.toarray()), k, B)), [B], [dB])
    assert_close(got, ref)


def test_cluster_inside_k():
    """Exact pairs inside the window (clusters (0), (1,2), (3)): the gauge-invariant outputs — the
    cluster's eigenvalue sum and spectral projector — match the dense eigh JVP."""
    rng = np.random.default_rng(6)
    A = square(10)
    n, k = 100, 4
    dA = torch.tensor(rng.standard_normal((n, n)))
    dA = dA + dA.T

    def outputs(w, V):
        Vc = V[:, 1:3]
        return w[0], w[1] + w[2], w[3], Vc @ Vc.mH, V[:, [0, 3]].abs() ** 2

    got = tangents(lambda A: outputs(*et.eigsh(A, k)), [A], [dA])
    ref = tangents(lambda A: outputs(*dense_window(A, k)), [A], [dA])
    assert_close(got, ref)


def test_cut_cluster_gives_nan_and_warns():
    """k = 2 cuts the pair (1, 2): its tangents are NaN with a warning; pair 0 is still exact."""
    rng = np.random.default_rng(7)
    A = square(8)
    dA = torch.tensor(rng.standard_normal((64, 64)))
    dA = dA + dA.T
    with pytest.warns(DegeneracyWarning, match=r"NaN tangents.*\[1\]"):
        dw, dP = tangents(lambda A: observe(*et.eigsh(A, 2)), [A], [dA])
    rw, rP = tangents(lambda A: observe(*dense_window(A, 1)), [A], [dA])
    assert torch.isnan(dw[1]) and torch.isnan(dP[:, 1]).all()
    assert rel(dw[:1], rw) < RTOL and rel(dP[:, :1], rP) < RTOL


def test_tangent_solves_nonconvergence():
    A = torch.tensor(grid(10).toarray())
    dA = torch.eye(100) + torch.diag(torch.ones(99), 1) + torch.diag(torch.ones(99), -1)
    with pytest.raises(ConvergenceError, match="did not converge"):
        tangents(lambda A: et.eigsh(A, 4, adjoint_maxiter=2), [A], [dA])
    with pytest.warns(ConvergenceWarning, match="did not converge"):
        tangents(lambda A: et.eigsh(A, 4, adjoint_maxiter=2, on_failure="warn"), [A], [dA])


def test_directions_along_the_eigenvectors():
    """dA = I (dλ = 1), dA = A (dλ = λ), dB = B (dλ = -λ, dV = -V/2): tangents whose projected
    right-hand sides are rounding noise (or a primal residual) are exact, with no spurious
    ConvergenceError; likewise a reverse-mode loss with v̄ ∝ v (Σ|V|² is constant)."""
    A = torch.tensor(grid(8).toarray())
    B = torch.tensor(mass_1d(64).toarray())
    k = 3
    w, V = et.eigsh(A, k)
    for dA, dw_ref in ((torch.eye(64), torch.ones(k)), (A, w)):
        dw, dV = tangents(lambda A: et.eigsh(A, k), [A], [dA])
        assert rel(dw, dw_ref) < 1e-9 and dV.abs().max() < 1e-9
    wB, VB = et.eigsh(A, k, B=B)
    dw, dV = tangents(lambda B: et.eigsh(A, k, B=B), [B], [B])
    assert rel(dw, -wB) < 1e-9 and rel(dV, -VB / 2) < 1e-8
    Ar = A.clone().requires_grad_()
    w, V = et.eigsh(Ar, k)
    (V.abs() ** 2).sum().backward()
    assert Ar.grad.abs().max() < 1e-12
    An = nonnormal(64)
    dw, dV = tangents(lambda A: et.eigs(A, k), [An], [torch.eye(64)])
    assert (dw - 1).abs().max() < 1e-12 and dV.abs().max() < 1e-12


def test_closure_over_plain_tensors_raises():
    """params dual but the function closes over the plain tensor: an error, not a zero tangent."""
    L = torch.tensor(grid(8).toarray())
    theta = torch.zeros(64)
    with fwAD.dual_level():
        th = fwAD.make_dual(theta, torch.ones(64))
        with pytest.raises(ValueError, match="make_dual"):
            et.eigsh(lambda X: L @ X + theta[:, None] * X, 3, n=64, params=[th])


def test_forward_central_differences_function():
    """Forward mode of a closure against central differences of tight solves."""
    rng = np.random.default_rng(8)
    n, k = 60, 3
    L = torch.tensor(laplacian_1d(n).toarray())
    V0 = torch.tensor(-2.0 * np.exp(-((np.arange(n) - 25.0) / 6) ** 2))
    P = torch.tensor(rng.standard_normal((n, k)))

    def loss(theta):
        w, V = et.eigsh(lambda X: L @ X + (V0 + theta)[:, None] * X, k, n=n, params=[theta], tol=1e-12,
                        adjoint_tol=1e-12)
        return ((w ** 2).sum() + (P * V.abs() ** 2).sum(),)

    theta, d = torch.tensor(0.05 * rng.standard_normal(n)), torch.tensor(rng.standard_normal(n))
    (jv,) = tangents(loss, [theta], [d])
    fd = central_difference(loss, theta, d)
    assert abs(float(jv) - float(fd)) < 1e-7 * abs(float(fd))


# ------------------------------------------------------------ forward against reverse (transposition)


def test_transposition_every_form():
    """⟨u, JVP(dθ)⟩ = ⟨VJP(u), dθ⟩ for dense (real, complex), a closure, an nn.Module, a generalized
    problem with a matrix-free A and a dense B, and a SciPy A with a dense B."""
    rng = np.random.default_rng(9)
    n, k = 64, 3
    L = torch.tensor(grid(8).toarray())
    Lc = torch.tensor(grid(8, phase=(0.7, -1.3)).toarray())
    B = torch.tensor(mass_1d(n).toarray())
    theta, dtheta = torch.tensor(0.1 * rng.standard_normal(n)), torch.tensor(rng.standard_normal(n))
    dS = torch.tensor(rng.standard_normal((n, n)))
    dS = dS + dS.T
    dH = torch.tensor(rng.standard_normal((n, n)) + 1j * rng.standard_normal((n, n)))

    def module(th):
        H = Hamiltonian(L, theta)
        del H.theta
        H.theta = th
        return H

    cases = {
        "dense": (lambda A: observe(*et.eigsh(A, k)), L, dS),
        "dense complex": (lambda A: observe(*et.eigsh(A, k)), Lc, dH),
        "function": (lambda th: observe(*et.eigsh(lambda X: L @ X + th[:, None] * X, k, n=n, params=[th])),
                     theta, dtheta),
        "module": (lambda th: observe(*et.eigsh(module(th), k, n=n, params=[th])), theta, dtheta),
        "generalized": (lambda th: observe(*et.eigsh(lambda X: L @ X + th[:, None] * X, k, B=B + torch.diag(th) / 10,
                                                     n=n, params=[th])), theta, dtheta),
        "scipy A, dense B": (lambda B: observe(*et.eigsh(sp.linalg.aslinearoperator(grid(8)), k, B=B)), B,
                             torch.diag(torch.tensor(rng.random(n)))),
    }
    for name, (f, x, dx) in cases.items():
        fwd, rev = transposition(f, x, dx)
        assert abs(fwd - rev) < 1e-9 * abs(rev), (name, fwd, rev)


def test_check_grads_dense():
    """Dense eigsh through eigengrad.testing.check_grads: torch.func forward and reverse mode against
    central differences, and against each other."""
    rng = np.random.default_rng(10)
    A = torch.tensor(grid(8).toarray())
    B = torch.tensor(mass_1d(64).toarray())
    M = torch.tensor(rng.standard_normal((64, 3)))

    def f(A, B):
        w, V = et.eigsh((A + A.mH) / 2, 3, B=(B + B.mH) / 2, tol=1e-12, adjoint_tol=1e-12)
        return w, (M * V.abs() ** 2).sum(0)

    r = check_grads(f, (A, B), n_directions=2)
    assert r.transpose_error < 1e-12


# ------------------------------------------------------------------------------------- eigs


def nonnormal(n, c=0.3):
    return torch.tensor(advection_diffusion(n, c).toarray())


def test_eigs_forward_matches_dense_eig():
    """Mildly non-normal operator (well-conditioned eigenvalues): against the dense eig JVP."""
    rng = np.random.default_rng(11)
    n, k = 100, 4
    A = nonnormal(n, 0.1)
    dA = torch.tensor(rng.standard_normal((n, n)))
    with fwAD.dual_level():
        w, V = et.eigs(fwAD.make_dual(A, dA), k)
        dw, dP = (fwAD.unpack_dual(o).tangent for o in observe(w, V))
        w = fwAD.unpack_dual(w).primal
    with fwAD.dual_level():
        we, Ve = et.eig(fwAD.make_dual(A, dA))
        idx = torch.tensor([int((fwAD.unpack_dual(we).primal - x).abs().argmin()) for x in w])
        rw, rP = (fwAD.unpack_dual(o).tangent for o in observe(we[idx], Ve[:, idx]))
    assert rel(dw, rw) < RTOL and rel(dP, rP) < RTOL


@pytest.mark.parametrize("method", ["bicgstab", "gmres"])
def test_eigs_transposition(method):
    """Forward against reverse mode for eigenvalues and |v_i|²: real and complex dense A, and a
    closure over a dual potential; both solvers."""
    rng = np.random.default_rng(12)
    n, k = 100, 4
    A = nonnormal(n)
    Ac = A + 0.3j * torch.tensor(rng.standard_normal((n, n))) / n ** 0.5
    kw = dict(adjoint_solver=method, tol=1e-12, adjoint_tol=1e-11)
    theta, dtheta = torch.zeros(n), torch.tensor(rng.standard_normal(n))
    cases = {
        "real": (lambda A: observe(*et.eigs(A, k, **kw)), A, torch.tensor(rng.standard_normal((n, n)))),
        "complex": (lambda A: observe(*et.eigs(A, k, **kw)), Ac,
                    torch.tensor(rng.standard_normal((n, n)) + 1j * rng.standard_normal((n, n)))),
        "function": (lambda th: observe(*et.eigs(lambda X: A @ X + th[:, None] * X, k, n=n, params=[th], **kw)),
                     theta, dtheta),
    }
    for name, (f, x, dx) in cases.items():
        fwd, rev = transposition(f, x, dx)
        assert abs(fwd - rev) < 1e-9 * abs(rev), (name, fwd, rev)


def test_eigs_forward_central_differences():
    rng = np.random.default_rng(13)
    n, k = 100, 3
    A = nonnormal(n) + 0.3j * torch.tensor(rng.standard_normal((n, n))) / n ** 0.5
    dA = torch.tensor(rng.standard_normal((n, n)) + 1j * rng.standard_normal((n, n))) / n
    c = torch.tensor(rng.standard_normal(k) + 1j * rng.standard_normal(k))
    M = torch.tensor(rng.standard_normal((n, k)))

    def loss(A):
        w, V = et.eigs(A, k, tol=1e-12, adjoint_tol=1e-12)
        return ((torch.conj(c) * w).real.sum() + (M * V.abs() ** 2).sum(),)

    (jv,) = tangents(loss, [A], [dA])
    fd = central_difference(loss, A, dA)
    assert abs(float(jv) - float(fd)) < 1e-7 * abs(float(fd))


def test_eigs_forward_nonsimple_nan():
    """Two identical blocks: every eigenvalue is double, its tangents are NaN with a warning."""
    A0 = advection_diffusion(30, 0.1)
    A = torch.tensor(sp.block_diag([A0, A0]).toarray())
    with pytest.warns(DegeneracyWarning, match="simple"):
        dw, dP = tangents(lambda A: observe(*et.eigs(A, 2)), [A], [torch.eye(60)])
    assert torch.isnan(dw).all() and torch.isnan(dP).all()


# ----------------------------------------------------------------------------------- torch.func


def test_torch_func_grad_jvp_vmap():
    rng = np.random.default_rng(14)
    n, k = 64, 3
    A = torch.tensor(grid(8).toarray())
    As = torch.stack([A, A + torch.diag(torch.tensor(rng.standard_normal(n)))])
    M = torch.tensor(rng.standard_normal((n, k)))

    def loss(A):
        w, V = et.eigsh(A, k, tol=1e-12, adjoint_tol=1e-12)
        return w.sum() + (M * V.abs() ** 2).sum()

    Ar = A.clone().requires_grad_()
    (g_ref,) = torch.autograd.grad(loss(Ar), Ar)
    assert rel(torch.func.grad(loss)(A), g_ref) < 1e-10
    d = torch.tensor(rng.standard_normal((n, n)))
    _, jv = torch.func.jvp(loss, (A,), (d,))
    assert abs(float(jv) - float((g_ref * d).sum())) < 1e-9 * abs(float(jv))
    w, V = torch.func.vmap(lambda A: et.eigsh(A, k))(As)
    for i in range(2):
        wi, Vi = et.eigsh(As[i], k)
        assert rel(w[i], wi) < 1e-14 and rel(V[i].abs(), Vi.abs()) < 1e-10
    G = torch.func.grad(lambda As: torch.func.vmap(loss)(As).sum())(As)
    Ar = As[1].clone().requires_grad_()
    (g1,) = torch.autograd.grad(loss(Ar), Ar)
    assert rel(G[1], g1) < 1e-10
    # sparse COO: torch.func.grad (PyTorch's functorch refuses CSR, and jvp of any sparse tensor)
    S = A.to_sparse_coo()
    gS = torch.func.grad(loss)(S)
    assert gS.layout == torch.sparse_coo and rel(gS.to_dense(), g_ref * (A != 0)) < 1e-8
    # eigs
    Ad = nonnormal(n)

    def loss_eigs(A):
        w, V = et.eigs(A, k, adjoint_solver="gmres", tol=1e-12, adjoint_tol=1e-12)
        return w.real.sum() + (M * V.abs() ** 2).sum()

    Ar = Ad.clone().requires_grad_()
    (g_ref,) = torch.autograd.grad(loss_eigs(Ar), Ar)
    assert rel(torch.func.grad(loss_eigs)(Ad), g_ref) < 1e-10
    _, jv = torch.func.jvp(loss_eigs, (Ad,), (d,))
    assert abs(float(jv) - float((g_ref * d).sum())) < 1e-9 * abs(float(jv))


def test_torch_func_unsupported_raise():
    n, k = 64, 3
    A = torch.tensor(grid(8).toarray())
    theta = torch.zeros(n)

    def closure_loss(th):
        return et.eigsh(lambda X: A @ X + th[:, None] * X, k, n=n, params=[th])[0].sum()

    for transform in (lambda: torch.func.grad(closure_loss)(theta),
                      lambda: torch.func.jvp(closure_loss, (theta,), (theta,)),
                      lambda: torch.func.vmap(closure_loss)(torch.zeros(2, n))):
        with pytest.raises(NotImplementedError, match="torch.autograd"):
            transform()
    for transform in (lambda: torch.func.jacrev(lambda A: et.eigsh(A, k)[0])(A),
                      lambda: torch.func.jacfwd(lambda A: et.eigsh(A, k)[0])(A),
                      lambda: torch.func.vmap(torch.func.grad(lambda A: et.eigsh(A, k)[0].sum()))(A[None]),
                      lambda: torch.func.jacrev(lambda A: et.eigs(A, k)[0].real)(nonnormal(n))):
        with pytest.raises(NotImplementedError, match="vmap"):
            transform()


def test_second_derivatives_raise():
    """The adjoint solves are not differentiated: double backward and nested grad raise instead of
    returning a Hessian that treats them as constants."""
    A = torch.tensor(grid(6).toarray())

    def loss(A):
        w, V = et.eigsh(A, 2)
        return w.sum() + (V.abs() ** 2)[:3].sum()

    Ar = A.clone().requires_grad_()
    (g,) = torch.autograd.grad(loss(Ar), Ar, create_graph=True)
    with pytest.raises(NotImplementedError, match="second derivatives"):
        torch.autograd.grad((g * g).sum() + (Ar ** 2).sum(), Ar)
    with pytest.raises(NotImplementedError, match="second derivatives"):
        torch.func.grad(lambda A: (torch.func.grad(loss)(A) ** 2).sum())(A)


# ------------------------------------------------------------------------------------- batching


def test_batched_dense_matches_slices():
    """A (2, 2, n, n) with B (n, n) broadcast: values, info, gradients and forward-mode tangents
    equal those of the slices."""
    rng = np.random.default_rng(15)
    n, k = 64, 3
    A0 = torch.tensor(grid(8).toarray())
    A = A0 + torch.stack([torch.diag(torch.tensor(0.3 * rng.standard_normal(n))) for _ in range(4)]).reshape(2, 2, n, n)
    B = torch.tensor(mass_1d(n).toarray())
    M = torch.tensor(rng.standard_normal((n, k)))
    w, V, info = et.eigsh(A, k, B=B, return_info=True)
    assert w.shape == (2, 2, k) and V.shape == (2, 2, n, k)
    assert info.residuals.shape == (2, 2, k) and info.iterations.shape == (2, 2) and info.gap.shape == (2, 2, k)
    dA = torch.tensor(rng.standard_normal((2, 2, n, n)))
    dA = dA + dA.mT
    Ar = A.clone().requires_grad_()
    wb, Vb = et.eigsh(Ar, k, B=B)
    (wb.sum() + (M * Vb.abs() ** 2).sum()).backward()
    dw, dP = tangents(lambda A: observe(*et.eigsh(A, k, B=B)), [A], [dA])
    for i, j in np.ndindex(2, 2):
        wi, Vi = et.eigsh(A[i, j], k, B=B)
        assert rel(w[i, j], wi) < 1e-14 and rel(V[i, j].abs(), Vi.abs()) < 1e-12
        Ai = A[i, j].clone().requires_grad_()
        wi, Vi = et.eigsh(Ai, k, B=B)
        (wi.sum() + (M * Vi.abs() ** 2).sum()).backward()
        assert rel(Ar.grad[i, j], Ai.grad) < 1e-12
        rw, rP = tangents(lambda A: observe(*et.eigsh(A, k, B=B)), [A[i, j]], [dA[i, j]])
        assert rel(dw[i, j], rw) < 1e-12 and rel(dP[i, j], rP) < 1e-12


def test_batched_eigs():
    n, k = 64, 2
    A = torch.stack([nonnormal(n), nonnormal(n, 0.1)])
    w, V, info = et.eigs(A, k, return_info=True)
    assert w.shape == (2, k) and V.shape == (2, n, k) and info.residuals.shape == (2, k)
    for i in range(2):
        wi, _ = et.eigs(A[i], k)
        assert rel(w[i], wi) < 1e-14
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no NaN tangents, no conditioning warnings
        dw, _ = tangents(lambda A: et.eigs(A, k), [A], [torch.ones_like(A)])
    assert torch.isfinite(dw).all()
