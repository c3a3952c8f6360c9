"""The register as the engine loads it."""

import pytest

from turash.matching.repository import FlowInfo, PlusOne


def _info(flow_id: str) -> FlowInfo:
    return FlowInfo(flow_id, "o", "Org", "Site", "ash", None, False, "DK", "supply", "material", "", None, None)


def test_plus_one_reads_like_the_list_with_the_extra_flow_appended() -> None:
    base = [_info(str(i)) for i in range(3)]
    extra = _info("query")
    seq, ref = PlusOne(base, extra), [*base, extra]
    assert len(seq) == 4 and list(seq) == ref and seq[1:3] == ref[1:3]
    assert [seq[i] for i in range(-4, 4)] == [ref[i] for i in range(-4, 4)]
    for bad in (4, -5):
        with pytest.raises(IndexError):
            seq[bad]
    assert base == ref[:3]  # the base list is not touched
