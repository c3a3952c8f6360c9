"""Economics, environment and risk of an exchange: a first-order business case an engineer accepts as a
screening estimate, with every assumption visible, sourced and overridable.

    from turash.economics import ExchangeCase, Assumptions, evaluate, evaluate_many
    result = evaluate(case, Assumptions.for_country("DK").with_overrides(discount_rate=0.06))
    result.as_contract()  # the `economics` block of `turash match`

Pure computation (numpy, numpy-financial): no database, no HTTP. See README.md in this folder for the models
and their sources.
"""

from .assumptions import (
    Assumptions,
    EconomicsData,
    EconomicsDataError,
    Param,
    Source,
    UnknownAssumption,
    get_data,
    load_data,
)
from .core import Rows
from .evaluate import BatchResult, evaluate, evaluate_many, rows_from_cases
from .model import (
    CATEGORIES,
    BusinessCase,
    Category,
    ExchangeCase,
    Precision,
    PriceBand,
    QuantityKind,
    Risk,
    RiskLevel,
    TornadoBar,
    TransportMode,
)

__all__ = [
    "CATEGORIES",
    "Assumptions",
    "BatchResult",
    "BusinessCase",
    "Category",
    "EconomicsData",
    "EconomicsDataError",
    "ExchangeCase",
    "Param",
    "Precision",
    "PriceBand",
    "QuantityKind",
    "Risk",
    "RiskLevel",
    "Rows",
    "Source",
    "TornadoBar",
    "TransportMode",
    "UnknownAssumption",
    "evaluate",
    "evaluate_many",
    "get_data",
    "load_data",
    "rows_from_cases",
]
