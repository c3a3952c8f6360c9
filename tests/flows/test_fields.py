import contextlib
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from turash.flows import fields


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("15000", 15000),
        ("15 000", 15000),
        ("1.5e3", 1500),
        ("1,5", 1.5),
        ("15,000.5", 15000.5),
        ("15.000,5", 15000.5),
        ("-5", -5),
        (" 42 ", 42),
        ("0.25", 0.25),
        (7, 7.0),
    ],
)
def test_numbers(text: str, value: float) -> None:
    assert fields.number(text) == value


@pytest.mark.parametrize("text", ["15,000", "abc", "nan", "inf", "1..2", "=1+1", "1;2", "", True])
def test_numbers_rejected(text: str) -> None:
    with pytest.raises(ValueError):
        fields.number(text)


@given(st.text(max_size=20))
def test_number_parser_raises_only_value_error(text: str) -> None:
    with contextlib.suppress(ValueError):
        fields.number(text)


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_number_roundtrip(value: float) -> None:
    assert fields.number(repr(value)) == value


def test_direction_words() -> None:
    assert fields.direction("Supply") == "supply"
    assert fields.direction("need") == "demand"
    with pytest.raises(ValueError, match="'supply'"):
        fields.direction("sell")


def test_ewc_code_must_exist_in_the_list_of_waste() -> None:
    assert fields.ewc_code("10 01 02") == "100102"
    with pytest.raises(ValueError, match="not in the European List of Waste"):
        fields.ewc_code("99 99 99")


def test_hazard_is_derived_from_the_ewc_code() -> None:
    values = {"ewc_code": "100104"}  # oil fly ash and boiler dust*, absolute hazardous
    assert fields.check_flow(values) == []
    assert values["hazardous"] is True
    values = {"ewc_code": "100102"}
    fields.check_flow(values)
    assert values["hazardous"] is False


def test_declaring_a_hazardous_entry_non_hazardous_is_refused() -> None:
    problems = fields.check_flow({"ewc_code": "100104", "hazardous": False})
    assert problems and problems[0][0] == "hazardous" and "10 01 04*" in problems[0][1]


def test_cross_column_rules() -> None:
    assert fields.check_flow({"quantity": 5.0})[0][0] == "unit"
    problems = fields.check_flow({"available_from": date(2026, 5, 1), "available_to": date(2026, 1, 1)})
    assert problems[0][0] == "available_to"
    assert fields.check_site({"lat": 0.0, "lon": 0.0})[0][0] == "lat"


def test_text_keeps_formula_and_sql_text_literally() -> None:
    for text in ('=HYPERLINK("http://x")', "'; DROP TABLE resource_flows; --", "@SUM(1)", "+1", "<script>"):
        assert fields.text(500)(text) == text
