"""The ingest sources table: which sources a mode runs, and every entry is a SignalSource of its kind."""

from __future__ import annotations

import pytest

from polyhunter.domain.signal import SourceKind
from polyhunter.ingest.chain_logs import ChainLogSource
from polyhunter.ingest.cursors import MemoryCursorStore
from polyhunter.ingest.data_api_poll import DataApiPoller
from polyhunter.ingest.metrics import IngestMetrics
from polyhunter.ingest.rtds import RtdsSource
from polyhunter.ingest.source_deps import IngestClients, SourceDeps
from polyhunter.ingest.sources import SOURCES, build_sources, selected
from polyhunter.ports.sources import SignalSource
from polyhunter.settings import Settings

WS, POLL, CHAIN = SourceKind.WS, SourceKind.POLL, SourceKind.CHAIN


def settings(mode: str, *, chain_in_hybrid: bool = False) -> Settings:
    return Settings.model_validate({"ingest": {"mode": mode, "chain_in_hybrid": chain_in_hybrid}})


@pytest.mark.parametrize(
    ("mode", "chain_in_hybrid", "kinds"),
    [
        ("WS_ONLY", False, [WS]),
        ("POLLING_ONLY", False, [POLL]),
        ("CHAIN_ONLY", False, [CHAIN]),
        ("HYBRID", False, [WS, POLL]),
        ("HYBRID", True, [WS, POLL, CHAIN]),
    ],
)
def test_a_mode_selects_its_entries(mode: str, chain_in_hybrid: bool, kinds: list[SourceKind]) -> None:
    assert selected(settings(mode, chain_in_hybrid=chain_in_hybrid)) == kinds


async def test_every_entry_builds_a_source_of_its_kind_over_the_callers_clients() -> None:
    s = settings("HYBRID", chain_in_hybrid=True)
    clients = IngestClients.from_settings(s)

    async def retracted(_signal: object) -> None:
        return None

    deps = SourceDeps(
        settings=s,
        leaders=["0x" + "ab" * 20],
        clients=clients,
        cursors=MemoryCursorStore(),
        metrics=IngestMetrics(),
        push_healthy=lambda: True,
        on_stale=lambda _signals: None,
        on_retract=retracted,
        follow_from_s=0,
    )
    sources: dict[SourceKind, SignalSource] = build_sources(deps)
    assert list(sources) == list(SOURCES)
    assert all(source.kind is kind for kind, source in sources.items())
    push = sources[WS]
    assert isinstance(push, RtdsSource)
    assert push.client is clients.rtds
    assert isinstance(sources[POLL], DataApiPoller)
    assert isinstance(sources[CHAIN], ChainLogSource)
    for source in sources.values():
        await source.close()
    await clients.close()
