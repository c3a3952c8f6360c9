"""Great-circle geometry on WGS84 coordinates (spherical Earth, mean radius: IUGG R1 = 6371.0088 km)."""

from __future__ import annotations

import math
from dataclasses import dataclass

EARTH_RADIUS_KM = 6371.0088


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in km (haversine formula; error < 0.5 % against the ellipsoid)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


@dataclass(frozen=True)
class BBox:
    min_lon: float
    min_lat: float
    max_lon: float
    max_lat: float

    @classmethod
    def parse(cls, text: str) -> BBox:
        """`min_lon,min_lat,max_lon,max_lat` (the GeoJSON / OGC order)."""
        parts = [p.strip() for p in text.split(",")]
        if len(parts) != 4:
            raise ValueError("bbox needs four numbers: min_lon,min_lat,max_lon,max_lat")
        try:
            min_lon, min_lat, max_lon, max_lat = (float(p) for p in parts)
        except ValueError:
            raise ValueError(f"bbox has a value that is not a number: {text!r}") from None
        if not (-180 <= min_lon <= 180 and -180 <= max_lon <= 180 and -90 <= min_lat <= 90 and -90 <= max_lat <= 90):
            raise ValueError("bbox is outside WGS84 bounds (lon -180..180, lat -90..90)")
        if min_lat > max_lat or min_lon > max_lon:
            raise ValueError("bbox minimum exceeds maximum")
        return cls(min_lon, min_lat, max_lon, max_lat)


def bbox_around(lat: float, lon: float, radius_km: float) -> BBox:
    """Smallest lat/lon box containing the circle; used as an index-friendly prefilter before the exact test."""
    dlat = math.degrees(radius_km / EARTH_RADIUS_KM)
    cos_lat = math.cos(math.radians(lat))
    if cos_lat < 1e-6 or abs(lat) + dlat >= 90:
        return BBox(-180.0, max(-90.0, lat - dlat), 180.0, min(90.0, lat + dlat))
    dlon = math.degrees(math.asin(min(1.0, math.sin(radius_km / EARTH_RADIUS_KM) / cos_lat)))
    if lon - dlon < -180 or lon + dlon > 180:
        return BBox(-180.0, lat - dlat, 180.0, lat + dlat)
    return BBox(lon - dlon, lat - dlat, lon + dlon, lat + dlat)


def grow_bbox(box: BBox, km: float) -> BBox:
    """A box holding every point within `km` of `box` (longitude widened at the box's most poleward latitude,
    where a degree is shortest; the whole longitude range near a pole or across the antimeridian)."""
    dlat = math.degrees(km / EARTH_RADIUS_KM)
    lat0, lat1 = max(-90.0, box.min_lat - dlat), min(90.0, box.max_lat + dlat)
    cos_lat = math.cos(math.radians(max(abs(box.min_lat), abs(box.max_lat))))
    if cos_lat < 1e-6 or max(abs(lat0), abs(lat1)) >= 90:
        return BBox(-180.0, lat0, 180.0, lat1)
    dlon = math.degrees(math.asin(min(1.0, math.sin(km / EARTH_RADIUS_KM) / cos_lat)))
    if box.min_lon - dlon < -180 or box.max_lon + dlon > 180:
        return BBox(-180.0, lat0, 180.0, lat1)
    return BBox(box.min_lon - dlon, lat0, box.max_lon + dlon, lat1)


def valid_lat_lon(lat: float, lon: float) -> bool:
    return math.isfinite(lat) and math.isfinite(lon) and -90 <= lat <= 90 and -180 <= lon <= 180
