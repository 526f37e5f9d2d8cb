"""Password hashing: argon2id (argon2-cffi) at OWASP's minimum cost (19 MiB, 2 passes), in a worker
thread so a sign-in never blocks the event loop."""

from __future__ import annotations

import asyncio

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

_HASHER = PasswordHasher(time_cost=2, memory_cost=19_456, parallelism=1)
# Verified when the username is unknown, so a wrong name costs as long as a wrong password.
_DUMMY = _HASHER.hash("polyhunter-no-such-account")


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def verify_password(stored: str | None, password: str) -> bool:
    try:
        return _HASHER.verify(stored or _DUMMY, password) and stored is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


async def hash_password_async(password: str) -> str:
    return await asyncio.to_thread(hash_password, password)


async def verify_password_async(stored: str | None, password: str) -> bool:
    return await asyncio.to_thread(verify_password, stored, password)
