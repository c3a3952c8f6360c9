"""Per-flow columns derived once from `FlowArrays`, in the form the pair kernels read (float32, flags).

Everything a scorer can compute for one flow alone is computed here, so that the per-pair work is a few
gathers and arithmetic: positions as unit vectors, yearly amounts as log10, trust as a square root
(the pair's trust is then a product), default prices filled in, booleans packed into one flag byte.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np

from turash.matching.engine import constants as C
from turash.matching.engine._jit import jit_inline
from turash.matching.engine.geo import grid_coords, morton_encode, unit_xyz
from turash.matching.engine.types import F32, I8, I32, I64, Category, FlowArrays, Precision

FLAG_HAZARDOUS = 1
FLAG_PERMIT = 2
FLAG_INFERRED = 4
FLAG_MULTI_CLASS = 8
FLAG_PRICE_DEFAULT = 16

# popcount of the 12-bit month masks
POPCOUNT12 = np.array([bin(i).count("1") for i in range(1 << 12)], dtype=np.uint8)


# Columns of the float matrix (n, N_FF) float32: one 64-byte row per flow, so a pair reads two cache lines.
FX: Final = 0
FY: Final = 1
FZ: Final = 2
FTEMP: Final = 3
FPRESS: Final = 4
FPURITY: Final = 5
FLOGQ: Final = 6
FTRUST: Final = 7
FMONTHINV: Final = 8
FHOURS: Final = 9
FVALUE: Final = 10
FTRUCK: Final = 11
FPIPE: Final = 12
FQUANTITY: Final = 13
N_FF = 16
# Columns of the int matrix (n, N_FI) int32.
IFROM: Final = 0
ITO: Final = 1
IORG: Final = 2
IPACK: Final = 3
IGX: Final = 4
IGY: Final = 5
IGZ: Final = 6
N_FI = 8
# IPACK bit layout: month mask 0-11, flags 12-19, category 20-23, quantity family + 1 24-27.
PACK_FLAGS_SHIFT = 12
PACK_CAT_SHIFT = 20
PACK_FAMILY_SHIFT = 24


@dataclass(frozen=True, eq=False)
class FlowTable:
    """Per-flow columns the kernels read, derived once from `FlowArrays` (row i = flow row i).

    `ff` float32 columns (F*): unit vector x/y/z; temperature, pressure, purity; log10 of the yearly amount in
    the family's base unit (NaN unknown); sqrt of the trust share (a pair's trust is then the product);
    1 / months in the mask; weekly hours share; unit value in EUR per base unit (avoided disposal for a supply,
    avoided purchase for a demand, NaN for services); truck EUR per base unit·km and pipe EUR per km·year
    (supply side, by category). `fi` int32 columns (I*): availability window, organisation, packed
    month/flags/category/family, base grid cell.
    """

    ff: F32
    fi: I32
    key: I64
    morton: I64

    @property
    def n(self) -> int:
        return int(self.key.shape[0])

    def take(self, rows: np.ndarray) -> FlowTable:
        return FlowTable(self.ff[rows], self.fi[rows], self.key[rows], self.morton[rows])

    @staticmethod
    def concat(a: FlowTable, b: FlowTable) -> FlowTable:
        return FlowTable(
            np.concatenate([a.ff, b.ff]),
            np.concatenate([a.fi, b.fi]),
            np.concatenate([a.key, b.key]),
            np.concatenate([a.morton, b.morton]),
        )


def _lookup(table: dict[tuple[int, int], float], cat: I8, fam: I8, default: np.ndarray) -> np.ndarray:
    out = default.copy()
    for (c, f), v in table.items():
        out[(cat == c) & (fam == f)] = v
    return out


def compute_features(flows: FlowArrays) -> FlowTable:
    n = flows.n
    xyz = unit_xyz(flows.lat, flows.lon).astype(np.float32)
    kind = flows.quantity_kind
    kind_family = np.full(n, -1, np.int8)
    for k, f in C.KIND_FAMILY.items():
        kind_family[kind == k] = f
    is_rate = np.isin(kind, [int(k) for k in C.RATE_KINDS])
    hours = np.clip(flows.weekly_hours.astype(np.float64), 0.0, 1.0)
    months = POPCOUNT12[flows.month_mask & 0xFFF].astype(np.float64)
    # A rate runs only in its hours and months: yearly amount = rate · seconds/year · hours share · months/12.
    yearly = np.where(is_rate, flows.quantity * C.SECONDS_PER_YEAR * hours * months / 12.0, flows.quantity)
    with np.errstate(divide="ignore", invalid="ignore"):
        log_amount = np.where((kind_family >= 0) & (yearly > 0), np.log10(yearly), np.nan)
    family = np.where(np.isnan(log_amount), -1, kind_family).astype(np.int8)

    trust = np.full(n, C.PRECISION_TRUST[Precision.ESTIMATED])
    for p, t in C.PRECISION_TRUST.items():
        trust[flows.precision == p] = t
    trust = np.where(flows.inferred, trust * C.INFERRED_TRUST, trust)

    cat = flows.category
    # The value family comes from the quantity kind; a flow without a quantity takes its category's usual one.
    cat_family = np.select(
        [np.isin(cat, [Category.HEAT, Category.ENERGY]), cat == Category.WATER],
        [C.FAMILY_ENERGY, C.FAMILY_VOLUME],
        C.FAMILY_MASS,
    ).astype(np.int8)
    vfam = np.where(kind_family >= 0, kind_family, cat_family).astype(np.int8)
    purchase = np.zeros(n)
    for f, v in C.DEFAULT_PURCHASE_VALUE.items():
        purchase[vfam == f] = v
    purchase = _lookup({(int(c), f): v for (c, f), v in C.CATEGORY_PURCHASE_VALUE.items()}, cat, vfam, purchase)
    disposal = _lookup({(int(c), f): v for (c, f), v in C.DEFAULT_DISPOSAL_COST.items()}, cat, vfam, np.zeros(n))
    price = flows.price_eur
    known = np.isfinite(price)
    supply_value = np.where(known, np.maximum(-price, 0.0), disposal)  # a gate fee is avoided disposal
    demand_value = np.where(known & (price > 0), price, purchase)
    demand_default = ~(known & (price > 0))
    unit_value = np.where(flows.is_supply, supply_value, demand_value)
    service = cat == Category.SERVICE
    unit_value = np.where(service, np.nan, unit_value)
    price_default = np.where(flows.is_supply, ~known, demand_default) | service

    pipe_cat = np.isin(cat, [int(c) for c in C.PIPE_CATEGORIES])
    pipe = np.zeros(n)
    for c, v in C.PIPE_EUR_PER_KM_YEAR.items():
        pipe[cat == c] = v
    truck = np.zeros(n)
    for f, v in C.TRUCK_EUR_PER_UNIT_KM.items():
        truck[vfam == f] = v
    truck = np.where(pipe_cat, 0.0, truck)

    n_classes = np.diff(flows.class_indptr)
    flags = (
        flows.hazardous.astype(np.uint8) * FLAG_HAZARDOUS
        | flows.hazard_permit.astype(np.uint8) * FLAG_PERMIT
        | flows.inferred.astype(np.uint8) * FLAG_INFERRED
        | (n_classes > 1).astype(np.uint8) * FLAG_MULTI_CLASS
        | price_default.astype(np.uint8) * FLAG_PRICE_DEFAULT
    ).astype(np.uint8)
    family_code = family.astype(np.int32) + 1
    ff = np.full((n, N_FF), np.nan, np.float32)
    ff[:, FX] = xyz[:, 0]
    ff[:, FY] = xyz[:, 1]
    ff[:, FZ] = xyz[:, 2]
    ff[:, FTEMP] = flows.temperature_c
    ff[:, FPRESS] = flows.pressure_bar
    ff[:, FPURITY] = flows.purity_pct
    ff[:, FLOGQ] = log_amount
    ff[:, FTRUST] = np.sqrt(trust)
    ff[:, FMONTHINV] = 1.0 / np.maximum(months, 1.0)
    ff[:, FHOURS] = hours
    ff[:, FVALUE] = unit_value
    ff[:, FTRUCK] = truck
    ff[:, FPIPE] = pipe
    ff[:, FQUANTITY] = np.where(family >= 0, 10.0 ** np.nan_to_num(log_amount), np.nan)
    grid = grid_coords(xyz)
    fi = np.zeros((n, N_FI), np.int32)
    fi[:, IFROM] = flows.available_from
    fi[:, ITO] = flows.available_to
    fi[:, IORG] = flows.org
    fi[:, IPACK] = (
        (flows.month_mask.astype(np.int32) & 0xFFF)
        | (flags.astype(np.int32) << PACK_FLAGS_SHIFT)
        | (flows.category.astype(np.int32) << PACK_CAT_SHIFT)
        | (family_code << PACK_FAMILY_SHIFT)
    )
    fi[:, IGX] = grid[:, 0]
    fi[:, IGY] = grid[:, 1]
    fi[:, IGZ] = grid[:, 2]
    morton = morton_encode(grid[:, 0], grid[:, 1], grid[:, 2])
    return FlowTable(ff=ff, fi=fi, key=flows.key.copy(), morton=morton)


# A flow row as a tuple of scalars (what the per-pair kernels take: no arrays, so no reference counting per
# call). Float fields use the F* column numbers; then the ints below.
R_FROM: Final = 14
R_TO: Final = 15
R_ORG: Final = 16
R_PACK: Final = 17
FlowRow = tuple[
    float,
    float,
    float,
    float,
    float,
    float,
    float,
    float,
    float,
    float,
    float,
    float,
    float,
    float,
    int,
    int,
    int,
    int,
]


@jit_inline
def load_row(ff: F32, fi: I32, r: int) -> FlowRow:
    return (
        float(ff[r, 0]),
        float(ff[r, 1]),
        float(ff[r, 2]),
        float(ff[r, 3]),
        float(ff[r, 4]),
        float(ff[r, 5]),
        float(ff[r, 6]),
        float(ff[r, 7]),
        float(ff[r, 8]),
        float(ff[r, 9]),
        float(ff[r, 10]),
        float(ff[r, 11]),
        float(ff[r, 12]),
        float(ff[r, 13]),
        int(fi[r, IFROM]),
        int(fi[r, ITO]),
        int(fi[r, IORG]),
        int(fi[r, IPACK]),
    )
