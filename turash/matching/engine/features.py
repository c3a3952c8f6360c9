"""Per-flow values derived once from `FlowArrays`, packed in one 64-byte record per flow.

Everything a scorer can compute for one flow alone is computed here, so that the per-pair work is a few
loads and arithmetic: position as a unit vector, the yearly amount as log10, trust as a square root (the
pair's trust is then a product), default prices and transport costs filled in, booleans packed into bits.
A pair reads two records, one cache line each.

The record is a row of a float32 (n, 16) array; its last four words hold int32 values (read through an int32
view of the same memory, `FlowTable.ri`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

import numpy as np

from turash.matching.engine import constants as C
from turash.matching.engine._jit import jit, parallel_map
from turash.matching.engine.geo import GRID_SIZE
from turash.matching.engine.types import F32, F64, I32, I64, U8, Category, FlowArrays, Precision, QuantityKind

FLAG_HAZARDOUS = 1
FLAG_PERMIT = 2
FLAG_INFERRED = 4
FLAG_MULTI_CLASS = 8
FLAG_PRICE_DEFAULT = 16

# popcount of the 12-bit month masks
POPCOUNT12 = np.array([bin(i).count("1") for i in range(1 << 12)], dtype=np.uint8)
# 1 / months in a mask (float32, as stored), by popcount; 1 for an empty mask
MONTH_INV = (1.0 / np.maximum(np.arange(13, dtype=np.float64), 1.0)).astype(np.float32)

# Words of the record. Floats (float32):
FX: Final = 0  # unit vector x, y, z
FY: Final = 1
FZ: Final = 2
FTEMP: Final = 3  # °C
FPRESS: Final = 4  # bar
FPURITY: Final = 5  # %
FLOGQ: Final = 6  # log10 of the yearly amount in the family's base unit (NaN unknown)
FTRUST: Final = 7  # sqrt of the trust share
FHOURS: Final = 8  # weekly hours share
FVALUE: Final = 9  # EUR per base unit: avoided disposal (supply) or purchase (demand); NaN for services
FQUANTITY: Final = 10  # yearly amount (10 ** FLOGQ, NaN unknown)
FTRANSPORT: Final = 11  # as a supply: pipe EUR per km·year (pipe categories) or truck EUR per unit·km
# ints (int32, through the int32 view):
IFROM: Final = 12  # availability window, days since 1970-01-01
ITO: Final = 13
IORG: Final = 14
IPACK: Final = 15  # month mask 0-11, flags 12-19, category 20-23, quantity family + 1 24-27
N_REC = 16
PACK_FLAGS_SHIFT = 12
PACK_CAT_SHIFT = 20
PACK_FAMILY_SHIFT = 24
# categories moved by pipe, as bits
PIPE_CATEGORY_BITS = sum(1 << int(c) for c in C.PIPE_CATEGORIES)


@dataclass(frozen=True, eq=False)
class FlowTable:
    """Per-flow records the kernels read (row i = flow row i), the flows' keys and Morton codes of their base
    grid cells."""

    rec: F32  # (n, N_REC)
    key: I64
    morton: I64

    @property
    def ri(self) -> I32:
        """The records as int32 words (same memory)."""
        out: I32 = self.rec.view(np.int32)
        return out

    @property
    def n(self) -> int:
        return int(self.key.shape[0])

    def take(self, rows: np.ndarray) -> FlowTable:
        return FlowTable(self.rec[rows], self.key[rows], self.morton[rows])

    @staticmethod
    def concat(a: FlowTable, b: FlowTable) -> FlowTable:
        return FlowTable(
            np.concatenate([a.rec, b.rec]), np.concatenate([a.key, b.key]), np.concatenate([a.morton, b.morton])
        )


def _tables() -> tuple[F64, F64, F64, F64, F64]:
    """Lookup tables by code: trust by (precision, inferred); purchase value, disposal cost and transport cost
    by (category, value family); family by quantity kind + 1 (-1 none)."""
    trust = np.zeros((4, 2))
    for p in range(4):
        t = C.PRECISION_TRUST.get(Precision(p), C.PRECISION_TRUST[Precision.ESTIMATED]) if p < 3 else 0.75
        trust[p] = (t, t * C.INFERRED_TRUST)
    n_cat = len(Category)
    purchase = np.zeros((n_cat, 3))
    disposal = np.zeros((n_cat, 3))
    transport = np.zeros((n_cat, 3))
    for c in range(n_cat):
        for f in range(3):
            purchase[c, f] = C.CATEGORY_PURCHASE_VALUE.get((Category(c), f), C.DEFAULT_PURCHASE_VALUE[f])
            disposal[c, f] = C.DEFAULT_DISPOSAL_COST.get((Category(c), f), 0.0)
            pipe = C.PIPE_EUR_PER_KM_YEAR.get(Category(c), 0.0)
            transport[c, f] = pipe if Category(c) in C.PIPE_CATEGORIES else C.TRUCK_EUR_PER_UNIT_KM[f]
    family = np.full(8, -1.0)
    for k, f in C.KIND_FAMILY.items():
        family[int(k) + 1] = f
    return trust, purchase, disposal, transport, family


_TRUST, _PURCHASE, _DISPOSAL, _TRANSPORT, _KIND_FAMILY = _tables()
_RATE_KINDS = sum(1 << int(k) for k in C.RATE_KINDS)
_DEG = math.pi / 180.0
_HALF_GRID = GRID_SIZE / 2.0
_GRID_TOP = GRID_SIZE - 1
_SECONDS = C.SECONDS_PER_YEAR
_FAM_MASS, _FAM_ENERGY, _FAM_VOLUME = C.FAMILY_MASS, C.FAMILY_ENERGY, C.FAMILY_VOLUME
_HEAT, _ENERGY, _WATER, _SERVICE = int(Category.HEAT), int(Category.ENERGY), int(Category.WATER), int(Category.SERVICE)


@jit
def spread3(v: int) -> int:
    """Insert two zero bits between the 16 low bits of v (3-D Morton interleave)."""
    v = v & 0xFFFF
    v = (v | (v << 32)) & 0x1F00000000FFFF
    v = (v | (v << 16)) & 0x1F0000FF0000FF
    v = (v | (v << 8)) & 0x100F00F00F00F00F
    v = (v | (v << 4)) & 0x10C30C30C30C30C3
    v = (v | (v << 2)) & 0x1249249249249249
    return v


@jit
def grid_of(x: float) -> int:
    """Base grid cell coordinate of a unit-vector component (as `geo.grid_coords`)."""
    g = math.floor((x + 1.0) * _HALF_GRID)
    return min(max(int(g), 0), _GRID_TOP)


@jit
def _features(
    lat: F64,
    lon: F64,
    is_supply: np.ndarray,
    category: np.ndarray,
    quantity: F64,
    kind: np.ndarray,
    temperature: F64,
    pressure: F64,
    purity: F64,
    hazardous: np.ndarray,
    permit: np.ndarray,
    available_from: I32,
    available_to: I32,
    month_mask: np.ndarray,
    weekly_hours: F32,
    precision: np.ndarray,
    inferred: np.ndarray,
    org: I32,
    price: F64,
    class_indptr: I32,
    trust_t: F64,
    purchase_t: F64,
    disposal_t: F64,
    transport_t: F64,
    family_t: F64,
    popcount: U8,
    lo: int,
    hi: int,
    rec: F32,
    morton: I64,
) -> None:
    ri = rec.view(np.int32)
    for i in range(lo, hi):
        la = lat[i] * _DEG
        lo_ = lon[i] * _DEG
        c = math.cos(la)
        x = np.float32(c * math.cos(lo_))
        y = np.float32(c * math.sin(lo_))
        z = np.float32(math.sin(la))
        k = int(kind[i])
        kf = int(family_t[k + 1]) if -1 <= k <= 6 else -1
        h = float(weekly_hours[i])
        if h < 0.0:
            h = 0.0
        if h > 1.0:
            h = 1.0
        mask = int(month_mask[i]) & 0xFFF
        months = float(popcount[mask])
        q = quantity[i]
        if k >= 0 and (_RATE_KINDS >> k) & 1:
            q = q * _SECONDS * h * months / 12.0
        log_amount = math.log10(q) if kf >= 0 and q > 0 else math.nan
        family = -1 if math.isnan(log_amount) else kf
        p = int(precision[i])
        t = trust_t[p if 0 <= p <= 2 else 3, 1 if inferred[i] else 0]
        cat = int(category[i])
        if kf >= 0:
            vfam = kf
        elif cat == _HEAT or cat == _ENERGY:  # noqa: SIM109
            vfam = _FAM_ENERGY
        elif cat == _WATER:
            vfam = _FAM_VOLUME
        else:
            vfam = _FAM_MASS
        pr = price[i]
        known = math.isfinite(pr)
        if is_supply[i]:
            if known:
                value = -pr
                if not (value >= 0.0):
                    value = 0.0
            else:
                value = disposal_t[cat, vfam]
            price_default = not known
        elif known and pr > 0:
            value = pr
            price_default = False
        else:
            value = purchase_t[cat, vfam]
            price_default = True
        if cat == _SERVICE:
            value = math.nan
            price_default = True
        flags = (
            (FLAG_HAZARDOUS if hazardous[i] else 0)
            | (FLAG_PERMIT if permit[i] else 0)
            | (FLAG_INFERRED if inferred[i] else 0)
            | (FLAG_MULTI_CLASS if class_indptr[i + 1] - class_indptr[i] > 1 else 0)
            | (FLAG_PRICE_DEFAULT if price_default else 0)
        )
        rec[i, FX] = x
        rec[i, FY] = y
        rec[i, FZ] = z
        rec[i, FTEMP] = temperature[i]
        rec[i, FPRESS] = pressure[i]
        rec[i, FPURITY] = purity[i]
        rec[i, FLOGQ] = log_amount
        rec[i, FTRUST] = math.sqrt(t)
        rec[i, FHOURS] = h
        rec[i, FVALUE] = value
        rec[i, FQUANTITY] = 10.0**log_amount if family >= 0 else math.nan
        rec[i, FTRANSPORT] = transport_t[cat, vfam]
        ri[i, IFROM] = available_from[i]
        ri[i, ITO] = available_to[i]
        ri[i, IORG] = org[i]
        ri[i, IPACK] = mask | (flags << PACK_FLAGS_SHIFT) | (cat << PACK_CAT_SHIFT) | ((family + 1) << PACK_FAMILY_SHIFT)  # noqa: E501
        gx = grid_of(float(x))
        gy = grid_of(float(y))
        gz = grid_of(float(z))
        morton[i] = spread3(gx) | (spread3(gy) << 1) | (spread3(gz) << 2)


def _features_range(f: FlowArrays, lo: int, hi: int, rec: F32, morton: I64) -> None:
    _features(
        f.lat,
        f.lon,
        f.is_supply,
        f.category,
        f.quantity,
        f.quantity_kind,
        f.temperature_c,
        f.pressure_bar,
        f.purity_pct,
        f.hazardous,
        f.hazard_permit,
        f.available_from,
        f.available_to,
        f.month_mask,
        f.weekly_hours,
        f.precision,
        f.inferred,
        f.org,
        f.price_eur,
        f.class_indptr,
        _TRUST,
        _PURCHASE,
        _DISPOSAL,
        _TRANSPORT,
        _KIND_FAMILY,
        POPCOUNT12,
        lo,
        hi,
        rec,
        morton,
    )


_CHUNK = 1 << 16


def compute_features(flows: FlowArrays) -> FlowTable:
    """Records of all flows (chunks in parallel for large inputs)."""
    n = flows.n
    rec = np.empty((n, N_REC), np.float32)
    morton = np.empty(n, np.int64)
    tasks = [(flows, lo, min(lo + _CHUNK, n), rec, morton) for lo in range(0, n, _CHUNK)]
    parallel_map(_features_range, tasks)
    return FlowTable(rec=rec, key=flows.key, morton=morton)


assert int(QuantityKind.UNKNOWN) == -1
