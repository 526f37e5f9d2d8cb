"""Loading the settings: ``polyhunter.toml``, then ``POLYHUNTER__SECTION__KEY`` env vars, then CLI flags.

Paths are absolute once loaded: a relative ``secrets.master_key_file`` or SQLite ``db.url`` path is
taken relative to the settings file's directory (the working directory when there is no file), so a
process started from another directory finds the same database and the same master key.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource

from polyhunter.settings.sections import Settings

DEFAULT_CONFIG_FILE = "polyhunter.toml"
CONFIG_FILE_ENV = "POLYHUNTER_CONFIG"


class SettingsError(Exception):
    """Bad settings: the message names the source, the key and why, on one line per problem."""


def _absolute(path: str, base: Path) -> str:
    expanded = Path(path).expanduser()
    return str(expanded if expanded.is_absolute() else (base / expanded).resolve())


def _sqlite_absolute(url: str, base: Path) -> str:
    """A SQLite URL with a relative file path made absolute against ``base`` (others unchanged)."""
    prefix = "sqlite+aiosqlite:///"
    if not url.startswith(prefix):
        return url
    database, sep, query = url[len(prefix) :].partition("?")
    if not database or database == ":memory:" or database.startswith("file:"):
        return url
    return prefix + _absolute(database, base) + sep + query


def resolve_paths(settings: Settings, base: Path) -> Settings:
    """``settings`` with its relative paths made absolute against ``base`` (see the module doc)."""
    secrets = settings.secrets.model_copy(
        update={"master_key_file": _absolute(settings.secrets.master_key_file, base)}
    )
    db = settings.db.model_copy(update={"url": _sqlite_absolute(settings.db.url, base)})
    return settings.model_copy(update={"secrets": secrets, "db": db})


class _DictSource(PydanticBaseSettingsSource):
    def __init__(self, settings_cls: type[BaseSettings], data: dict[str, Any]) -> None:
        super().__init__(settings_cls)
        self._data = data

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return self._data.get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return dict(self._data)


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"{path}: not valid TOML: {exc}") from exc


def _env_unknown_keys() -> list[str]:
    """Env vars under our prefix whose section or key does not exist (pydantic-settings ignores them)."""
    problems = []
    for name in os.environ:
        upper = name.upper()
        if not upper.startswith("POLYHUNTER__"):
            continue
        parts = upper[len("POLYHUNTER__") :].lower().split("__")
        section = Settings.model_fields.get(parts[0])
        if section is None:
            problems.append(f"env {name}: unknown section {parts[0]!r}")
            continue
        model = section.annotation
        if len(parts) >= 2 and isinstance(model, type) and issubclass(model, BaseModel):
            if parts[1] not in model.model_fields:
                problems.append(f"env {name}: unknown key {parts[0]}.{parts[1]!r}")
        elif len(parts) < 2:
            problems.append(f"env {name}: name a key, as POLYHUNTER__{parts[0].upper()}__KEY")
    return problems


def load_settings(config_file: Path | None = None, overrides: dict[str, Any] | None = None) -> Settings:
    """Load settings; ``config_file`` (or ``$POLYHUNTER_CONFIG``, or ``./polyhunter.toml`` if present)."""
    explicit = config_file is not None or CONFIG_FILE_ENV in os.environ
    path = config_file or Path(os.environ.get(CONFIG_FILE_ENV, DEFAULT_CONFIG_FILE))
    if path.exists():
        data = _read_toml(path)
    elif explicit:
        raise SettingsError(f"{path}: settings file not found")
    else:
        data = {}
    env_problems = _env_unknown_keys()
    if env_problems:
        raise SettingsError("; ".join(env_problems))

    class _Loaded(Settings):
        @classmethod
        def settings_customise_sources(
            cls,
            settings_cls: type[BaseSettings],
            init_settings: PydanticBaseSettingsSource,
            env_settings: PydanticBaseSettingsSource,
            dotenv_settings: PydanticBaseSettingsSource,
            file_secret_settings: PydanticBaseSettingsSource,
        ) -> tuple[PydanticBaseSettingsSource, ...]:
            return (init_settings, env_settings, _DictSource(settings_cls, data))

    try:
        loaded = _Loaded(**(overrides or {}))
    except ValidationError as exc:
        raise SettingsError(format_validation_error(exc, str(path) if data else "settings")) from None
    base = path.resolve().parent if path.exists() else Path.cwd()
    return resolve_paths(loaded, base)


def format_validation_error(exc: ValidationError, source: str) -> str:
    lines = []
    for err in exc.errors():
        key = ".".join(str(p) for p in err["loc"])
        lines.append(f"{source}: {key}: {err['msg']}")
    return "\n".join(lines)
