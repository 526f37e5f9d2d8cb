"""`polyhunter doctor`: is this deployment ready to run? One line per check (✓ pass, ✗ fail, - skip).

Checks the settings, the database (at the newest migration), Redis (when `coord.backend = redis`),
each venue surface (reachable, clock skew, CLOB `/version`), the RTDS websocket, the chain's RPC node
(when the chain is read), and with `--config RUNFILE` every own wallet (its key signs in; balance and
allowances cover the largest copy), every PROXY follower's proxy (deployed by the factory, bound, not
paused: else `NO_PROXY`; DIRECT: the venue's collateral, and `direct.NAME`: every exchange approved) and the
fleet (the executor not paused; each worker listed, not paused, with gas, collateral and its approvals of the
executor; gas only when every PROXY follower is DIRECT). Exit code 0 when nothing failed, 1 when a check failed, 2 when the
settings or the run file cannot be read.
"""

from __future__ import annotations

import asyncio
import json
import os
import tomllib
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError

from polyhunter.commands.common import CONFIG_OPTION, SET_OPTION, parse_set_flags
from polyhunter.log import configure_logging
from polyhunter.readiness import CheckResult, Status, critical_checks, doctor_checks
from polyhunter.readiness.checks import DEFAULT_TIMEOUT_S, failed, passed
from polyhunter.runtime.run_file import RunFile, load_run_file
from polyhunter.settings import CONFIG_FILE_ENV, DEFAULT_CONFIG_FILE, Settings, SettingsError, load_settings


def _emit(results: list[CheckResult], as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps([r.to_json() for r in results], ensure_ascii=False))
    else:
        for r in results:
            typer.echo(r.line())


def _joined(exc: Exception) -> str:
    return "; ".join(line.strip() for line in str(exc).splitlines() if line.strip())


def _settings(settings_file: Path | None, set_flags: list[str] | None) -> Settings:
    settings = load_settings(settings_file, parse_set_flags(set_flags) or None)
    configure_logging("WARNING", settings.logging.format, settings.secrets.secret_values())
    return settings


def _settings_source(settings_file: Path | None) -> str:
    path = settings_file or Path(os.environ.get(CONFIG_FILE_ENV, DEFAULT_CONFIG_FILE))
    return f"loaded from {path}" if path.exists() else "defaults (no settings file)"


def _run_file(path: Path) -> tuple[RunFile | None, CheckResult]:
    """The run file and its check. A file that parses but fails a cross-check (a key env var that is
    not set, say) still gives its followers, so their wallets are checked (and name the problem)."""
    try:
        run = load_run_file(path)
    except SettingsError as exc:
        result = failed("run_file", _joined(exc), f"fix {path} (see `polyhunter run --help`)")
        try:
            with path.open("rb") as fh:
                return RunFile.model_validate(tomllib.load(fh)), result
        except (OSError, tomllib.TOMLDecodeError, ValidationError):
            return None, result
    return run, passed("run_file", f"{path}: {len(run.followers)} follower(s)")


def doctor(
    as_json: Annotated[
        bool, typer.Option("--json", help="Print a JSON list of checks instead of lines.")
    ] = False,
    config: Annotated[
        Path | None, typer.Option("--config", "-c", help="Run file: also check its followers' wallets.")
    ] = None,
    timeout_s: Annotated[
        float, typer.Option("--timeout", min=0.1, max=60, help="Seconds each check may take.")
    ] = DEFAULT_TIMEOUT_S,
    settings_file: Path | None = CONFIG_OPTION,
    set_flags: list[str] | None = SET_OPTION,
) -> None:
    """Check that the settings, database, Redis, venue, chain node and wallets are ready to run."""
    try:
        settings = _settings(settings_file, set_flags)
    except SettingsError as exc:
        _emit(
            [failed("settings", _joined(exc), "fix the settings file, environment or --set flags")], as_json
        )
        raise typer.Exit(2) from None
    results = [passed("settings", _settings_source(settings_file))]
    run: RunFile | None = None
    if config is not None:
        run, run_check = _run_file(config)
        results.append(run_check)
        if run is None:
            _emit(results, as_json)
            raise typer.Exit(2)
    results += asyncio.run(doctor_checks(settings, run, timeout_s=timeout_s))
    _emit(results, as_json)
    if any(r.status is Status.FAIL for r in results):
        raise typer.Exit(1)


def ready_or_exit(settings: Settings, run: RunFile) -> None:
    """`polyhunter run`'s pre-start checks (see `readiness.critical_checks`): each failed one is printed
    as its doctor line and the command exits with code 2 before anything is started."""
    failures = [r for r in asyncio.run(critical_checks(settings, run)) if r.status is Status.FAIL]
    for r in failures:
        typer.echo(f"error: {r.line()}", err=True)
    if failures:
        raise typer.Exit(2)
