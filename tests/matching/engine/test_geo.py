"""Grid geometry: Morton codes and the neighbourhood guarantee."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from turash.matching.engine.geo import (
    BASE_CELL_KM,
    EARTH_RADIUS_KM,
    chord_for_km,
    grid_coords,
    level_for_km,
    morton_decode,
    morton_encode,
    unit_xyz,
)
from turash.matching.engine.prefilter import arc_km


@given(x=st.integers(0, 65535), y=st.integers(0, 65535), z=st.integers(0, 65535))
def test_morton_roundtrip(x, y, z):
    c = morton_encode([x], [y], [z])
    assert [int(v[0]) for v in morton_decode(c)] == [x, y, z]


@given(lat=st.floats(-89, 89), lon=st.floats(-180, 180), bearing=st.floats(0, 6.28), km=st.floats(0.01, 200))
def test_points_within_radius_are_in_adjacent_cells(lat, lon, bearing, km):
    d = km / EARTH_RADIUS_KM
    la1 = math.radians(lat)
    la2 = math.asin(math.sin(la1) * math.cos(d) + math.cos(la1) * math.sin(d) * math.cos(bearing))
    lo2 = math.radians(lon) + math.atan2(
        math.sin(bearing) * math.sin(d) * math.cos(la1), math.cos(d) - math.sin(la1) * math.sin(la2)
    )
    xyz = unit_xyz([lat, math.degrees(la2)], [lon, math.degrees(lo2)]).astype(np.float32)
    g = grid_coords(xyz)
    level = level_for_km(km)
    assert BASE_CELL_KM * (1 << level) >= chord_for_km(km) * EARTH_RADIUS_KM
    assert np.all(np.abs((g[0] >> level) - (g[1] >> level)) <= 1)


@given(km=st.floats(0.0, 2000))
def test_arc_from_chord(km):
    c = chord_for_km(km)
    assert math.isclose(arc_km(c * c), km, rel_tol=1e-9, abs_tol=1e-9)
