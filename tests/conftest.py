import jax

jax.config.update("jax_enable_x64", True)

import pytest

from frameworks import FRAMEWORKS


@pytest.fixture(params=sorted(FRAMEWORKS))
def fw(request):
    return FRAMEWORKS[request.param]()
