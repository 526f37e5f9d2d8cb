"""A supervisor against the simulator, for the end-to-end and engine-on-sim tests: settings pointed at
a simulator, deterministic follower keys, admin calls, and reads of the run's SQLite file."""

from __future__ import annotations

import asyncio
import hashlib
import os
import time
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
from sqlalchemy import create_engine, text

from polyhunter.adapters.polymarket.eip712 import address_from_private_key
from polyhunter.runtime.demo import demo_settings
from polyhunter.secretbox import generate_master_key
from polyhunter.settings import Settings


def follower_key(tag: str, index: int) -> tuple[str, str]:
    """A deterministic secp256k1 key (and its address) for test follower `index`."""
    key = "0x" + hashlib.sha256(f"polyhunter-e2e:{tag}:{index}".encode()).hexdigest()
    return key, address_from_private_key(key).lower()


def sim_settings(urls: Mapping[str, str], db_path: Path, **sections: dict[str, Any]) -> Settings:
    """Settings for a supervisor against the simulator at `urls` on a SQLite file; `sections` override."""
    data: dict[str, Any] = demo_settings(Settings(), urls, db_path).model_dump()
    data["secrets"]["master_key"] = generate_master_key()
    data["secrets"]["master_key_file"] = str(db_path.with_suffix(".key"))
    for name, values in sections.items():
        data[name].update(values)
    return Settings.model_validate(data)


def sim_env(urls: Mapping[str, str], db_url: str, **settings: str) -> dict[str, str]:
    """The environment of a `polyhunter` process against the simulator at `urls` on `db_url`: none of this
    process's POLYHUNTER variables, HYBRID without the chain, memory coordination, the API on a free port,
    a fresh master key, JSON logs at INFO; `settings` add or override (``INGEST__MODE="WS_ONLY"``)."""
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("POLYHUNTER")}
    values = {
        "VENUE__CLOB_URL": urls["clob"],
        "VENUE__DATA_API_URL": urls["data_api"],
        "VENUE__GAMMA_URL": urls["gamma"],
        "VENUE__CLOB_WS_URL": urls["clob_ws"],
        "VENUE__RTDS_WS_URL": urls["rtds_ws"],
        "DB__URL": db_url,
        "COORD__BACKEND": "memory",
        "INGEST__MODE": "HYBRID",
        "INGEST__CHAIN_IN_HYBRID": "false",
        "API__PORT": "0",
        "SECRETS__MASTER_KEY": generate_master_key(),
        "LOGGING__LEVEL": "INFO",
        "LOGGING__FORMAT": "json",
        **settings,
    }
    env.update({f"POLYHUNTER__{name}": value for name, value in values.items()})
    return env


async def admin(http: aiohttp.ClientSession, base: str, method: str, path: str, body: Any = None) -> Any:
    async with http.request(method, base + path, json=body) as resp:
        assert resp.status == 200, await resp.text()
        return await resp.json()


async def fund(http: aiohttp.ClientSession, admin_url: str, address: str, usdc: Decimal) -> None:
    await admin(http, admin_url, "POST", "/fund", {"address": address, "collateral": str(usdc)})


# ------------------------------------------------------------------------------------ database reads


def rows(db_path: Path, sql: str) -> list[dict[str, Any]]:
    """Read the run's SQLite file directly (plain sqlite3 through a sync engine, after the run)."""
    engine = create_engine(f"sqlite:///{db_path}")
    try:
        with engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(text(sql))]
    finally:
        engine.dispose()


async def quiesce(db_path: Path, quiet_s: float, limit_s: float) -> None:
    """Wait until the signal and copy tables stop changing for `quiet_s` seconds."""
    sql = "SELECT (SELECT count(*) FROM signals) AS s, state, count(*) AS n FROM copy_trades GROUP BY state"
    last: Any = None
    since = time.monotonic()
    deadline = since + limit_s
    while time.monotonic() < deadline:
        now = sorted(tuple(r.values()) for r in rows(db_path, sql))
        if now != last:
            last, since = now, time.monotonic()
        elif time.monotonic() - since >= quiet_s:
            return
        await asyncio.sleep(0.25)
    raise AssertionError("the engine did not go quiet")
