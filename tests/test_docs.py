"""Docstring examples, docs/*.md examples and the example scripts run, so they cannot rot."""

import doctest
import importlib
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

import eigengrad

ROOT = Path(__file__).resolve().parents[1]
MODULES = sorted(m.name for m in pkgutil.walk_packages(eigengrad.__path__, "eigengrad."))
DOCS = sorted((ROOT / "docs").glob("*.md"))


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0


@pytest.mark.parametrize("path", DOCS, ids=[p.name for p in DOCS])
def test_docs_examples(path):
    result = doctest.testfile(str(path), module_relative=False,
                              optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0


def test_degenerate_gradients_example():
    out = subprocess.run([sys.executable, str(ROOT / "examples" / "degenerate_gradients.py")],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "eigengrad jax" in out.stdout
