"""Slow: run the real SCALE-Sim again and check the stored reference cases still match it.

``scalesim`` is not a dependency of cnnlib (it pins its own numpy and pandas), so it lives in a
throwaway environment named by ``SCALESIM_PYTHON``::

    python3 -m venv /tmp/scalesim-venv && /tmp/scalesim-venv/bin/pip install scalesim==2.0.2
    SCALESIM_PYTHON=/tmp/scalesim-venv/bin/python pytest -m slow tests/test_accel_scalesim_reference.py
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_stored_cases_are_what_scalesim_computes_today():
    python = os.environ.get("SCALESIM_PYTHON")
    if not python:
        pytest.skip("set SCALESIM_PYTHON to an interpreter with `scalesim` installed to re-run SCALE-Sim")
    out = subprocess.run([python, str(ROOT / "scripts" / "regen_scalesim_expected.py"), "--check"],
                         capture_output=True, text=True, timeout=1800)
    assert out.returncode == 0, out.stderr[-2000:] + out.stdout[-2000:]
