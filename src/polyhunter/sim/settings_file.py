"""The settings file `polyhunter sim --write-settings FILE` writes once the simulator listens.

`polyhunter run / watch / doctor --settings FILE` read it as is: the five venue URLs, the chain source off
(on, with ``venue.chain_rpc_url`` the sim's node and the mirror contract as the exchange, when the sim
mirrors matches on a chain; with live timing also the mempool source, ``ingest.mempool_url`` the node's
websocket), ``venue.chain_id`` the one the sim checks signatures for, and ``db.url`` only
when asked for. Nothing else: every other setting keeps its default (relative paths in the file, such as
the default SQLite database, are taken relative to the file's directory).

The admin API is not a setting; it is written as a comment that `polyhunter sim fund --settings FILE`
reads (:func:`admin_url_in`).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from pathlib import Path

__all__ = ["admin_url_in", "settings_toml", "write_settings_file"]

ADMIN_COMMENT = "# sim.admin_url = "
_ADMIN_LINE = re.compile(r"^# sim\.admin_url = (\"[^\"\n]*\")$", re.MULTILINE)


def _s(value: str) -> str:
    """A TOML basic string (JSON's escapes are valid TOML)."""
    return json.dumps(value)


def settings_toml(
    urls: Mapping[str, str],
    *,
    chain_id: int,
    mirror_address: str | None = None,
    db_url: str | None = None,
    about: str = "",
    mempool: bool = False,
) -> str:
    """The file's text for a simulator at ``urls`` (``SimServer.urls``). ``mempool``: the chain's matches
    wait in its mempool (live timing), so ``ingest.mempool_url`` is the node's websocket."""
    chain = "chain_rpc" in urls and bool(mirror_address)
    lines = [
        f"# Written by `polyhunter sim --write-settings`{f' ({about})' if about else ''}.",
        "# Use it with: polyhunter run --settings THIS_FILE --config RUNFILE (or watch, doctor).",
        "# The simulator's admin API (not a setting; `polyhunter sim fund --settings THIS_FILE` reads it):",
        f"{ADMIN_COMMENT}{_s(urls['admin'])}",
        "",
    ]
    if db_url is not None:
        lines += ["[db]", f"url = {_s(db_url)}", ""]
    lines += [
        "[venue]",
        f"clob_url = {_s(urls['clob'])}",
        f"data_api_url = {_s(urls['data_api'])}",
        f"gamma_url = {_s(urls['gamma'])}",
        f"clob_ws_url = {_s(urls['clob_ws'])}",
        f"rtds_ws_url = {_s(urls['rtds_ws'])}",
        f"chain_id = {int(chain_id)}",
    ]
    if chain:
        lines.append(f"chain_rpc_url = {_s(urls['chain_rpc'])}")
    lines += ["", "[ingest]", f"chain_in_hybrid = {'true' if chain else 'false'}"]
    if chain:
        lines.append(f"chain_exchange_addresses = [{_s(str(mirror_address))}]")
    if chain and mempool:
        lines.append(f"mempool_url = {_s(re.sub('^http', 'ws', urls['chain_rpc']))}")
    return "\n".join(lines) + "\n"


def write_settings_file(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` whole (a temporary file renamed over it): a reader never sees half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def admin_url_in(text: str) -> str | None:
    """The admin URL a file written by :func:`settings_toml` names, or None."""
    match = _ADMIN_LINE.search(text)
    if match is None:
        return None
    value = json.loads(match.group(1))
    return value if isinstance(value, str) and value else None
