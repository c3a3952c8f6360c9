"""The catalogue data: completeness, consistency with the List of Waste, and clear errors for broken files."""

from __future__ import annotations

import csv
import shutil
from collections import defaultdict
from pathlib import Path

import pytest

from turash.catalog import CATEGORIES, Catalog, CatalogDataError, UnknownResourceClass, get_catalog, load_catalog
from turash.catalog.loader import DATA_DIR, load_catalog_data
from turash.catalog.text import fold_a, tokens
from turash.kit.errors import NotFound

REPO = Path(__file__).resolve().parents[2]
EWC_LIST = REPO.parent / "shared" / "data" / "ewc_list_of_waste_defra.csv"


def test_catalogue_is_large_and_covers_every_category(cat: Catalog) -> None:
    assert len(cat.classes) >= 150
    assert {rc.category for rc in cat.classes} == set(CATEGORIES)
    assert len(cat.by_category("material")) >= 100
    assert len(cat.by_category("heat")) >= 15


def test_get_catalog_is_one_shared_instance() -> None:
    assert get_catalog() is get_catalog()


def test_ids_are_unique_and_indices_stable(cat: Catalog) -> None:
    ids = [rc.id for rc in cat.classes]
    assert len(ids) == len(set(ids))
    for position, rc in enumerate(cat.classes):
        assert cat.index_of(rc.id) == position
        assert cat.get(rc.id) is rc
    # A second load gives the same order: indices are stable across processes.
    assert [rc.id for rc in load_catalog().classes] == ids


def test_unknown_class_is_a_clear_key_error(cat: Catalog) -> None:
    with pytest.raises(KeyError, match="no_such_class"):
        cat.get("no_such_class")
    with pytest.raises(UnknownResourceClass) as info:
        cat.index_of("no_such_class")
    assert isinstance(info.value, NotFound)
    assert info.value.status_code == 404
    assert "no_such_class" in str(info.value)


def test_graph_is_consistent(cat: Catalog) -> None:
    for rc in cat.classes:
        chain = cat.ancestors(rc.id)
        assert rc.id not in chain
        if rc.parent:
            assert chain[0] == rc.parent
        for use in rc.uses:
            assert use.to in cat
            assert use.sources, f"{rc.id} → {use.to} has no source"
            assert 0 < use.fit <= 1
            for sid in use.sources:
                assert sid in cat.sources


def test_every_source_is_cited_and_well_formed(cat: Catalog) -> None:
    cited = {sid for rc in cat.classes for sid in rc.sources} | {
        sid for rc in cat.classes for use in rc.uses for sid in use.sources
    }
    assert set(cat.sources) <= cited, f"unused sources: {sorted(set(cat.sources) - cited)}"
    for source in cat.sources.values():
        assert source.title
        assert source.publisher or source.authors


def test_need_classes_describe_demands(cat: Catalog) -> None:
    needs = [rc for rc in cat.classes if rc.side == "demand"]
    assert len(needs) >= 30
    for rc in needs:
        assert not rc.uses, f"{rc.id}: a need class has no uses of its own"
    # Every need can be served by at least one supply class.
    for rc in needs:
        assert cat.compatible_supplies(rc.id), rc.id


def test_languages_are_covered(cat: Catalog) -> None:
    counts: dict[str, int] = defaultdict(int)
    for rc in cat.classes:
        for lang, names in rc.synonyms.items():
            counts[lang] += len(names)
    for lang in ("en", "de", "fr", "da", "es"):
        assert counts[lang] >= 300, (lang, counts[lang])
    assert all(rc.synonyms.get("en") for rc in cat.classes)


def test_every_synonym_keeps_a_meaningful_word(cat: Catalog) -> None:
    for rc in cat.classes:
        for name in rc.all_names():
            assert tokens(fold_a(name)), f"{rc.id}: synonym {name!r} is only stopwords or numbers"


def test_no_synonym_is_shared_with_an_ancestor(cat: Catalog) -> None:
    owners: dict[tuple[str, ...], set[str]] = defaultdict(set)
    for rc in cat.classes:
        for name in rc.all_names():
            owners[tuple(tokens(fold_a(name)))].add(rc.id)
    for key, ids in owners.items():
        for a in ids:
            for b in ids:
                assert a not in cat.ancestors(b), f"{key}: shared by {b} and its ancestor {a}"


@pytest.mark.skipif(not EWC_LIST.exists(), reason="shared/data List of Waste not available")
def test_ewc_codes_exist_in_the_list_of_waste_with_the_right_star(cat: Catalog) -> None:
    with EWC_LIST.open(encoding="utf-8") as handle:
        official = {row["code_spaced"].rstrip("*"): row["is_hazardous"] == "true" for row in csv.DictReader(handle)}
    for rc in cat.classes:
        for code in rc.ewc:
            bare = code.rstrip("*")
            assert bare in official, f"{rc.id}: {code} is not in the List of Waste"
            assert code.endswith("*") == official[bare], f"{rc.id}: {code} star does not match the List of Waste"
            if rc.hazardous is False:
                assert not official[bare], f"{rc.id} is non-hazardous but lists hazardous {code}"


def test_hazard_lookup_by_ewc(cat: Catalog) -> None:
    assert cat.ewc_is_hazardous("19 01 13") is True
    assert cat.ewc_is_hazardous("100102") is False
    assert cat.ewc_is_hazardous("99 99 99") is None
    assert "coal_fly_ash" in cat.classes_for_ewc("10.01.02")


def test_nace_prior(cat: Catalog) -> None:
    assert "brewers_spent_grain" in cat.classes_for_nace("C11.0.5", "supply")
    assert "animal_feed" in cat.classes_for_nace("01.41", "demand")
    assert cat.classes_for_nace("not a code") == ()


# --- broken files ----------------------------------------------------------------------------------------------------


@pytest.fixture
def data_copy(tmp_path: Path) -> Path:
    target = tmp_path / "data"
    shutil.copytree(DATA_DIR, target)
    return target


def _append(path: Path, text: str) -> None:
    with path.open("a", encoding="utf-8") as handle:
        handle.write("\n" + text)


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        ("- id: fly_ash\n  name: Duplicate\n  category: material\n", "duplicate id"),
        ("- id: orphan\n  name: Orphan\n  category: material\n  parent: no_such_parent\n", "parent 'no_such_parent'"),
        ("- id: odd\n  name: Odd\n  category: plasma\n", "category 'plasma'"),
        ("- id: bad_ewc\n  name: Bad\n  category: material\n  ewc: ['1001']\n", "EWC code '1001'"),
        (
            "- id: bad_use\n  name: Bad use\n  category: material\n  uses:\n"
            "    - {to: nowhere, fit: 0.5, sources: [bref_lcp_2017]}\n",
            "uses[0].to 'nowhere'",
        ),
        (
            "- id: uncited\n  name: Uncited\n  category: material\n  uses:\n    - {to: animal_feed, fit: 0.5}\n",
            "must cite at least one source",
        ),
        (
            "- id: bad_source\n  name: Bad source\n  category: material\n  sources: [made_up_2024]\n",
            "source 'made_up_2024'",
        ),
        ("- id: typo_key\n  name: Typo\n  category: material\n  synonym: {en: [x]}\n", "unknown keys ['synonym']"),
        (
            "- id: bad_band\n  name: Bad band\n  category: heat\n  band: {temperature_c: [90, 40]}\n",
            "low must be below high",
        ),
    ],
)
def test_broken_entry_names_file_and_class(data_copy: Path, entry: str, expected: str) -> None:
    _append(data_copy / "zz_broken.yaml", entry)
    with pytest.raises(CatalogDataError) as info:
        load_catalog_data(data_copy)
    message = str(info.value)
    assert "zz_broken.yaml" in message
    assert expected in message


def test_parent_cycle_is_reported(data_copy: Path) -> None:
    _append(
        data_copy / "zz_cycle.yaml",
        "- id: cyc_a\n  name: A\n  category: material\n  parent: cyc_b\n"
        "- id: cyc_b\n  name: B\n  category: material\n  parent: cyc_a\n",
    )
    with pytest.raises(CatalogDataError, match=r"zz_cycle.yaml: class 'cyc_a'.*cycle"):
        load_catalog_data(data_copy)


def test_invalid_yaml_names_the_file(data_copy: Path) -> None:
    (data_copy / "zz_syntax.yaml").write_text("- id: x\n  name: [unclosed\n", encoding="utf-8")
    with pytest.raises(CatalogDataError, match=r"zz_syntax\.yaml: is not valid YAML"):
        load_catalog_data(data_copy)


def test_all_problems_are_reported_at_once(data_copy: Path) -> None:
    _append(
        data_copy / "zz_many.yaml",
        "- id: one\n  name: One\n  category: plasma\n- id: two\n  name: Two\n  category: material\n  parent: nope\n",
    )
    with pytest.raises(CatalogDataError) as info:
        load_catalog_data(data_copy)
    assert len(info.value.problems) == 2
    assert info.value.to_dict()["code"] == "catalog_data_error"


def test_load_catalog_from_a_valid_copy(data_copy: Path) -> None:
    assert len(load_catalog(data_copy).classes) == len(get_catalog().classes)
