"""Keep trimming and classification at their measured level on the shared real-world corpora."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

# Measured with `python benchmarks/corpora.py`, minus a small margin for legitimate rule changes.
TRIM_FLOOR = 0.95  # measured 40/40
KIND_FLOOR = 0.97  # measured 99.4%
HARD_FLOOR = 0.90  # measured 93.6%
STATUS_CLASS_FLOOR = 0.93  # measured 96.8%


def _benchmark() -> ModuleType:
    path = Path(__file__).resolve().parents[2] / "benchmarks" / "corpora.py"
    spec = importlib.util.spec_from_file_location("mailflow_corpora_benchmark", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while being built
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    module = _benchmark()
    if module.corpora_dir() is None:
        pytest.skip("shared corpora not found (set MAILFLOW_CORPORA)")
    return module


def test_trimming_share(bench: ModuleType) -> None:
    results = bench.trim_results(bench.corpora_dir())
    failures = [r.name for r in results if not r.ok]
    assert bench.trim_share(results) >= TRIM_FLOOR, failures


def test_classification_scores(bench: ModuleType) -> None:
    scores = bench.bounce_scores(bench.bounce_results(bench.corpora_dir()))
    assert scores["kind"] >= KIND_FLOOR, scores
    assert scores["hard"] >= HARD_FLOOR, scores
    assert scores["status_class"] >= STATUS_CLASS_FLOOR, scores
