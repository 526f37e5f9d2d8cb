"""The ingest modes (``ingest.mode``) and the sources each runs."""

from __future__ import annotations

from enum import StrEnum

from polyhunter.domain.signal import SourceKind


class IngestMode(StrEnum):
    WS_ONLY = "WS_ONLY"
    POLLING_ONLY = "POLLING_ONLY"
    CHAIN_ONLY = "CHAIN_ONLY"
    MEMPOOL_ONLY = "MEMPOOL_ONLY"
    HYBRID = "HYBRID"


def sources_for(mode: IngestMode | str) -> frozenset[SourceKind]:
    match IngestMode(mode):
        case IngestMode.WS_ONLY:
            return frozenset({SourceKind.WS})
        case IngestMode.POLLING_ONLY:
            return frozenset({SourceKind.POLL})
        case IngestMode.CHAIN_ONLY:
            return frozenset({SourceKind.CHAIN})
        case IngestMode.MEMPOOL_ONLY:
            return frozenset({SourceKind.MEMPOOL})
        case IngestMode.HYBRID:
            return frozenset({SourceKind.WS, SourceKind.POLL, SourceKind.CHAIN, SourceKind.MEMPOOL})
        case _:  # pragma: no cover - IngestMode() already rejects unknown strings
            raise ValueError(f"unknown ingest mode {mode!r}")
