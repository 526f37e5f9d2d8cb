"""The shape comparison the fixture tests rely on refuses what it cannot check (empty arrays, nulls)."""

from __future__ import annotations

import pytest

from tests.support.sim_http import assert_same_shape


def test_same_shape_accepts_matching_types_and_a_null_the_capture_holds() -> None:
    live = {"a": "x", "b": [{"c": 1}], "d": None}
    assert_same_shape(live, {"a": "y", "b": [{"c": 2}, {"c": 3.5}], "d": "anything"})


@pytest.mark.parametrize(
    ("sim", "message"),
    [
        ({"a": 1, "b": [{"c": 1}], "d": None}, "live string vs sim number"),
        ({"a": "y", "b": [{"c": "1"}], "d": None}, "live number vs sim string"),
        ({"a": None, "b": [{"c": 1}], "d": None}, "sim null where live has string"),
        ({"a": "y", "b": [], "d": None}, "sim array empty"),
        ({"a": "y", "b": [{}], "d": None}, "sim lacks ['c']"),
        ({"a": "y", "b": [{"c": 1, "e": 2}], "d": None}, "sim adds ['e']"),
        ({"a": "y", "b": [{"c": True}], "d": None}, "live number vs sim bool"),
    ],
)
def test_same_shape_rejects(sim: dict[str, object], message: str) -> None:
    live = {"a": "x", "b": [{"c": 1}], "d": None}
    with pytest.raises(AssertionError, match=message.replace("[", r"\[").replace("]", r"\]")):
        assert_same_shape(live, sim)


def test_empty_arrays_pass_only_where_the_test_allows_them() -> None:
    with pytest.raises(AssertionError, match="live array empty"):
        assert_same_shape({"b": []}, {"b": [1]})
    with pytest.raises(AssertionError, match="both arrays empty"):
        assert_same_shape({"b": []}, {"b": []})
    assert_same_shape({"b": []}, {"b": []}, empty_ok=frozenset({"b"}))


def test_documented_nullable_keys_may_be_null_on_the_sim_side() -> None:
    assert_same_shape({"rates": [{"r": 1}]}, {"rates": None}, nullable=frozenset({"rates"}))
    with pytest.raises(AssertionError, match="not documented nullable"):
        assert_same_shape({"rates": [{"r": 1}]}, {"rates": None}, nullable=frozenset({"other"}))
