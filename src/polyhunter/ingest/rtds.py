"""RTDS push source: the firehose from :class:`~polyhunter.adapters.polymarket.rtds_client.RtdsClient`,
filtered to followed leaders, handed to the sink in the background.

Per frame: the receipt time is stamped and the frame handler (``FrameFilter``: pre-check, decode, the
sink's synchronous gate ``admit``) returns the accepted signals, nearly always none, with no await.
Accepted signals go to ``sink.hand_off_soon``, which hands them on in the background in order per
(leader, token), so the reader goes on at once. RTDS never resends a frame: a hand-off that fails is
left to the other sources (the mux forgot its keys, so the poller's or the chain's copy is accepted).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from datetime import UTC, datetime

from polyhunter.adapters.polymarket.rtds_client import RtdsClient
from polyhunter.domain.signal import Signal, SourceKind
from polyhunter.ingest.frame_filter import FrameFilter
from polyhunter.ingest.source_deps import SourceDeps, fill_bounds
from polyhunter.log import get_logger
from polyhunter.ports.sources import SignalSink, SourceHealth

log = get_logger(__name__)

FrameHandler = Callable[[bytes, datetime], list[Signal]]
MakeFrameHandler = Callable[[SignalSink], FrameHandler]  # the handler gating through the given sink


class RtdsSource:
    """The push ``SignalSource``: ``await source.run(sink)`` until :meth:`close`."""

    def __init__(self, client: RtdsClient, make_handler: MakeFrameHandler) -> None:
        self.client = client
        self._make_handler = make_handler
        self._handle: FrameHandler | None = None
        self._leaders: frozenset[str] | None = None  # set_leaders before run: applied when it starts
        self.sink_errors = 0
        self.handler_errors = 0

    @property
    def kind(self) -> SourceKind:
        return SourceKind.WS

    @property
    def health(self) -> SourceHealth:
        return self.client.health

    @property
    def healthy(self) -> bool:
        return self.client.healthy

    @property
    def frames(self) -> int:
        return self.client.frames

    @property
    def connects(self) -> int:
        return self.client.connects

    @property
    def disconnects(self) -> int:
        return self.client.disconnects

    @property
    def silences(self) -> int:
        return self.client.silences

    def stop(self) -> None:
        self.client.stop()

    def set_leaders(self, leaders: Iterable[str]) -> None:
        """Follow exactly these leaders from the next frame on (the frame filter's set)."""
        self._leaders = frozenset(leaders)
        setter = getattr(self._handle, "set_leaders", None)
        if setter is not None:
            setter(self._leaders)

    async def run(self, sink: SignalSink) -> None:
        handle = self._handle = self._make_handler(sink)
        if self._leaders is not None:
            self.set_leaders(self._leaders)
        hand_off_soon = sink.hand_off_soon
        now = datetime.now

        def on_frame(raw: bytes) -> Awaitable[None] | None:
            try:
                signals = handle(raw, now(UTC))
            except Exception as exc:  # noqa: BLE001 - one frame must never end the stream (the handler
                # rejects invalid messages itself; this is the last line of defence)
                self._handler_failed(exc)
                return None
            return self._hand_off(hand_off_soon, signals) if signals else None

        await self.client.run(on_frame)

    def _handler_failed(self, exc: Exception) -> None:
        self.handler_errors += 1
        if self.handler_errors == 1 or self.handler_errors % 1000 == 0:
            log.error("rtds frame handler failed; frame dropped", count=self.handler_errors, error=repr(exc))

    async def _hand_off(
        self, hand_off_soon: Callable[[list[Signal]], Awaitable[None]], signals: list[Signal]
    ) -> None:
        try:
            await hand_off_soon(signals)
        except Exception as exc:  # noqa: BLE001 - keep the stream; the mux forgot these keys
            # (RTDS never resends a frame: the poller's or the chain's copy of the fill is accepted)
            self.sink_errors += 1
            log.error(
                "signals not handed on; left to the other sources",
                count=len(signals),
                keys=[s.key for s in signals],
                error=repr(exc),
            )

    async def close(self) -> None:
        self.client.stop()


def rtds_source(deps: SourceDeps) -> RtdsSource:
    """The ingest service's factory: the caller's RTDS client, frames filtered to the followed leaders."""
    metrics, bounds = deps.metrics, fill_bounds(deps.settings)
    return RtdsSource(deps.clients.rtds, lambda sink: FrameFilter(deps.leaders, sink, metrics, bounds))
