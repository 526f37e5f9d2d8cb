"""`polyhunter config show|check`."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from polyhunter.commands.common import CONFIG_OPTION, SET_OPTION, settings_or_exit

app = typer.Typer(
    help="Inspect and validate the settings (polyhunter.toml, then POLYHUNTER__* env, then flags)."
)


@app.command("show")
def show(
    settings_file: Path | None = CONFIG_OPTION,
    set_flags: list[str] | None = SET_OPTION,
) -> None:
    """Print the effective settings as JSON, every secret redacted."""
    settings = settings_or_exit(settings_file, set_flags=set_flags)
    typer.echo(json.dumps(settings.redacted(), indent=2, sort_keys=True))


@app.command("check")
def check(
    settings_file: Path | None = CONFIG_OPTION,
    set_flags: list[str] | None = SET_OPTION,
) -> None:
    """Validate the settings; exit 2 with one line per bad key otherwise."""
    settings_or_exit(settings_file, set_flags=set_flags)
    typer.echo("settings ok")
