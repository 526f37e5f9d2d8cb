"""RecentMap: the executors' memory of what they sent stays bounded, newest entries kept."""

from __future__ import annotations

import pytest

from polyhunter.execution.recent import RecentMap


def test_oldest_entries_are_forgotten_beyond_the_bound() -> None:
    m: RecentMap[str, int] = RecentMap(3)
    for i in range(5):
        m[f"k{i}"] = i
    assert len(m) == 3
    assert m.get("k0") is None
    assert m.get("k1") is None
    assert [m.get(f"k{i}") for i in (2, 3, 4)] == [2, 3, 4]


def test_a_re_set_entry_becomes_the_newest() -> None:
    m: RecentMap[str, int] = RecentMap(2)
    m["a"] = 1
    m["b"] = 2
    m["a"] = 3
    m["c"] = 4
    assert m.get("b") is None
    assert m.get("a") == 3


def test_bound_must_be_positive() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        RecentMap(0)


def test_entries_older_than_the_age_are_forgotten() -> None:
    now = [0.0]
    m: RecentMap[str, int] = RecentMap(100, max_age_s=10, clock=lambda: now[0])
    for i in range(5):
        now[0] = float(i)
        m[f"k{i}"] = i
    assert len(m) == 5
    now[0] = 12.5  # k0..k2 are older than 10 s now
    assert m.get("k1") is None  # an aged entry reads as absent before any write drops it
    assert m.get("k3") == 3
    m["new"] = 99
    assert len(m) == 3  # k3, k4, new
    assert m.get("k4") == 4
    assert m.get("new") == 99


def test_a_bad_age_is_refused() -> None:
    with pytest.raises(ValueError, match="max_age_s"):
        RecentMap(10, max_age_s=0)
