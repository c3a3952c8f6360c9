"""NACE Rev. 2 codes and the Rev. 2.1 → Rev. 2 conversion."""

from __future__ import annotations

import pytest
from rapidfuzz import fuzz

from turash.reference.nace import nace_codes
from turash.sectors import UnknownNaceCode, lineage, profile_for, rev2_name, rev21_to_rev2, section_of, to_rev2
from turash.sectors.nace import _tables, rev2_codes

# Codes both revisions have, with the same content but a reworded title (checked by hand).
RENAMED_SAME_CONTENT = {"01.46", "10.51", "13.92", "22.23", "46", "47", "60", "73", "90"}


def test_lineage_and_sections_follow_rev2() -> None:
    assert lineage("23.51") == ("23.51", "23.5", "23", "C")
    assert lineage("C23.5.1") == ("23.51", "23.5", "23", "C")
    assert lineage("10.5") == ("10.5", "10", "C")
    assert lineage("c") == ("C",)
    # Rev. 2 sections differ from Rev. 2.1 from J on: data processing is J in Rev. 2 (K in Rev. 2.1).
    assert section_of("63.11") == "J"
    assert section_of("35.30") == "D" and section_of("38.21") == "E" and section_of("01.13") == "A"
    assert rev2_name("38.21") == "Treatment and disposal of non-hazardous waste"
    assert rev2_name("E") is not None


@pytest.mark.parametrize(
    ("rev21", "rev2"),
    [
        ("38.21", "38.32"),  # materials recovery
        ("38.22", "38.21"),  # energy recovery (incineration)
        ("38.32", "38.21"),  # landfilling
        ("16.11", "16.10"),
        ("16.26", "16.29"),  # wood pellets
        ("25.30", "25.40"),  # weapons: same number, other content
        ("25.53", "25.62"),  # machining
        ("35.12", "35.11"),  # renewable electricity
        ("35.15", "35.14"),
        ("20.51", "20.59"),  # liquid biofuels
        ("63.10", "63.11"),  # data centres
        ("46.87", "46.77"),
        ("10.51", "10.51"),  # unchanged
        ("23.51", "23.51"),
        ("24.10", "24.10"),
        ("43.23", "43.2"),  # no Rev. 2 class: widened to the group
        ("95.31", "45.20"),
    ],
)
def test_rev21_to_rev2(rev21: str, rev2: str) -> None:
    assert rev21_to_rev2(rev21) == rev2


def test_revision_auto_converts_only_codes_rev2_lacks() -> None:
    assert to_rev2("38.21", "auto").code == "38.21"  # a Rev. 2 code: the contract's revision wins
    converted = to_rev2("38.23", "auto")
    assert (converted.code, converted.revision) == ("38.21", "2.1")
    assert to_rev2("35.16", "auto").code == "35.1" and not to_rev2("35.16", "auto").exact
    with pytest.raises(UnknownNaceCode):
        to_rev2("not a code")
    with pytest.raises(UnknownNaceCode):
        to_rev2("00.00")


def test_every_rev21_code_of_sections_a_to_e_lands_on_a_rev2_code() -> None:
    rev2 = rev2_codes()
    for code, entry in nace_codes().items():
        if entry.level < 2 or code[:2] > "39":
            continue
        assert rev21_to_rev2(code) in rev2, code


def test_codes_shared_by_both_revisions_mean_the_same_unless_listed() -> None:
    """A Rev. 2.1 code that also exists in Rev. 2 with another content must be in the correspondence table."""
    table = _tables().rev21
    rev2 = rev2_codes()
    for code, entry in nace_codes().items():
        if code in rev2 and code not in table and code not in RENAMED_SAME_CONTENT:
            similarity = fuzz.token_set_ratio(rev2[code].lower(), entry.name.lower())
            assert similarity >= 78, (code, rev2[code], entry.name)


def test_profile_lookup_takes_rev21_codes() -> None:
    recovery = profile_for("38.21", revision="2.1")
    assert recovery is not None and recovery.rev2 == "38.32" and recovery.code == "38.32"
    incineration = profile_for("38.22", revision="2.1")
    assert incineration is not None and incineration.code == "38.21"
    assert "incinerator_bottom_ash" in incineration.profile.class_ids("supply")
    renewables = profile_for("35.12", revision="2.1")
    assert renewables is not None and renewables.code == "35.11"
