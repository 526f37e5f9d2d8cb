"""Market allow/deny lists naming slugs and tags, through the real engine and the simulator's Gamma.

The signals come as the chain source gives them (no slug, never tags), so the engine must look the
market up to decide. The expected tags come from the simulator's own Gamma `/events` listing (the
test reads them directly), not from the engine. With Gamma failing, a deny list naming a tag must not
let the copy through: it is skipped as MARKET_METADATA_UNAVAILABLE.
"""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from polyhunter.domain.signal import Signal, SourceKind
from polyhunter.runtime.run_file import CopySpec, FollowerSpec, RunFile
from tests.support.engine_rig import Rig, leader_address, rig
from tests.support.sim_stack import admin

pytestmark = pytest.mark.integration

L1 = leader_address(1)
FIXED3: dict[str, Any] = {"sizing": "FIXED_USDC", "sizing_value": Decimal(3)}


def _paper(copies: dict[str, dict[str, Any]]) -> RunFile:
    return RunFile(
        followers=[
            FollowerSpec(name=name, custody="PAPER", copies=[CopySpec(leader=L1, **FIXED3, **params)])
            for name, params in copies.items()
        ]
    )


async def _tags(r: Rig) -> dict[str, set[str]]:
    """condition id -> tag slugs, from the simulator's Gamma events (each lists its markets and tags)."""
    events = await admin(r.http, r.sim.urls["gamma"], "GET", "/events?limit=500")
    return {m["conditionId"]: {t["slug"] for t in e.get("tags") or []} for e in events for m in e["markets"]}


async def _chain_signal(r: Rig, market: int) -> Signal:
    """A leader fill as the chain source reports it: no slug."""
    return dataclasses.replace(await r.signal(L1, market), slug="", source=SourceKind.CHAIN)


def _by_name(r: Rig, copies: list[dict[str, Any]]) -> dict[str, tuple[str, str | None]]:
    names = {f.config_ids[0]: f.spec.name for f in r.sup.followers}
    return {names[c["config_id"]]: (c["state"], c["reason"]) for c in copies}


async def test_tag_and_slug_lists_decide_chain_signals(tmp_path: Path) -> None:
    async with rig(tmp_path, _paper({"probe": {}}), []) as probe:
        tags = await _tags(probe)
        m0, m1 = probe.markets[0], probe.markets[1]
    tag0, tag1 = sorted(tags[m0["condition_id"]])[0], sorted(tags[m1["condition_id"]])[0]
    assert tag0 != tag1
    run = _paper(
        {
            "deny-tag0": {"deny_markets": [tag0]},
            "allow-tag1": {"allow_markets": [tag1]},
            "allow-slug0": {"allow_markets": [m0["slug"]]},
        }
    )
    async with rig(tmp_path / "run", run, []) as r:
        first = _by_name(r, await r.feed(await _chain_signal(r, 0)))
        assert first == {
            "deny-tag0": ("SKIPPED", "MARKET_DENIED"),
            "allow-tag1": ("SKIPPED", "MARKET_NOT_ALLOWED"),
            "allow-slug0": ("EXECUTED", None),
        }
        second = _by_name(r, await r.feed(await _chain_signal(r, 1)))
        assert second == {
            "deny-tag0": ("EXECUTED", None),
            "allow-tag1": ("EXECUTED", None),
            "allow-slug0": ("SKIPPED", "MARKET_NOT_ALLOWED"),
        }
        third = _by_name(r, await r.feed(await _chain_signal(r, 0)))  # the same market again: cached
        assert third == first
        assert r.sup.engine.markets is not None
        assert r.sup.engine.markets.cache.stats.misses == 2


async def test_failed_lookup_never_passes_a_deny_list(tmp_path: Path) -> None:
    run = _paper({"deny-tag": {"deny_markets": ["sports"]}, "ids-only": {"deny_markets": ["0x" + "ab" * 32]}})
    async with rig(tmp_path, run, [], venue={"max_retries": 0}) as r:
        await r.faults({"rate_5xx": {"gamma": 1.0}})
        for market in (0, 1):
            got = _by_name(r, await r.feed(await _chain_signal(r, market)))
            assert got == {
                "deny-tag": ("SKIPPED", "MARKET_METADATA_UNAVAILABLE"),
                "ids-only": ("EXECUTED", None),  # its lists need no metadata: decided by condition id
            }
