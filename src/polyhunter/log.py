"""structlog set-up: readable console or JSON lines, with a redaction step for secrets.

Redaction has two parts: values under secret-looking keys are masked, and every registered
secret value (private keys, API secrets from settings or the database) is cut out of any string,
wherever it appears. stdlib logging (alembic, uvicorn, aiohttp) goes through the same chain.
"""

from __future__ import annotations

import logging
import re
import sys
import threading
from collections.abc import Iterable, MutableMapping
from typing import Any

import structlog
from pydantic import SecretStr

MASK = "**********"
_SECRET_KEY = re.compile(r"(private_?key|secret|passphrase|password|master_?key|api_?key|mnemonic)", re.I)
_lock = threading.Lock()
_secrets: set[str] = set()
_pattern: re.Pattern[str] | None = None


def register_secret(*values: str | None) -> None:
    """Make sure these values never reach a log line (a value shorter than 6 chars is ignored)."""
    global _pattern
    with _lock:
        changed = False
        for value in values:
            if value and len(value) >= 6 and value not in _secrets:
                _secrets.add(value)
                # Also the 0x-less / lower-case spellings of hex keys.
                if value.startswith("0x"):
                    _secrets.add(value[2:])
                _secrets.add(value.lower())
                changed = True
        if changed:
            ordered = sorted(_secrets, key=len, reverse=True)
            _pattern = re.compile("|".join(re.escape(s) for s in ordered), re.I)


def redact_text(text: str) -> str:
    pattern = _pattern
    return pattern.sub(MASK, text) if pattern is not None else text


def _redact_value(key: str, value: Any) -> Any:
    if isinstance(value, SecretStr):
        return MASK
    if isinstance(key, str) and _SECRET_KEY.search(key) and value not in (None, "", False):
        return MASK
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, dict):
        return {k: _redact_value(str(k), v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_redact_value("", v) for v in value]
    if isinstance(value, BaseException):
        return redact_text(repr(value))
    return value


def redact_processor(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    for key in list(event_dict.keys()):
        event_dict[key] = _redact_value(key, event_dict[key])
    return event_dict


def _final_redact(_logger: Any, _method: str, rendered: Any) -> Any:
    """Last line of defence: the rendered line (with tracebacks) is scanned for secret values."""
    return redact_text(rendered) if isinstance(rendered, str) else rendered


def configure_logging(level: str = "INFO", fmt: str = "console", secrets: Iterable[str] = ()) -> None:
    register_secret(*secrets)
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        redact_processor,
    ]
    renderer: Any
    if fmt == "json":
        renderer = structlog.processors.JSONRenderer()
        shared.append(structlog.processors.format_exc_info)
    else:
        # Plain tracebacks: rich ones print local variables, which can hold secrets.
        renderer = structlog.dev.ConsoleRenderer(
            colors=sys.stderr.isatty(), exception_formatter=structlog.dev.plain_traceback
        )
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer, _final_redact],
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)


def get_logger(name: str) -> structlog.stdlib.BoundLogger:
    logger: structlog.stdlib.BoundLogger = structlog.stdlib.get_logger(name)
    return logger
