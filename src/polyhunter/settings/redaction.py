"""Settings shown without their secrets: the password of every URL replaced by ``***``."""

from __future__ import annotations

import re
from typing import Any

_URL_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")


def redact_url(url: str) -> str:
    """``scheme://user:secret@host/...`` -> ``scheme://user:***@host/...``; other strings unchanged.

    The credentials end at the last ``@`` (a password may hold an unescaped ``@``): redacting too
    much of an odd URL is fine, showing part of a password is not."""
    scheme = _URL_SCHEME.match(url)
    if scheme is None:
        return url
    rest = url[scheme.end() :]
    at = rest.rfind("@")
    if at < 0 or ":" not in rest[:at]:
        return url
    user = rest[:at].split(":", 1)[0]
    return f"{scheme.group()}{user}:***@{rest[at + 1 :]}"


def redact_urls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: redact_urls(v) for k, v in value.items()}
    if isinstance(value, list):
        return [redact_urls(v) for v in value]
    return redact_url(value) if isinstance(value, str) else value
