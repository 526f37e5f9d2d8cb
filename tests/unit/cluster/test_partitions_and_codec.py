"""Partition rules and the stream entry codec (pure)."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from polyhunter.cluster.codec import BadEntryError, decode, encode
from polyhunter.cluster.partitions import assignment, partition_of, wanted_by
from polyhunter.cluster.worker import parse_roles
from polyhunter.domain.signal import Side, Signal, SourceKind


def test_every_partition_has_one_owner_and_the_shares_are_even_enough() -> None:
    members = ["host-a:1", "host-b:2", "host-c:3"]
    owners = assignment(64, members)
    assert set(owners.values()) == set(members)
    assert max(Counter(owners.values()).values()) <= 64 // 3 + 12
    for m in members:  # each member computes the same answer
        assert wanted_by(m, 64, members) == {p for p, o in owners.items() if o == m}


def test_a_member_leaving_moves_only_its_partitions_and_one_joining_takes_only_what_it_wins() -> None:
    before = assignment(64, ["a", "b", "c"])
    after = assignment(64, ["a", "c"])
    moved = {p for p in before if before[p] != after[p]}
    assert moved == {p for p, o in before.items() if o == "b"}
    joined = assignment(64, ["a", "b", "c", "d"])
    assert {p for p in before if before[p] != joined[p]} == {p for p, o in joined.items() if o == "d"}
    assert assignment(4, []) == dict.fromkeys(range(4))


def test_a_followers_partition_is_fixed_and_spread() -> None:
    assert partition_of(42, 16) == partition_of(42, 16)
    counts = Counter(partition_of(uid, 16) for uid in range(1, 16_001))
    assert len(counts) == 16
    assert min(counts.values()) > 800


def test_a_signal_survives_the_stream_and_a_bad_entry_is_refused() -> None:
    t = datetime(2026, 12, 6, 8, 0, 1, 123456, tzinfo=UTC)
    s = Signal(
        "k",
        "0xab",
        "123",
        "0xc",
        Side.SELL,
        Decimal("12.345678"),
        Decimal("0.51"),
        "0xt",
        t,
        t,
        SourceKind.POLL,
        "slug",
        "Yes",
    )
    assert decode(encode(s)) == s
    for raw in (b"not json", b"{}", encode(s).replace(b"SELL", b"HOLD"), encode(s).replace(b"+00:00", b"")):
        with pytest.raises(BadEntryError):
            decode(raw)


def test_roles_are_checked() -> None:
    assert parse_roles("ingest, execute,ingest") == ("ingest", "execute")
    for bad in ("", "ingest,sweep"):
        with pytest.raises(ValueError, match="roles"):
            parse_roles(bad)
