import json

import pytest

from tests.conftest import CONTRACT
from turash.ingestion.service import import_flows

MATCH_SCHEMA = json.loads((CONTRACT / "match.schema.json").read_text())
EXAMPLE = CONTRACT / "examples" / "flows_example.csv"


@pytest.fixture
def example(session):  # type: ignore[no-untyped-def]
    """The contract's example flows, imported."""
    report = import_flows(session, EXAMPLE)
    assert report.imported == 6
    session.flush()
    return session
