"""One settings tree: ``polyhunter.toml``, then ``POLYHUNTER__SECTION__KEY`` env vars, then CLI flags.

The sections and the root ``Settings`` are in sections.py; loading (file, env, overrides, absolute
paths, the one-line errors) in loading.py; the redaction of URLs' passwords in redaction.py. Import
from ``polyhunter.settings``: every name below is the package's.
"""

from polyhunter.settings.loading import (
    CONFIG_FILE_ENV,
    DEFAULT_CONFIG_FILE,
    SettingsError,
    format_validation_error,
    load_settings,
    resolve_paths,
)
from polyhunter.settings.redaction import redact_url
from polyhunter.settings.sections import (
    DAY_MS,
    DAY_S,
    MAX_COUNT,
    MAX_USDC,
    MONTH_S,
    ApiSettings,
    ClusterSettings,
    CoordSettings,
    DbSettings,
    EngineSettings,
    GuardrailSettings,
    IngestSettings,
    LoggingSettings,
    ProxySettings,
    SecretsSettings,
    Section,
    Settings,
    SignalMode,
    VenueSettings,
)

__all__ = [
    "CONFIG_FILE_ENV",
    "DAY_MS",
    "DAY_S",
    "DEFAULT_CONFIG_FILE",
    "MAX_COUNT",
    "MAX_USDC",
    "MONTH_S",
    "ApiSettings",
    "ClusterSettings",
    "CoordSettings",
    "DbSettings",
    "EngineSettings",
    "GuardrailSettings",
    "IngestSettings",
    "LoggingSettings",
    "ProxySettings",
    "SecretsSettings",
    "Section",
    "Settings",
    "SettingsError",
    "SignalMode",
    "VenueSettings",
    "format_validation_error",
    "load_settings",
    "redact_url",
    "resolve_paths",
]
