"""Matching engine core: pure computation on columnar arrays (numpy, scipy; numba when installed).

Services load flows into `FlowArrays`, build a `MatchIndex` once (and `update` it as flows change), then call
`match_all` for every flow's best counterparts or `match_one` for an ad-hoc flow. `explain`/`render` turn a
result row into structured reasons and a sentence. No database, no HTTP, no other turash imports.

Pipeline: prefilter (rules) → candidates (spatial × class × time index) → scorers → ranking (top-K, diversity)
→ fallback (relaxations) → explain; see each module.
"""

from turash.matching.engine._jit import HAVE_NUMBA
from turash.matching.engine.explain import Explanation, explain, months_text, render
from turash.matching.engine.index import MatchIndex
from turash.matching.engine.pairs import PairScores, score_pairs
from turash.matching.engine.pipeline import MatchStats, match_all
from turash.matching.engine.prefilter import prefilter_pairs
from turash.matching.engine.query import PreparedQueries, match_one, prepare_queries
from turash.matching.engine.types import (
    ALL_YEAR,
    DEFAULT_RADIUS_KM,
    OPEN_END,
    OPEN_START,
    SCORE_NAMES,
    Category,
    ClassFit,
    Compatibility,
    FlowArrays,
    MatchParams,
    MatchResult,
    Precision,
    QuantityKind,
    Reason,
    Relaxation,
    ScoreWeights,
)

__all__ = [
    "ALL_YEAR",
    "DEFAULT_RADIUS_KM",
    "HAVE_NUMBA",
    "OPEN_END",
    "OPEN_START",
    "SCORE_NAMES",
    "Category",
    "ClassFit",
    "Compatibility",
    "Explanation",
    "FlowArrays",
    "MatchIndex",
    "MatchParams",
    "MatchResult",
    "MatchStats",
    "PairScores",
    "Precision",
    "PreparedQueries",
    "QuantityKind",
    "Reason",
    "Relaxation",
    "ScoreWeights",
    "explain",
    "match_all",
    "match_one",
    "months_text",
    "prefilter_pairs",
    "prepare_queries",
    "render",
    "score_pairs",
]
