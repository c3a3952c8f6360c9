"""Batch re-matching of the whole register on Dask distributed, one task per geographic cell.

`turash match --all` splits the register into the 1° cells of `turash/matching/cells.py` (the unit the job queue
partitions by) and runs one task per cell on a Dask cluster: a local one, one worker process per core, by default;
`--dask tcp://scheduler:8786` for a cluster of machines. Each task opens its own database connection (every Dask
worker must reach the database: use PostgreSQL for a cluster of machines), matches its cell and, with `--store`,
stores the cell's run. The cells' matches together are those of a whole-register run (tests/jobs/test_cells.py).
"""

# distributed's Client, LocalCluster and as_completed carry no type annotations.
# mypy: disable-error-code="no-untyped-call"

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from sqlalchemy.engine import make_url

from turash.matching import cells, service

TRIGGER = "batch"


def absolute_database_url(url: str) -> str:
    """A SQLite path made absolute, so that worker processes started elsewhere open the same file."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database and parsed.database != ":memory:":
        return parsed.set(database=os.path.abspath(parsed.database)).render_as_string(hide_password=False)
    return url


def match_cell_task(
    cell: str, database_url: str, top: int, radius_km: float, store: bool
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """One Dask task: the matches of one cell (stored as a run of its own with `store`)."""
    from turash.kit.db import get_engine, session_factory

    request = service.MatchRequest(top_k=top, radius_km=radius_km)
    with session_factory(get_engine(database_url))() as session:
        if not store:
            return cells.match_cell(session, cell, request)
        matches, summary = cells.store_cell(session, cell, request, trigger=TRIGGER)
        session.commit()
    return matches, summary


def rematch_all(
    database_url: str,
    populated: list[tuple[str, int]],
    *,
    top: int,
    radius_km: float,
    store: bool,
    scheduler: str | None = None,
    on_cell: Callable[[dict[str, Any]], None] | None = None,
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Every cell's matches, best first, computed on Dask (`scheduler` None or "local": a local cluster)."""
    from distributed import Client, LocalCluster, as_completed

    url = absolute_database_url(database_url)
    if scheduler in (None, "", "local"):
        cluster: Any = LocalCluster(
            n_workers=os.cpu_count() or 1, threads_per_worker=1, processes=True, dashboard_address=None
        )
        client = Client(cluster)
    else:
        cluster, client = None, Client(scheduler, timeout=10)
    matches: list[dict[str, Any]] = []
    per_cell: list[dict[str, Any]] = []
    try:
        workers = len(client.scheduler_info().get("workers", {}))
        # The biggest cells first, so that no long task starts last.
        futures = [
            client.submit(match_cell_task, cell, url, top, radius_km, store, key=f"match-cell-{cell}", pure=False)
            for cell, _ in populated
        ]
        for future in as_completed(futures):
            cell_matches, summary = future.result()
            matches += cell_matches
            per_cell.append(summary)
            if on_cell is not None:
                on_cell(summary)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
    matches.sort(key=lambda m: (-m["score"], m["id"]))
    summary = {
        "cells": len(per_cell),
        "dask_workers": workers,
        "matches": len(matches),
        "facilitated": sum(m["route"] == "facilitated" for m in matches),
        "cell_seconds": round(sum(s["seconds"] for s in per_cell), 3),
    }
    return matches, summary
