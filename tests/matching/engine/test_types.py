"""Input dataclasses: building, validation, slicing."""

from __future__ import annotations

import math

import numpy as np
import pytest

from turash.matching.engine import ClassFit, Compatibility, FlowArrays, MatchParams, ScoreWeights

from .helpers import flows


def test_build_take_concat():
    fl = flows([{"supply": True, "cls": [(0, 0.7), (1, 0.3)]}, {"supply": False, "cls": 2, "x": 1.0}])
    assert fl.n == 2 and fl.class_indptr.tolist() == [0, 2, 3]
    t = fl.take([1, 0])
    assert t.key.tolist() == [101, 100] and t.class_index.tolist() == [2, 0, 1]
    c = FlowArrays.concat([fl, t.replace(key=t.key + 10)])
    assert c.n == 4 and c.class_indptr.tolist() == [0, 2, 3, 4, 6]
    assert math.isnan(fl.temperature_c[0]) and fl.month_mask[0] == 0xFFF


def test_validation():
    with pytest.raises(ValueError, match="required"):
        FlowArrays.build(classes=[0], key=[1], lat=[0], lon=[0], is_supply=[True], category=[0])
    with pytest.raises(ValueError, match="category"):
        FlowArrays.build(classes=[0], key=[1], lat=[0], lon=[0], is_supply=[True], category=[9], org=[0])
    with pytest.raises(ValueError, match="WGS84"):
        FlowArrays.build(classes=[0], key=[1], lat=[95], lon=[0], is_supply=[True], category=[0], org=[0])
    with pytest.raises(ValueError, match="weight"):
        FlowArrays.build(classes=[[(0, 1.5)]], key=[1], lat=[0], lon=[0], is_supply=[True], category=[0], org=[0])


def test_compatibility_builder():
    c = Compatibility.from_dict({(1, 0): 0.5, (0, 2): ClassFit(0.9, min_temperature_c=70.0), (0, 1): 0.0}, n_classes=3)
    assert c.nnz == 2 and c.entry(0, 2) == 0 and c.entry(1, 0) == 1 and c.entry(0, 1) == -1
    assert c.min_temperature_c[c.entry(0, 2)] == 70.0 and math.isnan(c.min_temperature_c[c.entry(1, 0)])
    assert c.matrix().toarray()[1, 0] == np.float32(0.5)
    with pytest.raises(ValueError):
        Compatibility.from_dict({(0, 5): 1.0}, n_classes=3)


def test_params_and_weights():
    w = ScoreWeights(quality=2, temporal=0, quantity=0, economic=0, trust=0, distance=2).vector()
    assert w.tolist() == [0.5, 0, 0, 0, 0, 0.5]
    assert ScoreWeights().vector().sum() == pytest.approx(1.0)
    p = MatchParams().with_radius(heat=10, material=50)
    assert p.radius_km[0] == 10 and p.radius_km[3] == 50
    assert MatchParams(max_radius_km=30).effective_radius_km().tolist() == [20, 5, 30, 30, 30, 30, 30]
    with pytest.raises(ValueError):
        MatchParams(top_k=0)
    with pytest.raises(ValueError):
        ScoreWeights(quality=-1).vector()
