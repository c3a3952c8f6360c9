import pytest
from hypothesis import given
from hypothesis import strategies as st

from turash.kit.geo import BBox, bbox_around, haversine_km

lats = st.floats(min_value=-85, max_value=85)
lons = st.floats(min_value=-179, max_value=179)


def test_haversine_known_distance() -> None:
    # Copenhagen city hall to Aarhus city hall: about 156 km in a straight line.
    assert haversine_km(55.6761, 12.5683, 56.1572, 10.2107) == pytest.approx(156.6, abs=1.0)
    assert haversine_km(10, 20, 10, 20) == 0


@given(lats, lons, lats, lons)
def test_haversine_is_symmetric_and_bounded(a: float, b: float, c: float, d: float) -> None:
    assert haversine_km(a, b, c, d) == pytest.approx(haversine_km(c, d, a, b))
    assert 0 <= haversine_km(a, b, c, d) <= 20016


@given(
    lats,
    lons,
    st.floats(min_value=0.1, max_value=500),
    st.floats(min_value=0, max_value=1),
    st.floats(min_value=0, max_value=360),
)
def test_bbox_contains_every_point_of_the_circle(
    lat: float, lon: float, radius: float, frac: float, bearing: float
) -> None:
    import math

    # a point at distance frac*radius along `bearing` (spherical destination formula)
    r = 6371.0088
    d = frac * radius / r
    p1, l1, th = math.radians(lat), math.radians(lon), math.radians(bearing)
    p2 = math.asin(math.sin(p1) * math.cos(d) + math.cos(p1) * math.sin(d) * math.cos(th))
    l2 = l1 + math.atan2(math.sin(th) * math.sin(d) * math.cos(p1), math.cos(d) - math.sin(p1) * math.sin(p2))
    plat, plon = math.degrees(p2), (math.degrees(l2) + 540) % 360 - 180
    box = bbox_around(lat, lon, radius)
    assert box.min_lat - 1e-9 <= plat <= box.max_lat + 1e-9
    assert box.min_lon - 1e-9 <= plon <= box.max_lon + 1e-9


@pytest.mark.parametrize("text", ["1,2,3", "a,b,c,d", "10,60,5,50", "-200,0,0,10"])
def test_bbox_parse_rejects_bad_input(text: str) -> None:
    with pytest.raises(ValueError):
        BBox.parse(text)


def test_bbox_parse() -> None:
    assert BBox.parse("10,54, 13 ,56") == BBox(10, 54, 13, 56)
