"""What every command needs: the settings (with a clean one-line error) and logging set up."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from polyhunter.log import configure_logging
from polyhunter.settings import Settings, SettingsError, load_settings

CONFIG_OPTION = typer.Option(None, "--settings", "-s", help="Settings file (default ./polyhunter.toml).")


def settings_or_exit(config_file: Path | None, overrides: dict[str, Any] | None = None) -> Settings:
    try:
        settings = load_settings(config_file, overrides)
    except SettingsError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(code=2) from None
    configure_logging(settings.logging.level, settings.logging.format, settings.secrets.secret_values())
    return settings
