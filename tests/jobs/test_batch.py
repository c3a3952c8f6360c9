"""`turash match --all`: the whole register matched cell by cell on a local Dask cluster (worker processes) gives
exactly what `turash match` gives, and `--store` stores one run per cell."""

from __future__ import annotations

import json
from pathlib import Path

import sqlalchemy as sa

from tests.jobs.test_cells import _register
from tests.test_cli import run
from turash.kit.db import get_engine
from turash.matching.batch import absolute_database_url
from turash.models import MatchRun


def test_match_all_on_dask_equals_the_whole_run(cli_db: str, tmp_path: Path) -> None:
    code, _, err = run("import", "flows", str(_register(tmp_path)))
    assert code == 0, err
    code, out, err = run("match", "--format", "json", "--top", "3")
    assert code == 0, err
    whole = {m["id"]: m["score"] for m in json.loads(out)["matches"]}
    code, out, err = run("match", "--all", "--format", "json", "--top", "3", "--store")
    assert code == 0, err
    batch = json.loads(out)["matches"]
    assert {m["id"]: m["score"] for m in batch} == whole and len(whole) > 30
    assert [m["score"] for m in batch] == sorted((m["score"] for m in batch), reverse=True)
    with get_engine(cli_db).connect() as conn:
        runs = conn.scalar(sa.select(sa.func.count()).select_from(MatchRun).where(MatchRun.trigger == "batch"))
    assert runs == 4  # one per populated cell


def test_match_all_argument_errors(cli_db: str) -> None:
    code, _, err = run("match", "--dask", "tcp://127.0.0.1:1")
    assert code == 2 and "--dask goes with --all" in err
    code, _, err = run("match", "--all", "--organization", "X")
    assert code == 2 and "leave out --organization" in err
    code, _, err = run("match", "--all", "--dask", "tcp://127.0.0.1:1")
    assert code == 2 and "cannot reach the Dask scheduler tcp://127.0.0.1:1" in err


def test_sqlite_paths_are_made_absolute_for_worker_processes(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.chdir(tmp_path)
    assert absolute_database_url("sqlite:///./turash.db") == f"sqlite:///{tmp_path / 'turash.db'}"
    assert absolute_database_url("postgresql+psycopg://u@h/db") == "postgresql+psycopg://u@h/db"
