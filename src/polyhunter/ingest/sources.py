"""The ingestion sources, one table: which factory builds each kind, and which kinds a mode runs.

Every entry builds a ``SignalSource`` (``polyhunter.ports.sources``) from ``SourceDeps`` (settings, the
caller's clients, the cursor store, the service's hooks); the service runs each one with the mux as its
sink. Adding a source is one new module (the source and its factory) and one line in ``SOURCES``.
"""

from __future__ import annotations

from collections.abc import Callable

from polyhunter.domain.signal import SourceKind
from polyhunter.ingest.chain_logs import chain_source
from polyhunter.ingest.data_api_poll import poll_source
from polyhunter.ingest.mempool import mempool_source
from polyhunter.ingest.modes import IngestMode, sources_for
from polyhunter.ingest.rtds import rtds_source
from polyhunter.ingest.source_deps import SourceDeps
from polyhunter.ports.sources import SignalSource
from polyhunter.settings import Settings

SourceFactory = Callable[[SourceDeps], SignalSource]

SOURCES: dict[SourceKind, SourceFactory] = {
    SourceKind.WS: rtds_source,  # RTDS push feed
    SourceKind.POLL: poll_source,  # Data API poller
    SourceKind.CHAIN: chain_source,  # OrderFilled logs from a node
    SourceKind.MEMPOOL: mempool_source,  # pending matchOrders transactions (provisional fills)
}


def selected(settings: Settings) -> list[SourceKind]:
    """The kinds ``ingest.mode`` runs, in table order. HYBRID runs the chain source only when a chain
    node is set (``venue.chain_rpc_url`` / ``chain_rpc_urls``, none by default) and
    ``ingest.chain_in_hybrid``; CHAIN_ONLY always does (its settings must name a node). Likewise HYBRID runs
    the mempool source only when ``ingest.mempool_url`` is set and ``ingest.mempool_in_hybrid``."""
    ing = settings.ingest
    mode = IngestMode(ing.mode)
    kinds = sources_for(mode)
    in_hybrid = {
        SourceKind.CHAIN: ing.chain_in_hybrid and bool(settings.venue.rpc_urls),
        SourceKind.MEMPOOL: ing.mempool_in_hybrid and bool(ing.mempool_url),
    }
    return [
        kind
        for kind in SOURCES
        if kind in kinds and not (mode is IngestMode.HYBRID and not in_hybrid.get(kind, True))
    ]


def build_sources(deps: SourceDeps) -> dict[SourceKind, SignalSource]:
    """One source per kind the settings' mode selects, built by its table entry."""
    return {kind: SOURCES[kind](deps) for kind in selected(deps.settings)}
