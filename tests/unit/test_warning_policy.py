"""The suite's warning policy: a dependency's deprecation is reported, every other warning fails."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CASES = '''
import warnings

def test_a_dependency_deprecates_what_we_call():
    warnings.warn("get_text_stream is deprecated", DeprecationWarning, stacklevel=1)

def test_our_own_warning():
    warnings.warn("something is off", UserWarning)

def test_an_unclosed_resource():
    warnings.warn("unclosed file", ResourceWarning)
'''


def test_deprecations_are_reported_and_other_warnings_fail(tmp_path):
    (tmp_path / "test_cases.py").write_text(CASES)
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-c",
                          str(ROOT / "pyproject.toml"), "--rootdir", str(tmp_path), str(tmp_path)],
                         capture_output=True, text=True, timeout=120)
    assert "2 failed, 1 passed" in run.stdout, run.stdout
    assert "get_text_stream is deprecated" in run.stdout  # reported in the warnings summary
