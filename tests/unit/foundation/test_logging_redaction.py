"""A secret from settings never appears in a log line, whatever logger or field carries it."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from polyhunter.log import configure_logging, get_logger
from polyhunter.settings import load_settings

PRIVATE_KEY = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"


@pytest.mark.parametrize("fmt", ["console", "json"])
def test_private_key_never_logged(
    fmt: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("POLYHUNTER__SECRETS__PRIVATE_KEY", PRIVATE_KEY)
    settings = load_settings()
    configure_logging("DEBUG", fmt, settings.secrets.secret_values())
    log = get_logger("test")
    log.info("wallet loaded", key=PRIVATE_KEY)
    log.info("loading " + PRIVATE_KEY[2:].upper())
    log.info("nested", data={"inner": [f"k={PRIVATE_KEY}"]})
    log.info("settings", settings=settings.secrets)
    log.warning("by key name", private_key="anything-at-all")
    logging.getLogger("stdlib").error("stdlib says %s", PRIVATE_KEY)
    try:
        raise ValueError(f"bad key {PRIVATE_KEY}")
    except ValueError:
        log.exception("failure")
    out = capsys.readouterr()
    text = (out.out + out.err).lower()
    assert "wallet loaded" in text
    assert "stdlib says" in text
    assert "anything-at-all" not in text
    assert PRIVATE_KEY[2:].lower() not in text
    assert text.count("**********") >= 6
