"""The ingest sources table: which sources a mode runs, and every entry is a SignalSource of its kind."""

from __future__ import annotations

import pytest

from polyhunter.domain.signal import SourceKind
from polyhunter.ingest.chain_logs import ChainLogSource
from polyhunter.ingest.cursors import MemoryCursorStore
from polyhunter.ingest.data_api_poll import DataApiPoller
from polyhunter.ingest.mempool import MempoolSource
from polyhunter.ingest.metrics import IngestMetrics
from polyhunter.ingest.rtds import RtdsSource
from polyhunter.ingest.source_deps import IngestClients, SourceDeps
from polyhunter.ingest.sources import SOURCES, build_sources, selected
from polyhunter.ports.sources import SignalSource
from polyhunter.settings import Settings

WS, POLL, CHAIN = SourceKind.WS, SourceKind.POLL, SourceKind.CHAIN


NODE = {"chain_rpc_url": "http://127.0.0.1:8545"}


def settings(mode: str, *, chain_in_hybrid: bool = False, node: bool = True) -> Settings:
    return Settings.model_validate(
        {"ingest": {"mode": mode, "chain_in_hybrid": chain_in_hybrid}, "venue": NODE if node else {}}
    )


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


def test_the_chain_source_is_off_without_a_node() -> None:
    assert Settings().venue.chain_rpc_url is None  # no dead public default
    assert selected(Settings()) == [WS, POLL]  # HYBRID, chain_in_hybrid on, but no node set
    assert selected(settings("HYBRID", chain_in_hybrid=True, node=False)) == [WS, POLL]
    urls_only = Settings.model_validate({"venue": {"chain_rpc_urls": ["http://a", "http://b/"]}})
    assert urls_only.venue.rpc_urls == ["http://a", "http://b"]
    assert selected(urls_only) == [WS, POLL, CHAIN]


def test_the_mempool_runs_in_hybrid_only_with_a_node_that_serves_pending_transactions() -> None:
    mem = SourceKind.MEMPOOL
    assert mem not in selected(Settings())
    http = Settings.model_validate({"ingest": {"mempool_url": "http://127.0.0.1:8545"}})
    assert selected(http) == [WS, POLL, mem]
    ws = Settings.model_validate({"ingest": {"mempool_url": "ws://127.0.0.1:8545"}, "venue": NODE})
    assert selected(ws) == [WS, POLL, CHAIN, mem]
    off = Settings.model_validate({"ingest": {"mempool_url": "http://n", "mempool_in_hybrid": False}})
    assert selected(off) == [WS, POLL]
    only = Settings.model_validate({"ingest": {"mode": "MEMPOOL_ONLY", "mempool_url": "http://n"}})
    assert selected(only) == [mem]


@pytest.mark.parametrize(
    ("ingest", "venue", "error"),
    [
        ({"mode": "MEMPOOL_ONLY"}, {}, "MEMPOOL_ONLY needs ingest.mempool_url"),
        ({"mempool_url": "ws://n"}, {}, "mempool_url is a websocket: set venue.chain_rpc_url"),
        ({"mempool_url": "ftp://n"}, {}, "must start with ws://, wss://, http:// or https://"),
        ({"mempool_url": "http://n", "mempool_drop_after_blocks": 0}, {}, "mempool_drop_after_blocks"),
    ],
)
def test_bad_mempool_settings_are_one_clear_error(
    ingest: dict[str, object], venue: dict[str, object], error: str
) -> None:
    with pytest.raises(ValueError, match=error):
        Settings.model_validate({"ingest": ingest, "venue": venue})


def test_chain_only_needs_a_node() -> None:
    with pytest.raises(ValueError, match="CHAIN_ONLY needs venue.chain_rpc_url"):
        settings("CHAIN_ONLY", node=False)


def test_the_nodes_are_tried_in_order_each_once() -> None:
    s = Settings.model_validate(
        {"venue": {"chain_rpc_url": "http://a", "chain_rpc_urls": ["http://b", "http://a", " "]}}
    )
    assert s.venue.rpc_urls == ["http://a", "http://b"]


async def test_every_entry_builds_a_source_of_its_kind_over_the_callers_clients() -> None:
    s = Settings.model_validate(
        {
            "ingest": {"mode": "HYBRID", "chain_in_hybrid": True, "mempool_url": "ws://127.0.0.1:8545"},
            "venue": NODE,
        }
    )
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
    assert isinstance(sources[SourceKind.MEMPOOL], MempoolSource)
    for source in sources.values():
        await source.close()
    await clients.close()


async def test_the_v3_exchange_is_watched_once_set() -> None:
    v3 = "0x" + "e3" * 20
    assert Settings().venue.exchange_v3 == []
    s = Settings.model_validate({"venue": {**NODE, "exchange_v3": [v3]}})
    source = ChainLogSource.from_settings(s, leaders=["0x" + "ab" * 20], cursor_store=MemoryCursorStore())
    try:
        assert v3 in source._exchanges
        assert len(source._exchanges) == len(s.ingest.chain_exchange_addresses) + 1
    finally:
        await source.close()
    with pytest.raises(ValueError, match="not a contract address"):
        Settings.model_validate({"venue": {"exchange_v3": ["0x12"]}})
