"""Geometry for the spatial index: unit-sphere coordinates and a 3-D Morton grid over them.

Points are unit vectors (x, y, z). Distances are great-circle distances on a sphere of the IUGG mean radius
(the same radius as `turash.kit.geo`); the chord c between two unit vectors gives the arc as 2·R·asin(c/2).
The grid cuts the cube [-1, 1]³ into 2^16 cells per axis (base cell ≈ 0.194 km); a cell at level L is
2^L base cells wide and its Morton code is the base code shifted right by 3·L, so every coarse cell is a
contiguous range of base codes. Working on the sphere (not on a projection) needs no zone, no pole or
antimeridian special case, and all points within chord c of a point lie in the 27 cells around it at any
level whose cell side is ≥ c.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike, NDArray

from turash.matching.engine.types import F32, F64, I64

EARTH_RADIUS_KM = 6371.0088
GRID_BITS = 16
GRID_SIZE = 1 << GRID_BITS
BASE_CELL_KM = EARTH_RADIUS_KM * 2.0 / GRID_SIZE  # side of a base cell, in chord km
MAX_LEVEL = GRID_BITS

_NEIGHBOUR_OFFSETS = np.array(
    [(dx, dy, dz) for dx in (-1, 0, 1) for dy in (-1, 0, 1) for dz in (-1, 0, 1)], dtype=np.int64
)


def unit_xyz(lat: ArrayLike, lon: ArrayLike) -> F64:
    """(n, 3) unit vectors for WGS84 degrees (spherical Earth)."""
    la = np.radians(np.asarray(lat, np.float64))
    lo = np.radians(np.asarray(lon, np.float64))
    c = np.cos(la)
    return np.stack([c * np.cos(lo), c * np.sin(lo), np.sin(la)], axis=-1)


def chord_for_km(km: float) -> float:
    """Chord length (unit sphere) of a great-circle distance; inf stays inf."""
    if not math.isfinite(km) or km >= math.pi * EARTH_RADIUS_KM:
        return math.inf if not math.isfinite(km) else 2.0
    return 2.0 * math.sin(km / (2.0 * EARTH_RADIUS_KM))


def km_from_chord2(chord2: NDArray[np.floating]) -> F32:
    """Great-circle km from squared chord lengths."""
    c = np.sqrt(np.asarray(chord2, np.float32))
    return (np.float32(2.0 * EARTH_RADIUS_KM) * np.arcsin(np.minimum(c * np.float32(0.5), np.float32(1.0)))).astype(
        np.float32
    )


def level_for_km(km: float) -> int:
    """Smallest grid level whose cell side (chord) is at least the chord of `km`."""
    c = chord_for_km(km) * EARTH_RADIUS_KM
    if not math.isfinite(c):
        return MAX_LEVEL
    level = 0
    while level < MAX_LEVEL and BASE_CELL_KM * (1 << level) < c:
        level += 1
    return level


def _spread3(v: NDArray[np.uint64]) -> NDArray[np.uint64]:
    """Insert two zero bits between the 16 low bits of v (3-D Morton interleave)."""
    v = v & np.uint64(0xFFFF)
    v = (v | (v << np.uint64(32))) & np.uint64(0x1F00000000FFFF)
    v = (v | (v << np.uint64(16))) & np.uint64(0x1F0000FF0000FF)
    v = (v | (v << np.uint64(8))) & np.uint64(0x100F00F00F00F00F)
    v = (v | (v << np.uint64(4))) & np.uint64(0x10C30C30C30C30C3)
    v = (v | (v << np.uint64(2))) & np.uint64(0x1249249249249249)
    return v


def _compact3(v: NDArray[np.uint64]) -> NDArray[np.uint64]:
    v = v & np.uint64(0x1249249249249249)
    v = (v | (v >> np.uint64(2))) & np.uint64(0x10C30C30C30C30C3)
    v = (v | (v >> np.uint64(4))) & np.uint64(0x100F00F00F00F00F)
    v = (v | (v >> np.uint64(8))) & np.uint64(0x1F0000FF0000FF)
    v = (v | (v >> np.uint64(16))) & np.uint64(0x1F00000000FFFF)
    v = (v | (v >> np.uint64(32))) & np.uint64(0xFFFF)
    return v


def morton_encode(ix: ArrayLike, iy: ArrayLike, iz: ArrayLike) -> I64:
    ux = np.asarray(ix).astype(np.uint64)
    uy = np.asarray(iy).astype(np.uint64)
    uz = np.asarray(iz).astype(np.uint64)
    code = _spread3(ux) | (_spread3(uy) << np.uint64(1)) | (_spread3(uz) << np.uint64(2))
    out: I64 = code.astype(np.int64)
    return out


def morton_decode(code: ArrayLike) -> tuple[I64, I64, I64]:
    c = np.asarray(code).astype(np.uint64)
    return (
        _compact3(c).astype(np.int64),
        _compact3(c >> np.uint64(1)).astype(np.int64),
        _compact3(c >> np.uint64(2)).astype(np.int64),
    )


def grid_coords(xyz: NDArray[np.floating]) -> I64:
    """(n, 3) integer base-cell coordinates of unit vectors."""
    g = np.floor((np.asarray(xyz, np.float64) + 1.0) * (GRID_SIZE / 2.0)).astype(np.int64)
    return np.clip(g, 0, GRID_SIZE - 1)


def morton_of_xyz(xyz: NDArray[np.floating]) -> I64:
    g = grid_coords(xyz)
    return morton_encode(g[:, 0], g[:, 1], g[:, 2])


def neighbour_cells(cells: I64, level: int) -> tuple[I64, I64]:
    """The 27 cells around each coarse cell (Morton codes at `level`), without the ones off the grid.

    Returns (source position, neighbour code) pairs, ordered by source then neighbour code.
    """
    size = GRID_SIZE >> level
    cx, cy, cz = morton_decode(cells)
    nx = cx[:, None] + _NEIGHBOUR_OFFSETS[None, :, 0]
    ny = cy[:, None] + _NEIGHBOUR_OFFSETS[None, :, 1]
    nz = cz[:, None] + _NEIGHBOUR_OFFSETS[None, :, 2]
    ok = (nx >= 0) & (nx < size) & (ny >= 0) & (ny < size) & (nz >= 0) & (nz < size)
    src = np.broadcast_to(np.arange(cells.shape[0], dtype=np.int64)[:, None], ok.shape)[ok]
    code = morton_encode(nx[ok], ny[ok], nz[ok])
    order = np.lexsort((code, src))
    return src[order], code[order]
