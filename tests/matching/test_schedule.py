import pytest
from hypothesis import given
from hypothesis import strategies as st

from turash.matching.schedule import ALL_YEAR, parse_schedule

OCT_APR = 0b1110_0000_1111  # Oct, Nov, Dec + Jan-Apr
WINTER = (1 << 11) | 0b11


@pytest.mark.parametrize(
    ("text", "mask", "share"),
    [
        ("24/7", ALL_YEAR, 1.0),
        ("continuous", ALL_YEAR, 1.0),
        ("Oct-Apr", OCT_APR, 1.0),
        ("october to april", OCT_APR, 1.0),
        ("winter", WINTER, 1.0),
        ("heating season", OCT_APR, 1.0),
        ("weekdays", ALL_YEAR, 5 * 24 / 168),
        ("weekdays 6-22", ALL_YEAR, 5 * 16 / 168),
        ("Mon-Fri 22-6", ALL_YEAR, 5 * 8 / 168),
        ("2 shifts", ALL_YEAR, 7 * 16 / 168),
        ("summer only, weekdays", (1 << 5) | (1 << 6) | (1 << 7), 5 * 24 / 168),
        ("jun-aug", (1 << 5) | (1 << 6) | (1 << 7), 1.0),
    ],
)
def test_schedules(text: str, mask: int, share: float) -> None:
    parsed = parse_schedule(text)
    assert parsed.month_mask == mask
    assert parsed.weekly_hours == pytest.approx(share)
    assert parsed.understood


@pytest.mark.parametrize("text", [None, "", "as needed", "may vary", "batch"])
def test_unreadable_text_means_unknown_not_a_guess(text: str | None) -> None:
    parsed = parse_schedule(text)
    assert (parsed.month_mask, parsed.weekly_hours, parsed.understood) == (ALL_YEAR, 1.0, False)


@given(st.text(max_size=40))
def test_any_text_gives_a_valid_schedule(text: str) -> None:
    parsed = parse_schedule(text)
    assert 0 < parsed.month_mask <= ALL_YEAR
    assert 0 < parsed.weekly_hours <= 1.0
