import os

# Tests run two pytest workers on two cores: one BLAS / XLA thread each avoids oversubscription.
for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(var, "1")
# XLA's LLVM optimisation level 0: the suite compiles hundreds of small programs per test (eager JAX
# compiles every operation for each new shape), and compiling dominates its time. Level 0 cut the
# CPU time of the JAX tests by about 15 % (measured: 41.5/44.1 -> 37.8/34.6 user-s on three tests);
# the HLO passes, hence the operations and their results up to rounding, are unchanged.
os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1 "
                      "--xla_backend_optimization_level=0")

import jax  # noqa: E402
import pytest  # noqa: E402

from frameworks import FRAMEWORKS  # noqa: E402

jax.config.update("jax_enable_x64", True)


@pytest.fixture(params=sorted(FRAMEWORKS))
def fw(request):
    return FRAMEWORKS[request.param]()


@pytest.fixture
def torch_float64():
    """float64 as torch's default dtype inside one test (restored after it)."""
    import torch

    before = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(before)


def pytest_collection_modifyitems(items):
    """Slow tests first (stable order otherwise): under xdist the longest work starts early and the
    short tests fill in at the end, instead of one worker finishing a long test alone."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)

