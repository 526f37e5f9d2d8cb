"""What every command needs: the settings (with a clean one-line error) and logging set up.

Settings come from the file, then `POLYHUNTER__SECTION__KEY` environment variables, then flags: a
command's own flags (e.g. `watch --mode`) and, on every command, `--set SECTION.KEY=VALUE` (repeatable;
a value that reads as a JSON list or object is taken as one, anything else as the string pydantic
converts: `--set guardrails.dry_run=true --set ingest.mode=POLLING_ONLY`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from polyhunter.log import configure_logging
from polyhunter.settings import Settings, SettingsError, load_settings

CONFIG_OPTION = typer.Option(None, "--settings", "-s", help="Settings file (default ./polyhunter.toml).")
SET_OPTION = typer.Option(
    None,
    "--set",
    metavar="SECTION.KEY=VALUE",
    help="Override one setting (repeatable); wins over the file and the environment.",
)


def parse_set_flags(values: list[str] | None) -> dict[str, Any]:
    """`["engine.dry_run=true", "db.url=sqlite+aiosqlite:///x.db"]` -> nested overrides."""
    out: dict[str, Any] = {}
    for item in values or ():
        name, sep, raw = item.partition("=")
        path = name.strip().split(".")
        if not sep or len(path) < 2 or not all(path):
            raise SettingsError(f"--set {item!r}: expected SECTION.KEY=VALUE (e.g. guardrails.dry_run=true)")
        value: Any = raw
        if raw.lstrip().startswith(("[", "{")):
            try:
                value = json.loads(raw)
            except json.JSONDecodeError as exc:
                raise SettingsError(f"--set {name}: not valid JSON ({exc.msg})") from None
        node = out
        for part in path[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise SettingsError(f"--set {name}: {part} is set to a value and used as a section")
            node = child
        node[path[-1]] = value
    return out


def _merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def settings_or_exit(
    config_file: Path | None, overrides: dict[str, Any] | None = None, set_flags: list[str] | None = None
) -> Settings:
    try:
        flags = _merge(overrides or {}, parse_set_flags(set_flags))
        settings = load_settings(config_file, flags or None)
    except SettingsError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(code=2) from None
    configure_logging(settings.logging.level, settings.logging.format, settings.secrets.secret_values())
    return settings
