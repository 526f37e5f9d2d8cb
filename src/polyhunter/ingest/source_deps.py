"""What a source factory gets: the settings, the venue clients, the cursor store and the service's hooks.

The clients are built and closed by the caller (:meth:`IngestClients.from_settings` builds the ones the
settings name; the supervisor passes its own Data API client in), never by the ingest service.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from polyhunter.adapters.chain.rpc import JsonRpcClient
from polyhunter.adapters.polymarket.data_api_client import DataApiClient
from polyhunter.adapters.polymarket.http import RetryPolicy
from polyhunter.adapters.polymarket.rtds_client import RtdsClient
from polyhunter.adapters.polymarket.wire_validation import FillBounds
from polyhunter.domain.signal import Signal
from polyhunter.ingest.cursors import CursorStore
from polyhunter.ingest.metrics import IngestMetrics
from polyhunter.settings import Settings

RetractHandler = Callable[[Signal], Awaitable[None]]
ConfirmHandler = Callable[[Signal], Awaitable[None]]


def fill_bounds(settings: Settings) -> FillBounds:
    """The fill-time window a pushed or polled fill must fall in (``ingest.max_fill_age_s`` / ``_future_s``)."""
    return FillBounds(
        max_age_s=settings.ingest.max_fill_age_s, max_future_s=settings.ingest.max_fill_future_s
    )


@dataclass(frozen=True, slots=True)
class IngestClients:
    """The venue clients the sources read through: the Data API (poller), the RTDS websocket (push),
    the chain node's JSON-RPC (chain logs; None when no node is set). A client no selected source uses is
    never opened."""

    data_api: DataApiClient
    rtds: RtdsClient
    rpc: JsonRpcClient | None
    mempool: JsonRpcClient | None = None  # ingest.mempool_url over HTTP (txpool_content), when set

    @classmethod
    def from_settings(cls, settings: Settings, *, data_api: DataApiClient | None = None) -> IngestClients:
        """The clients the settings name; ``data_api``: share the caller's Data API client instead."""
        venue, ing = settings.venue, settings.ingest
        return cls(
            data_api=data_api
            or DataApiClient(
                venue.data_api_url, venue.request_timeout_ms, RetryPolicy(max_retries=venue.max_retries)
            ),
            rtds=RtdsClient(
                venue.rtds_ws_url,
                silence_timeout_ms=ing.ws_silence_timeout_ms,
                backoff_initial_ms=ing.reconnect_backoff_initial_ms,
                backoff_max_ms=ing.reconnect_backoff_max_ms,
                max_msg_bytes=ing.ws_max_msg_bytes,
            ),
            rpc=JsonRpcClient(
                venue.rpc_urls,
                timeout_ms=venue.request_timeout_ms,
                max_retries=venue.max_retries,
                failback_s=venue.chain_rpc_failback_s,
            )
            if venue.rpc_urls
            else None,
            mempool=JsonRpcClient(ing.mempool_url, timeout_ms=venue.request_timeout_ms, max_retries=0)
            if ing.mempool_url and ing.mempool_url.startswith("http")
            else None,
        )

    async def close(self) -> None:
        """Stop the websocket and close the HTTP clients (closing one twice is harmless)."""
        self.rtds.stop()
        rpcs = [client for client in (self.rpc, self.mempool) if client is not None]
        await asyncio.gather(self.data_api.close(), *(client.close() for client in rpcs))


@dataclass(frozen=True, slots=True)
class SourceDeps:
    """Everything a source factory may use; the hooks are the service's."""

    settings: Settings
    leaders: Sequence[str]  # lower-cased funder addresses
    clients: IngestClients
    cursors: CursorStore
    metrics: IngestMetrics
    push_healthy: Callable[[], bool]  # whether a push feed runs and is healthy (the poller's cadence)
    on_stale: Callable[[list[Signal]], None]  # misses older than the replay window: recorded, not copied
    on_retract: RetractHandler  # a signal handed on and then re-orged away
    follow_from_s: int  # a leader with no cursor yet is read from here (unix seconds)
    extra_exchanges: Sequence[str] = ()  # exchange contracts beyond the settings' (a simulator's)
    on_confirm: ConfirmHandler | None = None  # a provisional (mempool) signal's fill was mined
