"""bench/bench_export.py runs end to end on a small synthetic database and reports what it measured."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_bench_export_small_run() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "bench_export.py"), "--flows", "2000"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["data"].startswith("synthetic") and result["flows"] == 2000
    assert result["export"]["ndjson"]["chunks"] == 2 and result["export"]["csv"]["chunks"] == 3  # + the header
    assert result["export"]["ndjson"]["rows_per_s"] > 0
    kpi = result["kpi"]
    assert kpi["flows_listed"] == 2000 and kpi["matches_found"] > 0 and kpi["proposals"] == 40
