import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from turash.kit.codes import normalise_country, normalise_ewc, normalise_nace


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("19.20", "19.20"),
        ("C19.2.0", "19.20"),
        ("C 19.20", "19.20"),
        ("1920", "19.20"),
        ("19.2", "19.2"),
        ("19", "19"),
        ("35.11", "35.11"),
        ("01.41", "01.41"),
        ("c19.20", "19.20"),
        ("19.20.1", "19.20"),
    ],
)
def test_nace_forms(text: str, code: str) -> None:
    assert normalise_nace(text) == code


@pytest.mark.parametrize("text", ["", "x", "1", "ABC", "19.2x", "=1+1"])
def test_nace_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="NACE"):
        normalise_nace(text)


@pytest.mark.parametrize(
    ("text", "code"),
    [("DK", "DK"), ("dk", "DK"), ("DNK", "DK"), ("Denmark", "DK"), ("UK", "GB"), ("EL", "GR"), ("Austria", "AT")],
)
def test_country_forms(text: str, code: str) -> None:
    assert normalise_country(text) == code


def test_country_rejects_unknown() -> None:
    with pytest.raises(ValueError, match="unknown country"):
        normalise_country("Atlantis")


def test_ewc_forms() -> None:
    assert normalise_ewc("10 01 02") == ("100102", False)
    assert normalise_ewc("100102") == ("100102", False)
    assert normalise_ewc("16 01 04*") == ("160104", True)
    with pytest.raises(ValueError, match="six digits"):
        normalise_ewc("10 01")


@given(st.text(max_size=20))
def test_code_parsers_raise_only_value_error(text: str) -> None:
    for parser in (normalise_nace, normalise_ewc):
        with contextlib.suppress(ValueError):
            parser(text)
