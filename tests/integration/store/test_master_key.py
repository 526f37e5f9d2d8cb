"""Where the master key comes from: `secrets.master_key` if set, else the local key file (created once,
mode 0600, then reused), and what a wrong or malformed key does."""

from __future__ import annotations

import stat
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from polyhunter.secretbox import (
    SecretBox,
    SecretBoxError,
    generate_master_key,
    load_or_create_key_file,
    secret_box_from_settings,
)


def test_key_file_is_created_private_once_and_reused(tmp_path: Path) -> None:
    path = tmp_path / "var" / "master.key"
    first = load_or_create_key_file(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_or_create_key_file(path) == first
    stored = secret_box_from_settings(None, str(path)).encrypt("0xsecret", "wallet:1")
    assert secret_box_from_settings(None, str(path)).decrypt(stored, "wallet:1") == "0xsecret"


def test_the_settings_key_wins_over_the_file(tmp_path: Path) -> None:
    path = tmp_path / "master.key"
    configured = generate_master_key()
    stored = secret_box_from_settings(configured, str(path)).encrypt("api-secret", "wallet:2")
    assert not path.exists()  # no file is made when the key is configured
    assert SecretBox(configured).decrypt(stored, "wallet:2") == "api-secret"
    with pytest.raises(SecretBoxError, match="wrong key or tampered"):
        secret_box_from_settings(None, str(path)).decrypt(stored, "wallet:2")


@pytest.mark.parametrize("text", ["short", "0x" + "ab" * 16, "!" * 44])
def test_a_malformed_key_is_refused_with_its_reason(text: str) -> None:
    with pytest.raises(SecretBoxError, match="master key must be 32 bytes"):
        SecretBox(text)


def test_processes_creating_the_key_file_at_once_share_one_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two supervisors starting together on a new deployment: both found no key file, one creates
    it, the other reads that key instead of failing on the existing file (or writing its own)."""
    path = tmp_path / "var" / "master.key"
    first = load_or_create_key_file(path)
    monkeypatch.setattr(Path, "exists", lambda self: False)  # the second checked before the first wrote
    assert load_or_create_key_file(path) == first
    with ThreadPoolExecutor(max_workers=8) as pool:
        assert set(pool.map(lambda _: load_or_create_key_file(path), range(16))) == {first}
    monkeypatch.undo()
    assert sorted(p.name for p in path.parent.iterdir()) == ["master.key"]  # no temporary files left
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
