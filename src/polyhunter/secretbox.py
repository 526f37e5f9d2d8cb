"""Encryption at rest for private keys and API credentials: AES-256-GCM with a 32-byte master key.

Stored form: ``v1.<base64url(nonce || ciphertext+tag)>``. The associated data binds a ciphertext to
its place (e.g. ``wallet:42:private_key``) so a value copied to another row does not decrypt.
"""

from __future__ import annotations

import base64
import os
import secrets
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from polyhunter.log import register_secret

_PREFIX = "v1."


class SecretBoxError(Exception):
    """A value could not be decrypted (wrong key, tampered, or moved to another row)."""


def generate_master_key() -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()


def parse_master_key(text: str) -> bytes:
    raw = text.strip()
    try:
        key = bytes.fromhex(raw[2:] if raw.startswith("0x") else raw) if len(raw) in (64, 66) else b""
    except ValueError:
        key = b""
    if not key:
        try:
            key = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4))
        except ValueError as exc:
            raise SecretBoxError("master key must be 32 bytes as base64url or hex") from exc
    if len(key) != 32:
        raise SecretBoxError(f"master key must be 32 bytes, got {len(key)}")
    return key


class MasterKeyMissingError(SecretBoxError):
    """No master key where the settings say, while the database holds values encrypted with one."""


def load_or_create_key_file(path: Path, *, create: bool = True) -> str:
    """The laptop default: a key file (next to the SQLite database), created with mode 0600 on first
    use; ``create=False`` (the database already holds encrypted secrets) refuses to make a new one,
    which could never decrypt them."""
    if path.exists():
        return path.read_text().strip()
    if not create:
        raise MasterKeyMissingError(
            f"master key file {path} not found (secrets.master_key_file) and the database holds"
            " encrypted secrets: restore that file or set secrets.master_key; a new key cannot decrypt them"
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    # Written whole to a private temporary file, then linked into place (atomic, and refused if the
    # file exists): two processes starting at once end up with the one key that was linked first.
    key = generate_master_key()
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(key + "\n")
        os.link(tmp, path)
    except FileExistsError:
        return path.read_text().strip()
    finally:
        tmp.unlink(missing_ok=True)
    return key


class SecretBox:
    def __init__(self, master_key: str) -> None:
        self._aead = AESGCM(parse_master_key(master_key))
        register_secret(master_key)

    def encrypt(self, plaintext: str, context: str) -> str:
        register_secret(plaintext)
        nonce = secrets.token_bytes(12)
        blob = nonce + self._aead.encrypt(nonce, plaintext.encode(), context.encode())
        return _PREFIX + base64.urlsafe_b64encode(blob).decode()

    def decrypt(self, stored: str, context: str) -> str:
        if not stored.startswith(_PREFIX):
            raise SecretBoxError("not an encrypted value")
        blob = base64.urlsafe_b64decode(stored[len(_PREFIX) :])
        try:
            plain = self._aead.decrypt(blob[:12], blob[12:], context.encode()).decode()
        except InvalidTag as exc:
            raise SecretBoxError(f"cannot decrypt value for {context}: wrong key or tampered") from exc
        register_secret(plain)
        return plain


def secret_box_from_settings(master_key: str | None, key_file: str, *, create: bool = True) -> SecretBox:
    """The configured master key, or the local key file (created on first use unless ``create`` is
    False: see ``load_or_create_key_file``)."""
    return SecretBox(master_key if master_key else load_or_create_key_file(Path(key_file), create=create))
