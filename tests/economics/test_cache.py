"""Business cases are cached an hour by their inputs (in-process or Redis), and a changed flow or price setting
is never answered from the cache."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path

import pytest

from tests.conftest import Api, require_service
from tests.matching.test_endpoints import _setup
from turash.config import get_settings
from turash.economics import assumptions, service
from turash.economics.assumptions import Assumptions, EconomicsDataError
from turash.kit.cache import Cache, MemoryCache, RedisCache
from turash.matching import service as matching
from turash.matching.service import MatchRequest


@pytest.fixture(params=["memory", "redis"])
def cache(request: pytest.FixtureRequest) -> object:
    if request.param == "memory":
        yield MemoryCache()
        return
    require_service("Redis", "127.0.0.1", 6379)
    c = RedisCache("redis://127.0.0.1:6379/0", namespace=f"turash-test-{uuid.uuid4().hex}:")
    yield c
    c.delete_prefix("")


@pytest.fixture
def economics_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> object:
    """An operator's economics file, in force for the test (TURASH_ECONOMICS_FILE)."""
    path = tmp_path / "economics.yaml"
    path.write_text("", encoding="utf-8")
    monkeypatch.setenv("TURASH_ECONOMICS_FILE", str(path))
    monkeypatch.setattr(assumptions, "RECHECK_SECONDS", 0.0)
    get_settings.cache_clear()
    assumptions.fingerprint()
    yield path
    monkeypatch.delenv("TURASH_ECONOMICS_FILE")
    get_settings.cache_clear()
    assumptions.fingerprint()


def _write(path: Path, text: str) -> None:
    """Rewrite a settings file so that its size or modification time differs from the last one seen."""
    time.sleep(0.01)
    path.write_text(text, encoding="utf-8")


def _ash(session) -> str:  # type: ignore[no-untyped-def]
    matches, _ = matching.find_matches(session, {}, MatchRequest())
    return str(next(m for m in matches if m["supply"]["resource"] == "fly ash")["id"])


def test_a_case_is_read_from_the_cache_the_second_time(example, cache: Cache) -> None:  # type: ignore[no-untyped-def]
    match_id = _ash(example)
    first = service.business_case(example, {}, cache, match_id)
    key = service.cache_key(first["case"], None)
    stored = cache.get(key)
    assert stored is not None and json.loads(stored)["npv_eur"] == first["economics"]["npv_eur"]
    if isinstance(cache, RedisCache):
        ttl = cache._redis.ttl(cache._ns + key)
        assert 0 < ttl <= service.CACHE_SECONDS
    # The second call answers from the cache: a value planted under the key is what it returns.
    cache.set(key, json.dumps({**first["economics"], "npv_eur": 1.0}), 60)
    assert service.business_case(example, {}, cache, match_id)["economics"]["npv_eur"] == 1.0
    # Overrides are part of the key.
    assert service.business_case(example, {}, cache, match_id, {"discount_rate": 0.1})["economics"]["npv_eur"] != 1.0


def test_a_changed_price_setting_is_not_answered_from_the_cache(example, economics_file: Path) -> None:  # type: ignore[no-untyped-def]
    cache = MemoryCache()
    match_id = _ash(example)
    before = service.business_case(example, {}, cache, match_id)["economics"]
    _write(economics_file, "default:\n  discount_rate: 0.15\n")
    after = service.business_case(example, {}, cache, match_id)["economics"]
    assert after["npv_eur"] < before["npv_eur"]  # NPV falls with the discount rate
    used = {a["name"]: a for a in after["assumptions"]}
    assert used["discount_rate"]["value"] == 0.15 and used["discount_rate"]["source"] == "operator"
    _write(economics_file, "")
    assert service.business_case(example, {}, cache, match_id)["economics"]["npv_eur"] == before["npv_eur"]


def test_operator_values_layer_over_country_values(economics_file: Path) -> None:
    default_gas = Assumptions.for_country("SE")["gas_price_eur_per_mwh"]  # Sweden's checked value
    _write(
        economics_file,
        "default:\n  discount_rate: 0.07\n"
        "countries:\n  SE:\n    gas_price_eur_per_mwh: {value: 88.5, source: veyt_ets_2023}\n",
    )
    se, fr = Assumptions.for_country("SE"), Assumptions.for_country("FR")
    assert se["discount_rate"] == fr["discount_rate"] == 0.07
    assert (
        se["gas_price_eur_per_mwh"] == 88.5 != default_gas
        and se.param("gas_price_eur_per_mwh").source == "veyt_ets_2023"
    )
    assert fr["gas_price_eur_per_mwh"] == Assumptions.for_country("EU")["gas_price_eur_per_mwh"]


def test_a_broken_economics_file_names_the_file_and_the_keys(economics_file: Path) -> None:
    _write(
        economics_file, "default:\n  discount_rat: 0.07\n  carbon_price_eur_per_t: lots\ncountries:\n  Denmark: {}\n"
    )
    with pytest.raises(EconomicsDataError) as err:
        Assumptions.for_country("DK")
    text = str(err.value)
    assert "economics.yaml: default.discount_rat: unknown economic assumption" in text
    assert "default.carbon_price_eur_per_t" in text and "countries.Denmark" in text


def test_a_changed_flow_is_not_answered_from_the_cache(alice: Api, bob: Api) -> None:
    ids = _setup(alice, bob)
    match = alice.get(f"/api/v1/flows/{ids['ash']['id']}/matches").json()["matches"][0]
    before = bob.get(f"/api/v1/matches/{match['id']}/economics").json()
    assert before["case"]["annual_quantity"] == pytest.approx(25e6, rel=1e-3)
    r = bob.patch(f"/api/v1/flows/{ids['need']['id']}", json={"quantity": 10000, "unit": "t/yr"})
    assert r.status_code == 200, r.text
    after = bob.get(f"/api/v1/matches/{match['id']}/economics").json()
    assert after["case"]["annual_quantity"] == pytest.approx(10e6, rel=1e-3)
    assert after["economics"]["npv_eur"] < before["economics"]["npv_eur"]
