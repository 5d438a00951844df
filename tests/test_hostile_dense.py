"""Hostile input to the dense routines (eigh, eigvalsh, eig, eigvals, svd, svdvals) and check_grads,
on both front ends: every argument's invalid values, shapes, dtypes, devices, layouts, scales and
non-finite entries. Each call must end in one of three ways: a correct result (checked against
NumPy/SciPy, eigenpairs finite, normalised, with small residuals), a specific error naming the
argument, or a documented warning. Inputs are never mutated. Also the regressions of issue 11."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import scipy.linalg

from eigengrad.errors import DegeneracyWarning, GaugeError, GaugeWarning
from eigengrad.testing import check_grads
from frameworks import random_hermitian, random_spd

ROUTINES = ("eigh", "eigvalsh", "eig", "eigvals", "svd", "svdvals")
SQUARE = ("eigh", "eigvalsh", "eig", "eigvals")
RNG = np.random.default_rng(11)
G3 = RNG.standard_normal((3, 3))
S3 = G3 + G3.T
B3 = G3 @ G3.T + np.eye(3)
G34 = RNG.standard_normal((3, 4))


def matrix_for(routine: str) -> np.ndarray:
    return {"eigh": S3, "eigvalsh": S3, "svd": G34, "svdvals": G34}.get(routine, G3)


def run(fw, routine, *args, **kw):
    return getattr(fw.eg, routine)(*args, **kw)


def snapshot(fw, *xs):
    return [np.array(fw.numpy(x), copy=True) for x in xs]


def assert_unchanged(fw, xs, copies):
    for x, c in zip(xs, copies):
        np.testing.assert_array_equal(fw.numpy(x), c)


def check_result(routine: str, A: np.ndarray, out, B: np.ndarray | None = None, rtol: float = 1e-12):
    """A returned result is finite and right: values against NumPy/SciPy, vectors normalised
    (``V^H B V = I``, ``U^H U = I``) with residuals within ``rtol`` of the scale."""
    out = [np.asarray(o) for o in (out if isinstance(out, tuple) else (out,))]
    assert all(np.all(np.isfinite(o)) for o in out), f"{routine}: non-finite output"
    sc = np.max(np.abs(A))  # residuals of A / sc, which cannot overflow
    if routine in ("eigh", "eigvalsh"):
        ref = scipy.linalg.eigh(A, B, eigvals_only=True)
        np.testing.assert_allclose(out[0], ref, rtol=0, atol=10 * rtol * np.max(np.abs(ref)))
        if routine == "eigh":
            w, V = out
            Bm = np.eye(len(w)) if B is None else B
            np.testing.assert_allclose(V.conj().T @ Bm @ V, np.eye(len(w)), atol=1e-12)
            R = (A / sc) @ V - Bm @ V * (w / sc)
            assert np.max(np.abs(R)) <= 100 * rtol * max(1.0, np.max(np.abs(Bm))) * np.max(np.abs(V))
    elif routine in ("eig", "eigvals"):
        ref = np.sort_complex(np.linalg.eigvals(A))
        np.testing.assert_allclose(np.sort_complex(out[0]), ref, rtol=0, atol=1e3 * rtol * sc)
        if routine == "eig":
            w, V = out
            np.testing.assert_allclose(np.linalg.norm(V, axis=0), 1.0, atol=1e-12)
            assert np.max(np.abs((A / sc) @ V - V * (w / sc))) <= 1e3 * rtol
    else:
        ref = np.linalg.svd(A, compute_uv=False)
        s = out[1] if routine == "svd" else out[0]
        np.testing.assert_allclose(s, ref, rtol=0, atol=10 * rtol * ref[0])
        if routine == "svd":
            U, s, Vh = out
            k = len(s)
            np.testing.assert_allclose(U.conj().T @ U, np.eye(k), atol=1e-12)
            np.testing.assert_allclose(Vh @ Vh.conj().T, np.eye(k), atol=1e-12)
            assert np.max(np.abs((U * (s / sc)) @ Vh - A / sc)) <= 100 * rtol


# --------------------------------------------------------------------------------------------- A


@pytest.mark.parametrize("routine", ROUTINES)
def test_shapes_rejected_naming_A(fw, routine):
    with pytest.raises(ValueError, match="A must have at least 2 dimensions"):
        run(fw, routine, fw.asarray(np.ones(3)))
    with pytest.raises(ValueError, match="A must have at least 2 dimensions"):
        run(fw, routine, fw.asarray(np.float64(1.0)))
    if routine in SQUARE:
        with pytest.raises(ValueError, match="A must be square"):
            run(fw, routine, fw.asarray(G34))


@pytest.mark.parametrize("routine", ROUTINES)
def test_dtypes_rejected_naming_A(fw, routine):
    ints = np.array([[2, 1], [1, 2]])
    for bad in (ints, ints.astype(bool), ints.astype(np.int32)):
        with pytest.raises(TypeError, match=r"A has dtype \w+: it is not a floating-point type"):
            run(fw, routine, fw.asarray(bad))
    halves = ("bfloat16", "float16")
    for half in halves:
        x = fw.xp.asarray(fw.asarray(ints.astype(float)), dtype=getattr(fw.xp, half))
        with pytest.raises(TypeError, match=f"A has dtype {half}: half precision is not supported"):
            run(fw, routine, x)


@pytest.mark.parametrize("routine", ROUTINES)
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_entries_rejected(fw, routine, bad):
    A = matrix_for(routine).copy()
    A[1, 2] = bad
    if routine in ("eigh", "eigvalsh"):
        A[2, 1] = bad
    x = fw.asarray(A)
    with pytest.raises(ValueError, match=r"A has non-finite entries \(first at index \(1, 2\)\)"):
        run(fw, routine, x)
    np.testing.assert_array_equal(fw.numpy(x), A)


@pytest.mark.parametrize("routine", ROUTINES)
def test_sparse_and_foreign_inputs_rejected(fw, routine):
    A = matrix_for(routine)
    if fw.name == "jax":
        import scipy.sparse
        from jax.experimental import sparse as jsparse

        for sp in (jsparse.BCOO.fromdense(fw.asarray(A)), scipy.sparse.csr_matrix(A)):
            with pytest.raises(TypeError, match=r"A is a sparse matrix .*eigsh"):
                run(fw, routine, sp)
        with pytest.raises(TypeError, match="A is None"):
            run(fw, routine, None)
        with pytest.raises(TypeError, match=r"A \(str\) cannot be read as an array"):
            run(fw, routine, "matrix")
    else:
        torch = fw.torch
        t = fw.asarray(A)
        for sp in (t.to_sparse(), t.to_sparse_csr()):
            with pytest.raises(TypeError, match=r"A has layout torch.sparse_\w+.*to_dense\(\).*eigsh"):
                run(fw, routine, sp)
        with pytest.raises(ValueError, match="A is on the meta device"):
            run(fw, routine, t.to("meta"))
        with pytest.raises(TypeError, match="A must be a torch.Tensor, got ndarray"):
            run(fw, routine, A)
        assert t.layout == torch.strided


@pytest.mark.parametrize("routine", ROUTINES)
def test_options_validated(fw, routine):
    A = fw.asarray(matrix_for(routine))
    with pytest.raises(ValueError, match="gauge must be one of"):
        run(fw, routine, A, gauge="loud")
    for rtol in (-1.0, np.nan, np.inf, "tight"):
        with pytest.raises(ValueError, match="cluster_rtol must be a finite number >= 0"):
            run(fw, routine, A, cluster_rtol=rtol)
    if routine == "eig":
        with pytest.raises(TypeError, match="left must be True or False, got 'yes'"):
            run(fw, routine, A, left="yes")
    if routine == "svd":
        with pytest.raises(ValueError, match="full_matrices=True is not supported"):
            run(fw, routine, A, full_matrices=True)
        with pytest.raises(TypeError, match="full_matrices must be True or False"):
            run(fw, routine, A, full_matrices="no")


# ------------------------------------------------------------------------------ eigh: A and B


@pytest.mark.parametrize("routine", ("eigh", "eigvalsh"))
def test_eigh_hermitian_and_pencil_errors(fw, routine):
    A, B = fw.asarray(S3), fw.asarray(B3)
    copies = snapshot(fw, A, B)
    with pytest.raises(ValueError, match=r"A is not Hermitian.*use eig for a general matrix"):
        run(fw, routine, fw.asarray(G3))
    with pytest.raises(ValueError, match="B is not Hermitian"):
        run(fw, routine, A, fw.asarray(G3))
    with pytest.raises(ValueError, match="B is not positive definite"):
        run(fw, routine, A, fw.asarray(-B3))
    with pytest.raises(ValueError, match="B is not positive definite"):
        run(fw, routine, A, fw.asarray(np.diag([1.0, 1.0, 0.0])))
    with pytest.raises(ValueError, match="A and B must have the same matrix size"):
        run(fw, routine, A, fw.asarray(np.eye(4)))
    with pytest.raises(ValueError, match="do not broadcast"):
        run(fw, routine, fw.asarray(np.stack([S3] * 2)), fw.asarray(np.stack([B3] * 3)))
    bad = B3.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="B has non-finite entries"):
        run(fw, routine, A, fw.asarray(bad))
    with pytest.raises(ValueError, match="B must be square"):
        run(fw, routine, A, fw.asarray(G34))
    assert_unchanged(fw, (A, B), copies)


def test_eigh_pencil_promotes_and_broadcasts(fw):
    rng = np.random.default_rng(101)
    A = fw.asarray(np.stack([S3, 2 * S3]).astype(np.float32))
    B = fw.asarray(random_spd(rng, 3, complex_=True))
    w, V = fw.eg.eigh(A, B)
    assert "complex128" in str(V.dtype) and tuple(w.shape) == (2, 3)
    for b in range(2):
        check_result("eigh", fw.numpy(A)[b].astype(np.complex128), (fw.numpy(w)[b], fw.numpy(V)[b]),
                     fw.numpy(B), rtol=1e-6)


# -------------------------------------------------------------------------------------- scales

SCALES = (1e-300, 1e-150, 2.0**-200, 1e150, 1e300)


@pytest.mark.parametrize("routine", ROUTINES)
@pytest.mark.parametrize("scale", SCALES)
def test_scales_exact(fw, routine, scale):
    """Homogeneous routines at any representable scale: exact (power-of-two rescaling)."""
    A = scale * matrix_for(routine)
    x = fw.asarray(A)
    check_result(routine, A, tuple(fw.numpy(o) for o in _tuple(run(fw, routine, x))))
    np.testing.assert_array_equal(fw.numpy(x), A)


@pytest.mark.parametrize("scales", [(1e-300, 1.0), (1e300, 1.0), (1e-150, 1e150), (1e150, 1e-150), (1e-300, 1e-300)])
def test_pencil_scales_exact(fw, scales):
    A, B = scales[0] * S3, scales[1] * B3
    w, V = fw.eg.eigh(fw.asarray(A), fw.asarray(B))
    check_result("eigh", A, (fw.numpy(w), fw.numpy(V)), B)


def test_near_overflow(fw):
    """Entries near the top of the range: ``(A + A^H)/2`` would overflow without rescaling; eigenvalues
    beyond the range are an OverflowError, never inf or NaN."""
    rng = np.random.default_rng(102)
    Q = np.linalg.qr(rng.standard_normal((3, 3)))[0]
    A = 1.5e308 * ((Q * [1.0, 0.99, 0.98]) @ Q.T)
    A = np.triu(A) + np.triu(A, 1).T
    assert np.max(np.abs(A)) > np.finfo(float).max / 2
    for routine in ("eigh", "eigvalsh"):
        check_result(routine, A, tuple(fw.numpy(o) for o in _tuple(run(fw, routine, fw.asarray(A)))))
    G = 1e308 * G3 / np.max(np.abs(G3))
    for routine in ("svdvals", "eigvals"):
        got = fw.numpy(run(fw, routine, fw.asarray(G / 8)))
        assert np.all(np.isfinite(got))
    with pytest.raises(OverflowError, match="exceed the largest"):
        fw.eg.eigvalsh(fw.asarray(np.full((3, 3), 1.5e308)))


def test_jax_scaling_under_jit():
    import jax
    import jax.numpy as jnp

    import eigengrad.jax as ej

    A = 1e150 * G3
    w = jax.jit(ej.eigvals)(jnp.asarray(A))
    np.testing.assert_allclose(np.sort_complex(np.asarray(w)) / 1e150, np.sort_complex(np.linalg.eigvals(G3)),
                               atol=1e-12)
    w = jax.jit(lambda A, B: ej.eigvalsh(A, B))(jnp.asarray(1e-150 * S3), jnp.asarray(1e150 * B3))
    np.testing.assert_allclose(np.asarray(w) / 1e-300, scipy.linalg.eigh(S3, B3, eigvals_only=True), rtol=1e-12)


def test_gradients_at_tiny_scale(fw):
    """Derivatives of the rescaled routines: ∂λ/∂A is scale-free, ∂s/∂A too."""
    for routine, A in (("eigvalsh", S3), ("svdvals", G34), ("eigvals", G3)):
        def loss(x, routine=routine):  # |λ| of eig: independent of LAPACK's order
            out = run(fw, routine, x)
            return fw.xp.sum(fw.xp.abs(out) * (1.0 if routine == "eigvals" else fw.asarray(np.arange(1.0, 4.0))))
        g1 = fw.grad(loss, fw.asarray(A))
        g2 = fw.grad(loss, fw.asarray(1e-300 * A))
        np.testing.assert_allclose(g2, g1, atol=1e-10)


def _tuple(out):
    return out if isinstance(out, tuple) else (out,)


# -------------------------------------------------------------------------------------- empty


@pytest.mark.parametrize("routine", ROUTINES)
def test_empty_inputs_forward_and_backward(fw, routine):
    shapes = [(0, 0), (2, 0, 0), (0, 3, 3)] + ([(3, 0, 4), (3, 4, 0)] if routine.startswith("svd") else [])
    for shape in shapes:
        A = np.zeros(shape)
        out = _tuple(run(fw, routine, fw.asarray(A)))
        ref = {"eigh": lambda: np.linalg.eigh(A), "eigvalsh": lambda: (np.linalg.eigvalsh(A),),
               "eig": lambda: np.linalg.eig(A), "eigvals": lambda: (np.linalg.eigvals(A),),
               "svd": lambda: np.linalg.svd(A, full_matrices=False),
               "svdvals": lambda: (np.linalg.svd(A, compute_uv=False),)}[routine]()
        assert [tuple(o.shape) for o in out] == [r.shape for r in ref]

        def loss(x):
            return sum(fw.xp.sum(fw.xp.abs(o)) for o in _tuple(run(fw, routine, x)))

        assert fw.grad(loss, fw.asarray(A)).shape == shape


def test_empty_pencil_backward(fw):
    A = fw.asarray(np.zeros((2, 0, 0)))
    g = fw.grad(lambda a, b: fw.xp.sum(fw.eg.eigh(a, b)[0]), A, A, argnums=(0, 1))
    assert [x.shape for x in g] == [(2, 0, 0), (2, 0, 0)]


# ------------------------------------------------------------------------------ never mutated


def test_inputs_never_mutated_through_derivatives(fw):
    A, B, G, R = fw.asarray(S3), fw.asarray(B3), fw.asarray(G3), fw.asarray(G34)
    copies = snapshot(fw, A, B, G, R)
    xp = fw.xp
    fw.grad(lambda a, b: xp.sum(fw.eg.eigh(a, b)[0] ** 2) + xp.sum(xp.abs(fw.eg.eigh(a, b)[1]) ** 2), A, B,
            argnums=(0, 1))
    fw.grad(lambda a: xp.sum(xp.abs(fw.eg.eig(a)[1]) ** 2) + xp.sum(xp.real(fw.eg.eigvals(a))), G)
    fw.grad(lambda a: xp.sum(fw.eg.svdvals(a)) + xp.sum(xp.abs(fw.eg.svd(a)[0]) ** 2), R)
    assert_unchanged(fw, (A, B, G, R), copies)


# ----------------------------------------------------------------------------------- check_grads


def test_check_grads_fails_on_non_finite(fw):
    xp = fw.xp
    x = fw.asarray(np.array([1.0, 2.0]))
    with pytest.raises(AssertionError, match="non-finite"):
        check_grads(lambda x: xp.sum(xp.sqrt(-x)), (x,))
    with pytest.raises(AssertionError, match="non-finite"):  # finite values, infinite derivative at 0
        check_grads(lambda x: xp.sum(xp.sqrt(xp.abs(x))), (fw.asarray(np.array([0.0, 1.0])),), modes=("rev",),
                    step=1e-3)
    check_grads(lambda x: xp.sum(xp.sin(x)), (x,))  # and still passes a smooth function


def test_check_grads_arguments(fw):
    with pytest.raises(TypeError, match="no floating-point argument"):
        check_grads(lambda x: x * 2.0, (fw.asarray(np.array([1, 2])),))
    x = fw.asarray(np.array([1.0, 2.0]))
    with pytest.raises(ValueError, match="argnums entry 1"):
        check_grads(lambda x, n: x * n, (x, fw.asarray(np.array([1, 2]))), argnums=(1,))
    with pytest.raises(ValueError, match="order must be 1 or 2"):
        check_grads(lambda x: x, (x,), order=3)
    with pytest.raises(ValueError, match="modes must be"):
        check_grads(lambda x: x, (x,), modes=("backward",))
    with pytest.raises(TypeError, match="no JAX array or torch.Tensor"):
        check_grads(lambda x: x, (np.ones(2),))


# ------------------------------------------------------------------------ regressions (issue 11)


def test_torch_batched_gradients():
    """Legacy-vmap batched tensors (``jacobian(vectorize=True)``, gradcheck's batched-grad check):
    the gauge checks step aside instead of calling ``bool()`` on them."""
    import torch

    import eigengrad.torch as et

    X = torch.as_tensor(G3)
    losses = {
        "svdvals": et.svdvals,
        "eigh": lambda A: et.eigh(A + A.T)[1] ** 2,
        "eig": lambda A: et.eig(A)[1].abs(),
        "eigvals": lambda A: et.eigvals(A).abs(),
        "svd": lambda A: et.svd(A)[0] ** 2,
    }
    for name, f in losses.items():
        J = torch.autograd.functional.jacobian(f, X, vectorize=True)
        np.testing.assert_allclose(J.numpy(), torch.autograd.functional.jacobian(f, X).numpy(), atol=1e-12,
                                   err_msg=name)
    assert torch.autograd.gradcheck(losses["eigh"], (X.clone().requires_grad_(),), check_batched_grad=True)


def test_forward_mode_close_pair_warns(fw):
    """A tangent coupling a resolved close pair inside a cluster: the forward rule drops it, and says so."""
    rng = np.random.default_rng(103)
    A = np.diag([1.0, 1.0 + 1e-10, 2.0])
    dA = np.zeros((3, 3))
    dA[0, 1] = dA[1, 0] = 1e-12
    with pytest.warns(GaugeWarning, match=r"forward mode.*couples members of a degenerate cluster"):
        t = _jvp(fw, lambda a: fw.eg.eigh(a)[1][:, 0], A, dA)
    np.testing.assert_array_equal(t, 0.0)  # the documented (cluster) tangent; the true one is [0, -0.01, 0]
    with warnings.catch_warnings():  # with a smaller cluster tolerance, exact
        warnings.simplefilter("error", GaugeWarning)
        t = _jvp(fw, lambda a: fw.eg.eigh(a, cluster_rtol=1e-12)[1][:, 0], A, dA)
    np.testing.assert_allclose(np.abs(t), [0.0, 0.01, 0.0], atol=1e-6)
    with warnings.catch_warnings():
        warnings.simplefilter("error", GaugeWarning)
        _jvp(fw, lambda a: fw.eg.eigh(a, gauge="ignore")[1][:, 0], A, dA)

    U = np.linalg.qr(rng.standard_normal((29, 29)))[0]
    V = np.linalg.qr(rng.standard_normal((53, 29)))[0]
    s = np.concatenate([[36.920, 36.909], np.linspace(30.0, 1.0, 27)])
    M = ((U * s) @ V.T).astype(np.float32)
    dM = rng.standard_normal((29, 53)).astype(np.float32)
    with pytest.warns(GaugeWarning, match="svd"):
        _jvp(fw, lambda a: (lambda U, s, Vh: (U * s[None, :]) @ Vh)(*fw.eg.svd(a)), M, dM)


def _jvp(fw, f, x, dx):
    if fw.name == "jax":
        return np.asarray(fw.jax.jvp(f, (fw.asarray(x),), (fw.asarray(dx),))[1])
    return fw.torch.func.jvp(f, (fw.asarray(x),), (fw.asarray(dx),))[1].numpy()


@pytest.mark.slow  # JAX compilation of second-order or strict-mode graphs: 7-25 s on a loaded 2-core box
def test_forward_mode_silent_at_exact_degeneracy_for_cluster_functions(fw):
    """Hessian-vector products (forward over reverse) of a cluster sum at an exact double eigenvalue:
    exact, and no warning."""
    rng = np.random.default_rng(104)
    A0 = (lambda Q: (Q * [1.0, 1.0, 2.0, 3.0]) @ Q.T)(np.linalg.qr(rng.standard_normal((4, 4)))[0])
    with warnings.catch_warnings():
        warnings.simplefilter("error", GaugeWarning)
        warnings.simplefilter("error", DegeneracyWarning)
        check_grads(lambda a: fw.xp.sum(fw.eg.eigvalsh(fw.herm(a))[:2]), (fw.asarray(A0),), order=2)


@pytest.mark.slow  # JAX compilation of second-order or strict-mode graphs: 7-25 s on a loaded 2-core box
def test_pencil_hessian_of_cluster_sum_wrt_B(fw):
    """Second derivatives of w0 + w1 of eigvalsh(A, B) at an exact double eigenvalue, with respect to
    B (and A, and both with unequal weights outside the cluster), in forward and reverse mode."""
    rng = np.random.default_rng(1)
    M = rng.standard_normal((4, 4)) + 2 * np.eye(4)
    A = M @ np.diag([1.0, 1.0, 2.0, 3.0]) @ M.T
    B = M @ M.T
    A, B = fw.asarray((A + A.T) / 2), fw.asarray((B + B.T) / 2)
    weights = fw.asarray(np.array([1.0, 1.0, 2.0, 3.0]))
    xp = fw.xp
    with warnings.catch_warnings():
        warnings.simplefilter("error", GaugeWarning)
        warnings.simplefilter("error", DegeneracyWarning)
        check_grads(lambda b: xp.sum(fw.eg.eigvalsh(A, fw.herm(b))[:2]), (B,), order=2)
        check_grads(lambda a: xp.sum(fw.eg.eigvalsh(fw.herm(a), B)[:2]), (A,), order=2)
        check_grads(lambda a, b: xp.sum(weights * fw.eg.eigvalsh(fw.herm(a), fw.herm(b))), (A, B), order=2,
                    rtol=1e-5)


def test_torch_pencil_gradgradcheck_wrt_B():
    rng = np.random.default_rng(1)
    import torch

    import eigengrad.torch as et

    M = rng.standard_normal((4, 4)) + 2 * np.eye(4)
    A = torch.as_tensor(M @ np.diag([1.0, 1.0, 2.0, 3.0]) @ M.T)
    B = torch.as_tensor(M @ M.T).requires_grad_()
    f = lambda b: et.eigvalsh((A + A.T) / 2, (b + b.T) / 2)[:2].sum()  # noqa: E731
    assert torch.autograd.gradgradcheck(f, (B,))


@pytest.mark.slow  # JAX compilation of second-order or strict-mode graphs: 7-25 s on a loaded 2-core box
def test_jax_second_order_reverse_of_pencils_raises_nothing():
    """vjp of grad of an eigenvalue-only pencil loss, complex and at an exact double eigenvalue: no
    GaugeError, no DegeneracyWarning, and matches central differences of the gradient."""
    rng = np.random.default_rng(107)
    import jax
    import jax.numpy as jnp

    import eigengrad.jax as ej

    X = rng.standard_normal((4, 4)) + 1j * rng.standard_normal((4, 4))
    M = rng.standard_normal((4, 4)) + 2 * np.eye(4)
    cases = [
        (X + X.conj().T, random_spd(rng, 4, complex_=True), rng.standard_normal(4)),
        (M @ np.diag([1.0, 1.0, 2.0, 3.0]) @ M.T, M @ M.T, np.array([1.0, 1.0, 2.0, 3.0])),
    ]
    for A, B, G in cases:
        A, B = jnp.asarray((A + A.conj().T) / 2), jnp.asarray((B + B.conj().T) / 2)

        def grad(A, B, G=jnp.asarray(G)):
            return jax.grad(lambda A, B: jnp.sum(G * ej.eigvalsh(A, B)), argnums=(0, 1))(A, B)

        complex_ = A.dtype == np.complex128
        dA, dB = (jnp.asarray(random_hermitian(rng, 4, complex_=complex_)) for _ in range(2))
        cts = [jnp.asarray(random_hermitian(rng, 4, complex_=complex_)) for _ in range(2)]

        def s(A, B):  # Re <ct, grad>: its gradient is a vjp of the gradient (reverse over reverse)
            return sum(jnp.real(jnp.sum(jnp.conj(c) * g)) for c, g in zip(cts, grad(A, B)))

        with warnings.catch_warnings():
            warnings.simplefilter("error", GaugeWarning)
            warnings.simplefilter("error", DegeneracyWarning)
            bar = jax.grad(s, argnums=(0, 1))(A, B)
        got = sum(float(jnp.real(jnp.sum(b * d))) for b, d in zip(bar, (dA, dB)))  # JAX's conjugate convention
        h = 1e-5
        fd = (float(s(A + h * dA, B + h * dB)) - float(s(A - h * dA, B - h * dB))) / (2 * h)
        assert abs(got - fd) <= 1e-6 * max(1.0, abs(fd)), (got, fd)


@pytest.mark.slow  # JAX compilation of second-order or strict-mode graphs: 7-25 s on a loaded 2-core box
def test_jax_strict_dtype_promotion():
    rng = np.random.default_rng(108)
    import jax
    import jax.numpy as jnp

    import eigengrad.jax as ej

    H = jnp.asarray(random_hermitian(rng, 3, complex_=True))
    Bc = jnp.asarray(random_spd(rng, 3, complex_=True))
    X = jnp.asarray(rng.standard_normal((3, 4)) + 1j * rng.standard_normal((3, 4)))
    # Each derivative under jit: a promotion error is raised while tracing the rules, as in eager
    # mode, and one program is compiled per line (eager, every operation is compiled again under the
    # strict mode: 91 s at load 7.6).
    with jax.numpy_dtype_promotion("strict"):
        jax.jit(lambda A, dA: jax.jvp(ej.eigh, (A,), (dA,)))(jnp.eye(2, dtype=complex), jnp.eye(2, dtype=complex))
        jax.jit(lambda A, B: jax.jvp(lambda A, B: ej.eigh(A, B), (A, B), (A, B)))(H, Bc)
        jax.jit(lambda X: jax.jvp(ej.svd, (X,), (X,)))(X)
        jax.jit(lambda G: jax.jvp(ej.eig, (G,), (G,)))(jnp.asarray(G3))
        jax.jit(jax.grad(lambda A: jnp.sum(jnp.abs(ej.eigh(A)[1][0]) ** 2) + jnp.sum(ej.eigvalsh(A))))(H)
        jax.jit(jax.grad(lambda A: jnp.sum(jnp.abs(ej.svd(A)[0]) ** 2) + jnp.sum(ej.svdvals(A))))(X)
        jax.jit(jax.grad(lambda A, B: jnp.sum(ej.eigvalsh(A, B)), argnums=(0, 1)))(H, Bc)
        jax.jit(lambda A: ej.eigvalsh(A))(1e300 * H)  # the rescaling too


def test_svdvals_of_a_very_tall_matrix():
    """Only thin factors: the full U of a 10⁵ x 2 matrix would take 80 GB."""
    import jax
    import jax.numpy as jnp
    import torch

    import eigengrad.jax as ej
    import eigengrad.torch as et

    A = np.ones((100_000, 2))
    np.testing.assert_allclose(np.asarray(ej.svdvals(A)), [np.sqrt(2e5), 0.0], atol=1e-9)
    g = jax.grad(lambda a: ej.svdvals(a)[0])(jnp.asarray(A))
    np.testing.assert_allclose(np.asarray(g), A / np.sqrt(2e5), atol=1e-12)
    np.testing.assert_allclose(et.svdvals(torch.as_tensor(A)).numpy(), [np.sqrt(2e5), 0.0], atol=1e-9)


def test_gauge_error_still_raised_on_gauge_dependent_pencil_loss(fw):
    """The probes still catch a gauge-dependent eigenvector loss of a pencil (first order)."""
    rng = np.random.default_rng(109)
    A = fw.asarray(random_hermitian(rng, 3, complex_=True))
    B = fw.asarray(random_spd(rng, 3, complex_=True))
    with pytest.raises(GaugeError, match="phase"):
        fw.grad(lambda a: fw.xp.real(fw.eg.eigh(fw.herm(a), B)[1][0, 0]), A)
