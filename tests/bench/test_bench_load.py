"""bench/bench_load.py: its figures and pacing (fast), and one short run against its own server (slow)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench import bench_load


def test_summarise_counts_errors_by_status_and_keeps_expected_ones_apart() -> None:
    stats = bench_load.RouteStats()
    for ms, status in [(10, 200), (20, 200), (30, 201), (40, 429), (50, 503)]:
        stats.add(status, ms / 1000.0, f"GET /x?{ms}")
    stats.failures["ReadTimeout"] += 1
    out = bench_load.summarise(stats, elapsed=2.0, expected={429})
    assert out["requests"] == 6
    assert out["ok"] == 3
    assert out["errors"] == {"503": 1, "ReadTimeout": 1}
    assert out["expected_errors"] == {"429": 1}
    assert out["throughput_rps"] == 3.0
    assert out["p50_ms"] == pytest.approx(30.0)
    assert out["max_ms"] == pytest.approx(50.0)
    assert [r["ms"] for r in out["slowest"]] == [50.0, 40.0, 30.0, 20.0, 10.0]


def test_summarise_of_a_route_never_called() -> None:
    out = bench_load.summarise(bench_load.RouteStats(), elapsed=1.0)
    assert out["requests"] == 0
    assert out["p50_ms"] is None
    assert out["max_ms"] is None


def test_sliding_window_never_allows_more_than_the_limit_in_a_window() -> None:
    win = bench_load.SlidingWindow(limit=3, window=60.0, margin=2.0)
    assert [win.take(t) for t in (0.0, 1.0, 2.0, 3.0)] == [True, True, True, False]
    assert not win.take(61.9)  # the first one is not yet 62 s old
    assert win.take(62.0)


def test_template_hides_ids() -> None:
    path = "/api/v1/organizations/01a24fc39a287d3ebc0f0c5e472ce5a4/matching/direct"
    assert bench_load._template(path) == "/organizations/{id}/matching/direct"


def test_log_findings_counts_events_and_exceptions() -> None:
    text = "\n".join(
        [
            "2026-12-07T09:09:09Z [warning  ] database_busy  path=/api/v1/x",
            "2026-12-07T09:09:10Z [error    ] unhandled_error  path=/api/v1/y",
            "Traceback (most recent call last):",
            '  File "x.py", line 1, in f',
            "sqlalchemy.exc.TimeoutError: QueuePool limit of size 5 overflow 10 reached",
            "INFO:     Application startup complete.",
        ]
    )
    found = bench_load.log_findings(text)
    assert found["database_busy"] == 1
    assert found["unhandled_error"] == 1
    assert found["traceback"] == 1
    assert found["sqlalchemy.exc.TimeoutError: QueuePool limit of size 5 overflow 10 reached"] == 1
    assert "other ERROR lines" not in found


def test_arguments() -> None:
    args = bench_load.parse_args(["--concurrency", "1,16,64", "--seconds", "3"])
    assert args.levels == [1, 16, 64]
    with pytest.raises(SystemExit):
        bench_load.parse_args(["--url", "http://example.org:8000"])  # 127.0.0.1 only


@pytest.mark.slow
def test_a_short_run_against_its_own_server(tmp_path: Path) -> None:
    out = tmp_path / "load.json"
    argv = ["--demo-limit", "200", "--seconds", "1", "--concurrency", "2", "--users", "2", "--login-users", "1"]
    bench_load.main([*argv, "--json", str(out)])  # exit status 1 on server errors: not this test's subject
    report = json.loads(out.read_text())
    (scenario,) = report["scenarios"]
    assert scenario["concurrency"] == 2
    assert scenario["overall"]["requests"] > 0
    assert scenario["routes"]["GET /health"]["requests"] > 0
    assert scenario["server_cpu_s"] is None or scenario["server_cpu_s"] > 0
