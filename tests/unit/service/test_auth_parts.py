"""The auth parts that need no server: argon2 hashes, the sign-in rate limiter, token hashes and CSRF."""

from __future__ import annotations

from polyhunter.service.auth import Principal, token_hash
from polyhunter.service.passwords import hash_password, verify_password
from polyhunter.service.rate_limit import MAX_KEYS, RateLimiter
from polyhunter.service.resources import follower_name


def test_password_hash_is_argon2id_salted_and_verifies() -> None:
    first, second = hash_password("hunter22"), hash_password("hunter22")
    assert first.startswith("$argon2id$")
    assert first != second  # salted
    assert "hunter22" not in first
    assert verify_password(first, "hunter22")
    assert not verify_password(first, "hunter23")
    assert not verify_password(None, "hunter22")  # no account: refused, after the same work
    assert not verify_password("not a hash", "hunter22")


def test_rate_limiter_window() -> None:
    now = [0.0]
    limiter = RateLimiter(3, 60.0, clock=lambda: now[0])
    assert [limiter.retry_after("a") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert limiter.retry_after("a") == 60.0
    assert limiter.retry_after("b") == 0.0  # per key
    now[0] = 30.0
    assert limiter.retry_after("a") == 30.0
    now[0] = 60.0
    assert limiter.retry_after("a") == 0.0  # the window moved on


def test_rate_limiter_memory_is_bounded() -> None:
    limiter = RateLimiter(1, 60.0, clock=lambda: 0.0)
    for i in range(MAX_KEYS + 10):
        limiter.retry_after(str(i))
    assert len(limiter._hits) == MAX_KEYS


def test_csrf_and_token_hashes() -> None:
    who = Principal(1, "alice", "user", 1, "session", token_hash("csrf-value"))
    assert who.csrf_ok("csrf-value")
    assert not who.csrf_ok("other")
    assert not who.csrf_ok(None)
    assert not Principal(1, "alice", "user", 1, "api", None).csrf_ok("csrf-value")
    assert len(token_hash("x")) == 64


def test_follower_name_strips_the_account() -> None:
    assert follower_name("alice/main") == "main"
    assert follower_name("alice/a/b") == "a/b"
    assert follower_name("runfile-follower") == "runfile-follower"
