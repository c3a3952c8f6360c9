"""The export streams: 50,000 flows come out in batches, never all in memory at once."""

from __future__ import annotations

import gc
import json
import tracemalloc
from typing import Any

import pytest
import sqlalchemy as sa

from turash.auth.service import Principal
from turash.export import service
from turash.models import Membership, Organization, ResourceFlow, Site, User
from turash.models.base import new_id, new_ids

ROWS = 50_000


@pytest.fixture
def big(runtime: Any) -> Principal:
    """A synthetic organisation with 50,000 flows (test data, not real), and its owner."""
    with runtime.uow() as uow:
        s = uow.session
        user = User(id=new_id(), email="bulk@example.org", name="Bulk", password_hash="x")
        org = Organization(id=new_id(), name="Synthetic Bulk Org", name_key="synthetic bulk org")
        site = Site(id=new_id(), organization_id=org.id, name="Synthetic", name_key="synthetic", lat=55.0, lon=11.0)
        s.add_all([user, org])
        s.flush()
        s.add_all([site, Membership(id=new_id(), organization_id=org.id, user_id=user.id, role="owner")])
        s.flush()
        ids = new_ids(ROWS)
        for start in range(0, ROWS, 10_000):
            s.execute(
                sa.insert(ResourceFlow),
                [
                    {
                        "id": ids[i],
                        "organization_id": org.id,
                        "site_id": site.id,
                        "direction": "supply" if i % 2 else "demand",
                        "resource": f"synthetic residue {i}",
                        "category": "material",
                        "quantity": float(i),
                        "unit": "t/yr",
                        "fingerprint": f"synthetic-{i}",
                    }
                    for i in range(start, min(ROWS, start + 10_000))
                ],
            )
        uow.commit()
        return Principal(user=user, via="jwt")


def _peak(run: Any) -> int:
    gc.collect()
    tracemalloc.start()
    try:
        run()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.slow
def test_50k_rows_stream_in_batches_with_bounded_memory(big: Principal, runtime: Any) -> None:
    with runtime.uow() as uow:
        export = service.prepare(uow.session, big, "flows", None)
    seen = {"chunks": 0, "lines": 0, "first": b"", "last": b""}

    def streamed() -> None:
        for chunk in service.stream(runtime.uow, export, "ndjson", batch=1000):
            seen["chunks"] += 1
            seen["lines"] += chunk.count(b"\n")
            seen["first"] = seen["first"] or chunk[: chunk.index(b"\n")]
            seen["last"] = chunk.rstrip(b"\n").rsplit(b"\n", 1)[-1]

    def loaded_at_once() -> None:
        with runtime.uow() as uow:
            rows = uow.session.execute(export.query).all()
            export.shape(uow.session, rows)

    full_peak = _peak(loaded_at_once)  # first: it also warms the caches (compiled statement, imports) for both
    stream_peak = _peak(streamed)
    assert seen["chunks"] == ROWS // 1000  # one chunk per batch of rows: the response is sent as it is read
    assert seen["lines"] == ROWS
    first, last = json.loads(seen["first"]), json.loads(seen["last"])
    assert first["id"] < last["id"] and first["resource"].startswith("synthetic residue ")  # ordered by id
    # reading everything at once holds every row and record; the stream one batch of them
    assert stream_peak * 10 < full_peak, (stream_peak, full_peak)
    print(f"peak memory: streamed {stream_peak / 1e6:.1f} MB, all at once {full_peak / 1e6:.1f} MB")
