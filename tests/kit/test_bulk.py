"""Driver-level bulk inserts store exactly what the ORM would: read back through the ORM, on each back-end."""

from datetime import UTC, date, datetime

import sqlalchemy as sa

from turash.kit.bulk import insert_rows
from turash.models import Organization, ResourceFlow, Site


def test_values_round_trip_through_the_orm(session) -> None:  # type: ignore[no-untyped-def]
    stamp = datetime(2026, 11, 25, 10, 30, 15, 123456, tzinfo=UTC)
    insert_rows(
        session,
        Organization.__table__,
        [
            {
                "id": "o1",
                "name": "Ørsted A/S",
                "name_key": "ørsted a/s",
                "kind": "enterprise",
                "source": "import",
                "attributes": {"note": "æøå", "n": 1},
                "created_at": stamp,
                "updated_at": stamp,
            }
        ],
    )
    insert_rows(
        session,
        Site.__table__,
        [
            {
                "id": "s1",
                "organization_id": "o1",
                "name": "Asnæs",
                "name_key": "asnæs",
                "lat": 55.66,
                "lon": 11.08,
                "permits": {},
                "source": "import",
                "attributes": {},
                "created_at": stamp,
                "updated_at": stamp,
            }
        ],
    )
    sent = insert_rows(
        session,
        ResourceFlow.__table__,
        [
            {
                "id": f"f{i}",
                "organization_id": "o1",
                "site_id": "s1",
                "direction": "supply",
                "resource": "fly ash",
                "quantity": 1.5 + i,
                "hazardous": bool(i),
                "available_from": date(2026, 1, 1),
                "precision": "measured",
                "attributes": {},
                "inferred": False,
                "source": "import",
                "fingerprint": f"fp{i}",
                "created_at": stamp,
                "updated_at": stamp,
            }
            for i in range(3)
        ],
    )
    assert sent == 3
    session.expire_all()
    org = session.get(Organization, "o1")
    assert org.name == "Ørsted A/S" and org.attributes == {"note": "æøå", "n": 1}
    assert org.created_at.replace(tzinfo=UTC) == stamp
    flows = session.scalars(sa.select(ResourceFlow).order_by(ResourceFlow.id)).all()
    assert [f.hazardous for f in flows] == [False, True, True]
    assert flows[0].available_from == date(2026, 1, 1) and flows[0].attributes == {}
    assert flows[2].quantity == 3.5 and flows[0].inferred is False and flows[0].temperature_c is None


def test_empty_batch_is_a_no_op(session) -> None:  # type: ignore[no-untyped-def]
    assert insert_rows(session, Organization.__table__, []) == 0
