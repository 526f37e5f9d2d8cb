"""Fault settings: CLI scope syntax, validation, seeded draws, admin merge semantics."""

from __future__ import annotations

import pytest

from polyhunter.sim.faults import FaultConfigError, Faults, parse_scope_values


def test_fault_specs_parse_and_validate() -> None:
    assert parse_scope_values(["clob:/book=50", "data_api=0.2"], "x") == {"clob:/book": 50.0, "data_api": 0.2}
    with pytest.raises(FaultConfigError):
        parse_scope_values(["bogus=1"], "x")
    with pytest.raises(FaultConfigError):
        Faults(rate_429={"clob": 1.5})
    faults = Faults(seed=1, rate_429={"clob": 0.3})
    again = Faults(seed=1, rate_429={"clob": 0.3})
    first = [faults.decide("clob", "/book").status for _ in range(50)]
    assert first == [again.decide("clob", "/book").status for _ in range(50)]  # seeded


def test_apply_merges_removes_and_rolls_back_on_error() -> None:
    faults = Faults(latency_ms={"clob": 10})
    faults.apply({"latency_ms": {"data_api:/trades": 5}, "rate_5xx": {"gamma": 0.5}, "stale_books": True})
    assert faults.latency_ms == {"clob": 10, "data_api:/trades": 5}
    assert faults.decide("data_api", "/trades").delay_s == 0.005
    assert faults.decide("data_api", "/activity").delay_s == 0.0
    faults.apply({"latency_ms": {"clob": None}})
    assert faults.latency_ms == {"data_api:/trades": 5}
    with pytest.raises(FaultConfigError):
        faults.apply({"rate_429": {"clob": 0.1}, "ws_drop_every_s": -1})
    assert faults.rate_429 == {}  # nothing of the rejected body was applied
    with pytest.raises(FaultConfigError):
        faults.apply({"bogus": 1})
    faults.apply({"clear": True})
    assert faults.snapshot()["stale_books"] is False
    assert faults.latency_ms == {}


def test_silence_window() -> None:
    faults = Faults()
    assert not faults.ws_silent()
    faults.set_silence(30)
    assert faults.ws_silent()
    faults.set_silence(None)
    assert not faults.ws_silent()
