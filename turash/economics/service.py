"""The business case of a match: its exchange priced in full (Monte Carlo ranges, tornado, price band, risk),
with overrides per request, cached an hour by its inputs (Redis when configured) and rendered as a one-page
report (HTML; PDF from the same page)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict
from typing import Any

import numpy as np
from sqlalchemy.orm import Session

from turash.economics import assumptions, evaluate
from turash.kit.cache import Cache
from turash.kit.errors import NotFound, ValidationFailed
from turash.matching import economics as match_economics
from turash.matching import repository, service

CACHE_SECONDS = 3600


def parse_overrides(pairs: list[str] | None) -> dict[str, float]:
    """`discount_rate=0.06` style pairs → {name: value}; the economics module checks the names."""
    out: dict[str, float] = {}
    for pair in pairs or []:
        name, sep, value = pair.partition("=")
        if not sep:
            raise ValidationFailed(f"override {pair!r} is not name=value")
        try:
            out[name.strip()] = float(value)
        except ValueError:
            raise ValidationFailed(f"override {name.strip()} must be a number, got {value!r}") from None
    return out


def cache_key(case: dict[str, Any], overrides: dict[str, float] | None) -> str:
    """The cache key of a business case: its inputs (the exchange, as the flows define it), the request's overrides
    and the fingerprint of the data and price-setting files. A changed flow or price setting changes the key, so a
    stale result is never read (it expires with its hour)."""
    inputs = [case, sorted((overrides or {}).items()), assumptions.fingerprint()]
    return "econ:" + hashlib.sha256(json.dumps(inputs, default=str, sort_keys=True).encode()).hexdigest()


def business_case(
    session: Session, holder: dict[str, Any], cache: Cache, match_id: str, overrides: dict[str, float] | None = None
) -> dict[str, Any]:
    """The match (as `GET /matches/{id}` shows it) and its full business case."""
    match = service.match_for_pair(session, holder, match_id)
    st = service.state(session, holder)
    pair = repository.flows_of_match(match_id)
    assert pair is not None  # match_for_pair has checked the id
    keys = np.array([st.flows.row_of_flow[pair[0]], st.flows.row_of_flow[pair[1]]], dtype=np.int64)
    srow, drow = (int(r) for r in st.index.rows_of(keys))
    result = service.score_pair(st, srow, drow, service.MatchRequest().params())
    if result is None:
        raise NotFound(f"the flows of match '{match_id}' do not fit together", details={"id": match_id})
    case = match_economics.cases(st.index, result, np.array([0]), st.flows, st.catalog.class_ids)[0]
    key = cache_key(asdict(case), overrides)
    cached = cache.get(key)
    if cached is not None:
        economics = json.loads(cached)
    else:
        economics = evaluate(case, overrides=overrides or None).as_dict()
        cache.set(key, json.dumps(economics), CACHE_SECONDS)
    return {"match": match, "case": asdict(case), "economics": economics, "overrides": overrides or {}}
