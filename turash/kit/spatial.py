"""Radius and bounding-box filters in SQL, on PostGIS when present, portable SQL otherwise."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from turash.kit.db import Geography, has_postgis
from turash.kit.geo import BBox, bbox_around


def _geog(table: sa.Table) -> sa.ColumnElement[Any]:
    # The generated geography column exists only in the PostgreSQL schema (see migrations), so it is not mapped.
    return sa.literal_column(f"{table.name}.geog", Geography())


def distance_km(session: Session, table: sa.Table, lat: float, lon: float) -> sa.ColumnElement[Any]:
    """Distance in km from (lat, lon) to each row of a table with lat/lon (and, on PostGIS, geog) columns."""
    if has_postgis(session):
        point = sa.cast(sa.func.ST_SetSRID(sa.func.ST_MakePoint(lon, lat), 4326), Geography())
        return sa.func.ST_Distance(_geog(table), point) / 1000.0
    return sa.func.turash_distance_km(table.c.lat, table.c.lon, lat, lon)


def within_km(session: Session, table: sa.Table, lat: float, lon: float, radius_km: float) -> sa.ColumnElement[bool]:
    """Rows within `radius_km` of (lat, lon): an index-backed test in both back-ends."""
    if has_postgis(session):
        point = sa.cast(sa.func.ST_SetSRID(sa.func.ST_MakePoint(lon, lat), 4326), Geography())
        return sa.func.ST_DWithin(_geog(table), point, radius_km * 1000.0)
    box = bbox_around(lat, lon, radius_km)
    return sa.and_(in_bbox(table, box), sa.func.turash_distance_km(table.c.lat, table.c.lon, lat, lon) <= radius_km)


def in_bbox(table: sa.Table, box: BBox) -> sa.ColumnElement[bool]:
    return sa.and_(table.c.lat.between(box.min_lat, box.max_lat), table.c.lon.between(box.min_lon, box.max_lon))
