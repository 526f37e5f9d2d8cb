"""FrameFilter: raw RTDS bytes in, accepted signals of followed leaders out."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from polyhunter.domain.signal import SourceKind
from polyhunter.ingest.dedup import DedupSet
from polyhunter.ingest.frame_filter import FrameFilter
from polyhunter.ingest.metrics import IngestMetrics
from polyhunter.ingest.mux import SignalMux
from tests.support.paths import FIXTURES

SEEN = datetime.fromtimestamp(1790272258, UTC)


def docs() -> list[dict[str, Any]]:
    loaded: list[dict[str, Any]] = json.loads(
        (FIXTURES / "current-2026-09/rtds_activity_trades.json").read_bytes()
    )
    return loaded


def compact(doc: dict[str, Any]) -> bytes:
    return json.dumps(doc, separators=(",", ":")).encode()


class GatedFilter(FrameFilter):
    """The filter gating through a mux (its ``SignalSink``), which the tests read the counters of."""

    def __init__(self, leaders: list[str], mux: SignalMux) -> None:
        super().__init__(leaders, mux, mux.metrics)
        self._mux = mux


def make(leaders: list[str], mode: str = "HYBRID", max_age_s: float = 900) -> GatedFilter:
    mux = SignalMux(mode, DedupSet(ttl_s=3_600), IngestMetrics(), max_signal_age_s=max_age_s)
    return GatedFilter(leaders, mux)


def test_only_followed_leaders_pass_and_addresses_compare_lower_cased() -> None:
    frames = docs()
    leader = frames[0]["payload"]["proxyWallet"]  # checksummed mixed case on the wire
    f = make([leader.lower()])
    out = [s for d in frames for s in f(compact(d), SEEN)]
    assert len(out) == 1
    assert out[0].leader == leader.lower()
    assert out[0].source is SourceKind.WS
    assert out[0].seen_at is SEEN
    stats = f._mux.metrics.frames
    assert stats.frames == 5
    assert stats.prefiltered == 4
    assert stats.matched == 1


def test_leader_set_given_in_checksum_case_matches_too() -> None:
    frames = docs()
    f = make([frames[1]["payload"]["proxyWallet"]])
    assert len(f(compact(frames[1]), SEEN)) == 1


def test_pretty_printed_frames_take_the_decode_path() -> None:
    frames = docs()
    f = make([frames[2]["payload"]["proxyWallet"]])
    assert len(f(json.dumps(frames[2], indent=3).encode(), SEEN)) == 1


def test_repeats_on_another_connection_or_type_are_dropped_and_counted() -> None:
    frames = docs()
    f = make([frames[0]["payload"]["proxyWallet"]])
    assert len(f(compact(frames[0]), SEEN)) == 1
    other_connection = dict(frames[0], connection_id="second-connection==")
    assert f(compact(other_connection), SEEN) == []
    matched = dict(frames[0], type="orders_matched")
    assert f(compact(matched), SEEN) == []
    assert f._mux.metrics.source(SourceKind.WS).duplicates == 2


def test_two_identical_legs_in_separate_frames_are_both_accepted() -> None:
    frames = docs()
    twin = json.loads(json.dumps(frames[0]))
    twin["payload"]["price"] = 0.031
    f = make([frames[0]["payload"]["proxyWallet"]])
    first, second = f(compact(frames[0]), SEEN), f(compact(twin), SEEN)
    assert len(first) == 1
    assert len(second) == 1
    assert first[0].key != second[0].key


def test_non_trade_frames_are_counted_not_decoded() -> None:
    f = make(["0x" + "00" * 20])
    prices = (
        b'{"topic":"crypto_prices","type":"update","timestamp":1,"payload":{"symbol":"btcusdt","value":1}}'
    )
    for raw in (b"", b"ping", prices, b'{"message":"Invalid request body"}'):
        assert f(raw, SEEN) == []
    assert f._mux.metrics.frames.not_trades == 4


def test_broken_activity_frame_of_a_followed_leader_is_a_decode_error() -> None:
    frame = docs()[0]
    frame["payload"]["side"] = "HOLD"
    f = make([frame["payload"]["proxyWallet"]])
    assert f(compact(frame), SEEN) == []
    assert f._mux.metrics.frames.decode_errors == 1


def test_stale_frames_are_dropped_by_the_mux() -> None:
    frame = docs()[0]
    f = make([frame["payload"]["proxyWallet"]], max_age_s=1)
    late = datetime.fromtimestamp(frame["payload"]["timestamp"] + 5, UTC)
    assert f(compact(frame), late) == []
    assert f._mux.metrics.source(SourceKind.WS).stale == 1


def test_leader_set_can_change() -> None:
    frame = docs()[3]
    f = make([])
    assert f(compact(frame), SEEN) == []
    f.set_leaders([frame["payload"]["proxyWallet"]])
    assert frame["payload"]["proxyWallet"].lower() in f.leaders
    assert len(f(compact(frame), SEEN)) == 1


def test_fill_frames_are_counted_by_activity_type_before_the_leader_filter() -> None:
    frames = docs()
    f = make(["0x" + "00" * 20])  # follows nobody in the frames: every fill is prefiltered
    for doc in frames[:3]:
        f(compact(doc), SEEN)
        f(compact(dict(doc, type="orders_matched")), SEEN)
    f(compact(dict(frames[0], type="something_new")), SEEN)
    f(b"ping", SEEN)
    assert f._mux.metrics.frames.by_type == {"trades": 3, "orders_matched": 3, "other": 1}
