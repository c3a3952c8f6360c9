"""Inputs and outputs of the matching engine: columnar arrays, codes and parameters.

Everything here is plain numpy; the services convert database rows into these arrays and results back.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields, replace
from enum import IntEnum, IntFlag
from typing import Any, TypeAlias

import numpy as np
import scipy.sparse as sp
from numpy.typing import ArrayLike, NDArray

F64: TypeAlias = NDArray[np.float64]
F32: TypeAlias = NDArray[np.float32]
I64: TypeAlias = NDArray[np.int64]
I32: TypeAlias = NDArray[np.int32]
I8: TypeAlias = NDArray[np.int8]
U8: TypeAlias = NDArray[np.uint8]
U16: TypeAlias = NDArray[np.uint16]
Bool: TypeAlias = NDArray[np.bool_]


class Category(IntEnum):
    """Flow category codes, in the order of the contract (`turash import flows`, column `category`)."""

    HEAT = 0
    STEAM = 1
    WATER = 2
    MATERIAL = 3
    GAS = 4
    ENERGY = 5
    SERVICE = 6


N_CATEGORIES = len(Category)


class QuantityKind(IntEnum):
    """What an SI quantity measures. Rates are per second; amounts are read as totals per year."""

    UNKNOWN = -1
    MASS_RATE = 0  # kg/s
    POWER = 1  # W
    VOLUME_RATE = 2  # m3/s
    ENERGY = 3  # J (per year)
    MASS = 4  # kg (per year)
    VOLUME = 5  # m3 (per year)


class Precision(IntEnum):
    ROUGH = 0
    ESTIMATED = 1
    MEASURED = 2


# Availability windows are days since 1970-01-01 (inclusive); these sentinels mean "open end".
OPEN_START = -(2**30)
OPEN_END = 2**30 - 1
ALL_YEAR = 0xFFF  # month mask: bit m (0 = January) set when the flow exists in that month


class Relaxation(IntFlag):
    """Which strict rule a fallback match breaks. Set only on matches found by the fallback."""

    NONE = 0
    RADIUS = 1  # farther than the category radius (or the global maximum)
    HEAT_PUMP = 2  # supply too cold for the demand: needs a heat pump lift
    TREATMENT = 4  # purity below the required minimum: needs treatment
    PRESSURE = 8  # pressure below the required minimum: needs compression
    PARTIAL_QUANTITY = 16  # covers less than `MatchParams.min_coverage` of the demand


class Reason(IntFlag):
    """Facts about a match that the explanation reports (bit flags, uint16)."""

    NONE = 0
    TEMPERATURE_UNKNOWN = 1  # a temperature rule applied but a temperature is unknown
    PRESSURE_UNKNOWN = 2
    PURITY_UNKNOWN = 4
    QUANTITY_UNKNOWN = 8  # quantity score neutral: a quantity is unknown or of another kind
    NEEDS_TREATMENT = 16  # the catalogue says this class pair needs treatment
    OVERSIZED = 32  # supply more than twice the demand
    PARTIAL = 64  # supply covers less than the whole demand
    PRICE_DEFAULT = 128  # economic value from category defaults, not from stated prices
    INFERRED = 256  # at least one side is an inferred flow
    PIPE = 512  # transport by pipe (heat, steam, water, gas), else by truck
    NOT_VIABLE = 1024  # transport costs at least the value exchanged


SCORE_NAMES: tuple[str, ...] = ("quality", "temporal", "quantity", "economic", "trust", "distance")
N_SCORES = len(SCORE_NAMES)


def _arr(value: ArrayLike, dtype: Any, name: str) -> Any:
    out = np.ascontiguousarray(np.asarray(value), dtype=dtype)
    if out.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {out.shape}")
    return out


# Column name -> (dtype, default for `FlowArrays.build`); None = required.
_FLOW_COLUMNS: dict[str, tuple[Any, float | int | bool | None]] = {
    "key": (np.int64, None),
    "lat": (np.float64, None),
    "lon": (np.float64, None),
    "is_supply": (np.bool_, None),
    "category": (np.int8, None),
    "quantity": (np.float64, math.nan),
    "quantity_kind": (np.int8, int(QuantityKind.UNKNOWN)),
    "temperature_c": (np.float64, math.nan),
    "pressure_bar": (np.float64, math.nan),
    "purity_pct": (np.float64, math.nan),
    "hazardous": (np.bool_, False),
    "hazard_permit": (np.bool_, False),
    "available_from": (np.int32, OPEN_START),
    "available_to": (np.int32, OPEN_END),
    "month_mask": (np.uint16, ALL_YEAR),
    "weekly_hours": (np.float32, 1.0),
    "precision": (np.int8, int(Precision.ESTIMATED)),
    "inferred": (np.bool_, False),
    "org": (np.int32, None),
    "price_eur": (np.float64, math.nan),
}


@dataclass(frozen=True, eq=False)
class FlowArrays:
    """n resource flows as columns (one row per flow).

    Resource classes are in CSR form: the classes of row i are `class_index[class_indptr[i]:class_indptr[i+1]]`
    with weights `class_weight[...]` (a flow's text may resolve to several classes; weights in (0, 1]).
    Quantities are SI (`QuantityKind`); NaN means unknown, as for temperature, pressure, purity and price.
    `price_eur` is per SI unit of the flow's quantity (EUR/kg, EUR/J, EUR/m3): a supply's asking price or a
    demand's willingness to pay; negative = gate fee (the supplier pays to get rid of it).
    A demand's `temperature_c` is the temperature it needs delivered; its `pressure_bar` and `purity_pct` are
    the minimums it accepts. `weekly_hours` is the share of the week the flow runs (1.0 = 24/7).
    """

    key: I64
    lat: F64
    lon: F64
    is_supply: Bool
    category: I8
    class_indptr: I32
    class_index: I32
    class_weight: F32
    quantity: F64
    quantity_kind: I8
    temperature_c: F64
    pressure_bar: F64
    purity_pct: F64
    hazardous: Bool
    hazard_permit: Bool
    available_from: I32
    available_to: I32
    month_mask: U16
    weekly_hours: F32
    precision: I8
    inferred: Bool
    org: I32
    price_eur: F64

    def __post_init__(self) -> None:
        for name, (dtype, _default) in _FLOW_COLUMNS.items():
            object.__setattr__(self, name, _arr(getattr(self, name), dtype, name))
        object.__setattr__(self, "class_indptr", _arr(self.class_indptr, np.int32, "class_indptr"))
        object.__setattr__(self, "class_index", _arr(self.class_index, np.int32, "class_index"))
        object.__setattr__(self, "class_weight", _arr(self.class_weight, np.float32, "class_weight"))
        self.validate()

    @property
    def n(self) -> int:
        return int(self.key.shape[0])

    def __len__(self) -> int:
        return self.n

    def validate(self) -> None:
        """Raise ValueError on inconsistent shapes or values the engine cannot read.

        Key uniqueness is checked by `MatchIndex` (it sorts the keys anyway)."""
        n = self.n
        for name in _FLOW_COLUMNS:
            if getattr(self, name).shape[0] != n:
                raise ValueError(f"column {name} has {getattr(self, name).shape[0]} rows, expected {n}")
        ip = self.class_indptr
        if ip.shape[0] != n + 1 or (n + 1 > 0 and ip[0] != 0) or np.any(np.diff(ip) < 0):
            raise ValueError("class_indptr must have n+1 non-decreasing entries starting at 0")
        m = int(ip[-1]) if ip.shape[0] else 0
        if self.class_index.shape[0] != m or self.class_weight.shape[0] != m:
            raise ValueError("class_index and class_weight must have class_indptr[-1] entries")
        if m and (self.class_index.min() < 0):
            raise ValueError("class_index must be >= 0")
        if m and not np.all((self.class_weight > 0) & (self.class_weight <= 1)):
            raise ValueError("class_weight must be in (0, 1]")
        if n and (np.any(self.category < 0) or np.any(self.category >= N_CATEGORIES)):
            raise ValueError("category code out of range 0..6")
        if n and (np.any(np.abs(self.lat) > 90) or np.any(np.abs(self.lon) > 180)):
            raise ValueError("lat/lon outside WGS84 bounds")
        if n and (not np.all(np.isfinite(self.lat)) or not np.all(np.isfinite(self.lon))):
            raise ValueError("lat/lon must be finite")
        if n and np.any(self.available_from > self.available_to):
            raise ValueError("available_from after available_to")

    @classmethod
    def build(cls, *, classes: Iterable[Any], **columns: ArrayLike) -> FlowArrays:
        """Build from columns, filling optional ones with their defaults.

        `classes` has one entry per flow: an int class index, or a sequence of (class, weight) pairs.
        Required columns: key, lat, lon, is_supply, category, org.
        """
        indptr = [0]
        idx: list[int] = []
        wts: list[float] = []
        for c in classes:
            if isinstance(c, int | np.integer):
                idx.append(int(c))
                wts.append(1.0)
            else:
                for ci, w in c:
                    idx.append(int(ci))
                    wts.append(float(w))
            indptr.append(len(idx))
        n = len(indptr) - 1
        cols: dict[str, Any] = {}
        for name, (dtype, default) in _FLOW_COLUMNS.items():
            if name in columns:
                cols[name] = np.asarray(columns.pop(name), dtype=dtype)
            elif default is None:
                raise ValueError(f"missing required column {name}")
            else:
                cols[name] = np.full(n, default, dtype=dtype)
        if columns:
            raise ValueError(f"unknown columns: {sorted(columns)}")
        return cls(
            class_indptr=np.asarray(indptr, np.int32),
            class_index=np.asarray(idx, np.int32),
            class_weight=np.asarray(wts, np.float32),
            **cols,
        )

    def take(self, rows: ArrayLike) -> FlowArrays:
        """The flows at `rows` (an index array or boolean mask), in that order."""
        r = np.asarray(rows)
        if r.dtype == np.bool_:
            r = np.flatnonzero(r)
        r = r.astype(np.intp)
        starts = self.class_indptr[r]
        lens = self.class_indptr[r + 1] - starts
        indptr = np.zeros(r.shape[0] + 1, np.int32)
        np.cumsum(lens, out=indptr[1:])
        pos = np.repeat(starts - indptr[:-1], lens) + np.arange(int(indptr[-1]))
        cols = {name: getattr(self, name)[r] for name in _FLOW_COLUMNS}
        return FlowArrays(
            class_indptr=indptr, class_index=self.class_index[pos], class_weight=self.class_weight[pos], **cols
        )

    @staticmethod
    def concat(parts: Iterable[FlowArrays]) -> FlowArrays:
        ps = list(parts)
        if not ps:
            raise ValueError("nothing to concatenate")
        cols = {name: np.concatenate([getattr(p, name) for p in ps]) for name in _FLOW_COLUMNS}
        offsets = np.cumsum([0] + [int(p.class_indptr[-1]) for p in ps[:-1]])
        indptr = np.concatenate(
            [ps[0].class_indptr[:1]] + [p.class_indptr[1:] + o for p, o in zip(ps, offsets, strict=True)]
        )
        return FlowArrays(
            class_indptr=indptr,
            class_index=np.concatenate([p.class_index for p in ps]),
            class_weight=np.concatenate([p.class_weight for p in ps]),
            **cols,
        )

    def replace(self, **changes: Any) -> FlowArrays:
        return replace(self, **changes)


COLUMN_NAMES: tuple[str, ...] = tuple(f.name for f in fields(FlowArrays))


@dataclass(frozen=True)
class ClassFit:
    """One entry of the compatibility matrix: how well a supply class serves a demand class, and under what
    conditions on the supply (NaN = no condition)."""

    fit: float
    min_temperature_c: float = math.nan
    max_temperature_c: float = math.nan
    min_purity_pct: float = math.nan
    min_pressure_bar: float = math.nan
    needs_treatment: bool = False


@dataclass(frozen=True, eq=False)
class Compatibility:
    """Sparse class compatibility: row = supply class, column = demand class, value = fit in (0, 1].

    The condition arrays are aligned with the CSR data (`indices`): entry k is the pair
    (row of k, indices[k]). Rows have sorted column indices and no duplicates.
    """

    n_classes: int
    indptr: I32
    indices: I32
    fit: F32
    min_temperature_c: F32
    max_temperature_c: F32
    min_purity_pct: F32
    min_pressure_bar: F32
    needs_treatment: Bool

    def __post_init__(self) -> None:
        nnz = int(self.indptr[-1])
        if self.indptr.shape[0] != self.n_classes + 1:
            raise ValueError("indptr must have n_classes + 1 entries")
        for name in (
            "indices",
            "fit",
            "min_temperature_c",
            "max_temperature_c",
            "min_purity_pct",
            "min_pressure_bar",
            "needs_treatment",
        ):
            if getattr(self, name).shape[0] != nnz:
                raise ValueError(f"{name} must have nnz = {nnz} entries")
        if nnz and not np.all(self.fit > 0):
            raise ValueError("stored fits must be > 0 (leave incompatible pairs out)")

    @property
    def nnz(self) -> int:
        return int(self.indptr[-1])

    @property
    def row_of_entry(self) -> I32:
        """Supply class of each stored entry."""
        return np.repeat(np.arange(self.n_classes, dtype=np.int32), np.diff(self.indptr)).astype(np.int32)

    def matrix(self) -> sp.csr_matrix:
        return sp.csr_matrix((self.fit, self.indices, self.indptr), shape=(self.n_classes, self.n_classes))

    def entry(self, supply_class: int, demand_class: int) -> int:
        """Index k of the stored entry for this class pair, or -1."""
        lo, hi = int(self.indptr[supply_class]), int(self.indptr[supply_class + 1])
        k = lo + int(np.searchsorted(self.indices[lo:hi], demand_class))
        return k if k < hi and int(self.indices[k]) == demand_class else -1

    @classmethod
    def from_csr(
        cls,
        matrix: Any,
        *,
        min_temperature_c: ArrayLike | None = None,
        max_temperature_c: ArrayLike | None = None,
        min_purity_pct: ArrayLike | None = None,
        min_pressure_bar: ArrayLike | None = None,
        needs_treatment: ArrayLike | None = None,
    ) -> Compatibility:
        """From a scipy sparse matrix (any format) with condition arrays aligned with its stored entries
        in row-major order (the COO order of `matrix.tocoo()` after sorting by row then column)."""
        coo = sp.coo_matrix(matrix)
        n = int(coo.shape[0])
        if coo.shape[0] != coo.shape[1]:
            raise ValueError("compatibility matrix must be square")
        rows = np.asarray(coo.row, np.int64)
        cols = np.asarray(coo.col, np.int64)
        order = np.lexsort((cols, rows))
        nnz = rows.shape[0]

        def cond(a: ArrayLike | None, fill: float) -> F32:
            if a is None:
                return np.full(nnz, fill, np.float32)
            out = np.asarray(a, np.float32)
            if out.shape != (nnz,):
                raise ValueError("condition arrays must have one value per stored entry")
            return out[order]

        fit = np.asarray(coo.data, np.float32)[order]
        r, c = rows[order], cols[order]
        if nnz and np.any((np.diff(r) == 0) & (np.diff(c) == 0)):
            raise ValueError("duplicate class pairs")
        treat = np.zeros(nnz, np.bool_) if needs_treatment is None else np.asarray(needs_treatment, np.bool_)[order]
        arrays = {
            "min_temperature_c": cond(min_temperature_c, math.nan),
            "max_temperature_c": cond(max_temperature_c, math.nan),
            "min_purity_pct": cond(min_purity_pct, math.nan),
            "min_pressure_bar": cond(min_pressure_bar, math.nan),
        }
        keep = fit > 0
        indptr = np.zeros(n + 1, np.int32)
        np.cumsum(np.bincount(r[keep], minlength=n), out=indptr[1:])
        return cls(
            n_classes=n,
            indptr=indptr,
            indices=c[keep].astype(np.int32),
            fit=fit[keep],
            min_temperature_c=arrays["min_temperature_c"][keep].astype(np.float32),
            max_temperature_c=arrays["max_temperature_c"][keep].astype(np.float32),
            min_purity_pct=arrays["min_purity_pct"][keep].astype(np.float32),
            min_pressure_bar=arrays["min_pressure_bar"][keep].astype(np.float32),
            needs_treatment=treat[keep],
        )

    @classmethod
    def from_dict(cls, entries: Mapping[tuple[int, int], float | ClassFit], n_classes: int) -> Compatibility:
        """`{(supply_class, demand_class): fit or ClassFit}`; fits <= 0 are left out."""
        items = sorted(entries.items())
        specs = [v if isinstance(v, ClassFit) else ClassFit(float(v)) for _, v in items]
        rows = np.asarray([k[0] for k, _ in items], np.int64)
        cols = np.asarray([k[1] for k, _ in items], np.int64)
        if rows.size and (rows.max() >= n_classes or cols.max() >= n_classes or min(rows.min(), cols.min()) < 0):
            raise ValueError("class index out of range")
        m = sp.coo_matrix((np.asarray([s.fit for s in specs], np.float32), (rows, cols)), shape=(n_classes, n_classes))
        return cls.from_csr(
            m,
            min_temperature_c=[s.min_temperature_c for s in specs],
            max_temperature_c=[s.max_temperature_c for s in specs],
            min_purity_pct=[s.min_purity_pct for s in specs],
            min_pressure_bar=[s.min_pressure_bar for s in specs],
            needs_treatment=[s.needs_treatment for s in specs],
        )


@dataclass(frozen=True)
class ScoreWeights:
    """Weights of the weighted sum; normalised by their total, so any non-negative set with a positive sum
    works (the defaults sum to 1)."""

    quality: float = 0.25
    temporal: float = 0.15
    quantity: float = 0.15
    economic: float = 0.15
    trust: float = 0.10
    distance: float = 0.20

    def vector(self) -> F32:
        w = np.asarray([getattr(self, n) for n in SCORE_NAMES], np.float64)
        if np.any(w < 0) or not np.isfinite(w).all() or w.sum() <= 0:
            raise ValueError("weights must be finite, non-negative, and not all zero")
        out: F32 = (w / w.sum()).astype(np.float32)
        return out

    @classmethod
    def only(cls, name: str) -> ScoreWeights:
        """All weight on one scorer (e.g. `only("distance")` ranks by nearness alone)."""
        if name not in SCORE_NAMES:
            raise ValueError(f"unknown scorer {name!r}")
        return cls(**{n: (1.0 if n == name else 0.0) for n in SCORE_NAMES})


DEFAULT_RADIUS_KM: tuple[float, ...] = (20.0, 5.0, 30.0, 200.0, 50.0, 50.0, 200.0)


@dataclass(frozen=True)
class MatchParams:
    """Per-call settings. Radii are per category of the supply, capped by `max_radius_km`."""

    radius_km: tuple[float, ...] = DEFAULT_RADIUS_KM
    max_radius_km: float = math.inf
    top_k: int = 10
    weights: ScoreWeights = field(default_factory=ScoreWeights)
    approach_dt_k: float = 10.0  # heat exchanger approach temperature difference
    max_per_org: int = 2  # diversity: at most this many entries from one counterpart organisation per list
    include_inferred: bool = False
    min_coverage: float = 0.05  # a supply must cover at least this share of the demand (when both known)
    fallback: bool = True  # relax step by step for flows with no candidate
    relax_radius_factor: float = 2.0
    heat_pump_max_lift_k: float = 40.0  # fallback: how far below the need a heat pump may lift
    unknown_trust_factor: float = 0.85  # trust multiplier per rule passed on an unknown value

    def __post_init__(self) -> None:
        if len(self.radius_km) != N_CATEGORIES:
            raise ValueError(f"radius_km needs {N_CATEGORIES} values (one per category)")
        if any(not (r > 0) for r in self.radius_km) or not (self.max_radius_km > 0):
            raise ValueError("radii must be > 0")
        if self.top_k < 1 or self.max_per_org < 1:
            raise ValueError("top_k and max_per_org must be >= 1")
        if not (0 <= self.min_coverage <= 1):
            raise ValueError("min_coverage must be in 0..1")
        if self.relax_radius_factor < 1:
            raise ValueError("relax_radius_factor must be >= 1")
        self.weights.vector()

    def effective_radius_km(self) -> F64:
        """Radius per category after the global cap."""
        return np.minimum(np.asarray(self.radius_km, np.float64), self.max_radius_km)

    def with_radius(self, **by_category: float) -> MatchParams:
        """E.g. `params.with_radius(heat=10, material=50)`."""
        r = list(self.radius_km)
        for name, value in by_category.items():
            r[Category[name.upper()]] = float(value)
        return replace(self, radius_km=tuple(r))


@dataclass(frozen=True, eq=False)
class MatchResult:
    """Matches as parallel arrays. `match_all` returns them grouped by flow (cheap); `sorted()` orders them
    by score (descending), then supply key, then demand key.

    `selected_by`: 1 = among the supply's top K, 2 = among the demand's top K, 3 = both.
    `class_pair`: the compatibility entry (index into `Compatibility.indices`) that made the match.
    `coverage`: supply / demand (annual amounts in the same SI family), NaN when unknown.
    `temperature_margin_k`: the smallest margin of the supply temperature over the temperature rules that apply
    (demand temperature + approach ΔT for heat and steam; the class pair's minimum), NaN when none could be
    evaluated. `relaxation`: `Relaxation` bits of the strict rules the match breaks (fallback matches only).
    """

    supply_row: I32
    demand_row: I32
    supply_key: I64
    demand_key: I64
    score: F32
    sub_scores: F32  # shape (n, 6), columns in SCORE_NAMES order
    distance_km: F32
    relaxation: U8
    reasons: U16
    class_pair: I32
    fit: F32
    coverage: F32
    temperature_margin_k: F32
    selected_by: U8

    @property
    def n(self) -> int:
        return int(self.score.shape[0])

    def __len__(self) -> int:
        return self.n

    def take(self, rows: ArrayLike) -> MatchResult:
        r = np.asarray(rows)
        return MatchResult(**{f.name: getattr(self, f.name)[r] for f in fields(self)})

    def sorted(self) -> MatchResult:
        """Rows by score (descending), then supply key, then demand key."""
        return self.take(_sorted_order(self.score, self.supply_key, self.demand_key))

    def scores_dict(self, i: int) -> dict[str, float]:
        return {name: float(self.sub_scores[i, j]) for j, name in enumerate(SCORE_NAMES)}

    @classmethod
    def empty(cls) -> MatchResult:
        return cls(
            supply_row=np.zeros(0, np.int32),
            demand_row=np.zeros(0, np.int32),
            supply_key=np.zeros(0, np.int64),
            demand_key=np.zeros(0, np.int64),
            score=np.zeros(0, np.float32),
            sub_scores=np.zeros((0, N_SCORES), np.float32),
            distance_km=np.zeros(0, np.float32),
            relaxation=np.zeros(0, np.uint8),
            reasons=np.zeros(0, np.uint16),
            class_pair=np.zeros(0, np.int32),
            fit=np.zeros(0, np.float32),
            coverage=np.zeros(0, np.float32),
            temperature_margin_k=np.zeros(0, np.float32),
            selected_by=np.zeros(0, np.uint8),
        )


def _sorted_order(score: F32, supply_key: I64, demand_key: I64) -> NDArray[np.intp]:
    return np.lexsort((demand_key, supply_key, -score.astype(np.float64)))
