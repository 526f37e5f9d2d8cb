"""The settings file a `polyhunter watch` subprocess reads: the simulator's URLs, a SQLite file, and
the ingest options a test sets."""

from __future__ import annotations

from pathlib import Path


def watch_settings_file(tmp: Path, urls: dict[str, str], **ingest: object) -> Path:
    options = {"mode": "HYBRID", "chain_in_hybrid": False, "poll_interval_ms": 1000, **ingest}
    lines = "\n".join(f"{key} = {_toml(value)}" for key, value in options.items())
    path = tmp / "polyhunter.toml"
    path.write_text(
        f"""
[db]
url = "sqlite+aiosqlite:///{tmp}/watch.db"

[venue]
clob_url = "{urls["clob"]}"
data_api_url = "{urls["data_api"]}"
gamma_url = "{urls["gamma"]}"
clob_ws_url = "{urls["clob_ws"]}"
rtds_ws_url = "{urls["rtds_ws"]}"
chain_rpc_url = "http://127.0.0.1:9"

[ingest]
{lines}

[logging]
level = "WARNING"
"""
    )
    return path


def _toml(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return f'"{value}"'
