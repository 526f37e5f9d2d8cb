"""What the engine reports per copy (the demo's live view reads it): latency is signal to SUBMIT, taken
when the order goes out, not when the venue's answer comes back."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from pydantic import SecretStr

from polyhunter.engine.copy_records import CopyRecord
from polyhunter.runtime.run_file import CopySpec, FollowerSpec, RunFile
from tests.support.delay_proxy import DelayProxy
from tests.support.engine_rig import leader_address, rig
from tests.support.sim_stack import follower_key

pytestmark = pytest.mark.integration

L1 = leader_address(1)
HOLD_S = 0.6


async def test_signal_to_submit_is_measured_at_submit(tmp_path: Path) -> None:
    key, address = follower_key("records", 0)
    copy = CopySpec(leader=L1, sizing="FIXED_USDC", sizing_value=Decimal(3))
    run = RunFile(
        followers=[FollowerSpec(name="f", custody="EOA", private_key=SecretStr(key), copies=[copy])]
    )
    records: list[CopyRecord] = []
    proxy = DelayProxy(hold_after_s=HOLD_S)  # the venue's answer to POST /order comes back 0.6 s late
    async with rig(tmp_path, run, [address], proxy, on_copy=records.append) as r:
        signal = await r.signal(L1)
        (row,) = await r.feed(signal)
        assert row["state"] == "EXECUTED", row
    (record,) = records
    assert (record.at - signal.seen_at).total_seconds() >= HOLD_S  # the copy finished after the hold
    assert record.signal_to_submit_ms is not None
    assert record.signal_to_submit_ms < HOLD_S * 1000 / 2  # but its order went out before it
