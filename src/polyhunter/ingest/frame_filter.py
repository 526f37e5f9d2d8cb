"""Fast path for the RTDS firehose: raw frame bytes in, accepted signals of followed leaders out.

RTDS sends every platform trade; a copy bot follows a few hundred wallets, so almost every frame is
dropped. The pre-check finds ``"proxyWallet"`` in the raw bytes, lower-cases the 42-byte address
after it and tests it against the followed set; only a hit pays for the typed msgspec decode, the
signal mapping and the dedup gate. Frames without ``"proxyWallet"`` (pings, the empty first frame,
other topics, error bodies) are counted and dropped. A frame whose address cannot be cut out
cheaply (unexpected spacing) falls back to the full decode, so the pre-check never drops a followed
leader's fill. Identical legs are numbered per (connection, frame type), see ``parse_signals``. Fill
frames are counted by activity type (``trades``, ``orders_matched``) before the leader filter.
Callable as the RTDS source's ``FrameHandler``: ``(raw, seen_at) -> list[Signal]``, the signals the
sink's synchronous gate (``SignalSink.admit``) accepted.

A followed leader's frame that fails typed decoding (reason ``schema``) or validation (``InvalidMessage``:
NaN size, price outside (0, 1), bad hash, fill time out of the window...) is counted in
``polyhunter_ingest_rejected_total{source="ws",reason}``, logged (rate-limited) and dropped.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import msgspec

from polyhunter.adapters.polymarket.parse_signals import LegOrdinals, ordinal_domain, signal_from_rtds_frame
from polyhunter.adapters.polymarket.wire_rtds import ACTIVITY_FRAME_DECODER, ACTIVITY_TRADE_TYPES
from polyhunter.adapters.polymarket.wire_validation import DEFAULT_BOUNDS, SCHEMA, FillBounds, InvalidMessage
from polyhunter.domain.signal import Signal, SourceKind
from polyhunter.ingest.metrics import IngestMetrics
from polyhunter.ports.sources import SignalSink

_KEY = b'"proxyWallet"'
_KEY_LEN = len(_KEY)
_ADDR_AT = _KEY_LEN + 2  # the address of a compact frame, `"proxyWallet":"0x…`, starts 2 bytes after the key
_ADDR_END = _ADDR_AT + 42  # "0x" + 40 hex
_0X = b"0x"
_ACTIVITY = b'"activity"'
_TYPE = b'"type":"'
MAX_ORDINAL_DOMAINS = 16  # recent (connection, frame type) streams whose leg counts are kept
LEG_MEMORY_S = 60.0  # a transaction's legs arrive within about a second: a minute of them is plenty


_TYPE_NAMES = {kind.encode(): kind for kind in ACTIVITY_TRADE_TYPES}
_TYPE_TAIL = 96  # bytes from the end where the envelope's last key, ``type``, sits
# A frame as RTDS sends it ends with its type: `endswith` decides almost every frame at once.
_END_TRADES = _TYPE + b'trades"}'
_END_TRADES_FROM = -len(_END_TRADES)
_TYPE_ENDINGS = tuple((_TYPE + kind.encode() + b'"}', kind) for kind in sorted(ACTIVITY_TRADE_TYPES))


def _frame_type(raw: bytes) -> str:
    """The frame's activity type (``trades``, ``orders_matched``; ``other`` for anything else), from
    the raw bytes: ``type`` is the envelope's last key (RTDS sorts keys), so it is looked for in the
    frame's tail first (this runs for every fill frame of the firehose)."""
    for ending, kind in _TYPE_ENDINGS:
        if raw.endswith(ending):
            return kind
    at = raw.rfind(_TYPE, len(raw) - _TYPE_TAIL)
    if at < 0:
        at = raw.rfind(_TYPE)
        if at < 0:
            return "other"
    start = at + len(_TYPE)
    return _TYPE_NAMES.get(raw[start : raw.find(b'"', start)], "other")


class FrameFilter:
    def __init__(
        self,
        leaders: Iterable[str],
        sink: SignalSink,
        metrics: IngestMetrics,
        bounds: FillBounds = DEFAULT_BOUNDS,
    ) -> None:
        self._admit = sink.admit
        self._stats = metrics.frames
        self._rejects = metrics.rejected(SourceKind.WS.value)
        self._bounds = bounds
        self._ordinals: dict[tuple[str, str], LegOrdinals] = {}
        self._leaders: frozenset[str] = frozenset()
        self._leaders_b: frozenset[bytes] = frozenset()
        self.set_leaders(leaders)

    def _count_type(self, raw: bytes) -> None:
        kind = _frame_type(raw)
        if kind != "trades":
            others = self._stats.other_types
            others[kind] = others.get(kind, 0) + 1

    @property
    def leaders(self) -> frozenset[str]:
        return self._leaders

    def set_leaders(self, leaders: Iterable[str]) -> None:
        """Replace the followed set (lower-cased); takes effect for the next frame."""
        lowered = frozenset(addr.strip().lower() for addr in leaders)
        self._leaders = lowered
        self._leaders_b = frozenset(addr.encode() for addr in lowered)

    def __call__(self, raw: bytes, seen_at: datetime) -> list[Signal]:
        # Pre-check, inlined (this runs for every frame of the firehose). rfind: RTDS serializes keys
        # alphabetically, so proxyWallet sits in the last third of the frame.
        at = raw.rfind(_KEY)
        if at < 0:
            self._stats.no_fill += 1
            return []
        # Most frames end with their type; trades are not counted (FrameStats derives them), only the
        # other types. (A slice compared costs less than endswith, which parses its arguments.)
        if raw[_END_TRADES_FROM:] != _END_TRADES:
            self._count_type(raw)
        # The address where a compact frame has it; anything else there (other spacing) takes the full
        # decode, so a followed leader's fill is never dropped here. (Slicing at a fixed offset costs
        # half of a bounded find.)
        addr = raw[at + _ADDR_AT : at + _ADDR_END]
        if addr.lower() not in self._leaders_b and addr[:2] == _0X:
            self._stats.prefiltered += 1
            return []
        stats = self._stats
        try:
            frame = ACTIVITY_FRAME_DECODER.decode(raw)
        except (msgspec.ValidationError, msgspec.DecodeError) as exc:
            if _ACTIVITY in raw:
                stats.decode_errors += 1
                self._rejects.reject(SCHEMA, str(exc))
            else:
                stats.not_activity += 1
            return []
        if frame.payload.proxy_wallet.lower() not in self._leaders:
            stats.prefiltered += 1
            return []
        stats.matched += 1
        domain = ordinal_domain(frame)
        ordinals = self._ordinals.get(domain)
        if ordinals is None:
            if len(self._ordinals) >= MAX_ORDINAL_DOMAINS:
                del self._ordinals[next(iter(self._ordinals))]  # the oldest connection's counts
            ordinals = self._ordinals[domain] = LegOrdinals(max_age_s=LEG_MEMORY_S)
        try:
            signal = signal_from_rtds_frame(frame, seen_at, ordinals, self._bounds)
        except InvalidMessage as exc:
            self._rejects.reject(exc.reason, exc.detail, tx=frame.payload.transaction_hash[:80])
            return []
        return [signal] if self._admit(signal) else []
