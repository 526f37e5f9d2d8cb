"""Accounts and auth: sign up, sign in (rate-limited), browser sessions with a CSRF token, bearer
tokens for scripts; every token is stored only as its SHA-256 and is revocable."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.exc import IntegrityError

from polyhunter.service.passwords import hash_password_async, verify_password_async
from polyhunter.service.rate_limit import RateLimiter
from polyhunter.store.database import unit_of_work
from polyhunter.store.repos.owned import OwnedRepository
from polyhunter.store.repos.platform import AccountRepository, TokenRow, bump_changes
from polyhunter.store.sessions import SessionFactory

SESSION = "session"
API = "api"


class AuthFailedError(Exception):
    """Wrong username or password (one message for both)."""


class RateLimitedError(Exception):
    def __init__(self, retry_after_s: float) -> None:
        super().__init__(f"too many attempts; retry in {retry_after_s:.0f} s")
        self.retry_after_s = retry_after_s


class ConflictError(Exception):
    """The name (or address) is taken."""


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Principal:
    """Who a request is: the account, and the token it came with."""

    account_id: int
    username: str
    role: str
    token_id: int
    kind: str
    csrf_hash: str | None

    def csrf_ok(self, presented: str | None) -> bool:
        if self.csrf_hash is None or not presented:
            return False
        return hmac.compare_digest(self.csrf_hash, token_hash(presented))


@dataclass(frozen=True, slots=True)
class NewSession:
    principal: Principal
    token: str  # the cookie's value; only its hash is stored
    csrf_token: str


class AuthService:
    def __init__(
        self,
        sessions: SessionFactory,
        *,
        session_ttl_s: float = 7 * 86_400,
        per_name: RateLimiter | None = None,
        per_client: RateLimiter | None = None,
    ) -> None:
        self._sessions = sessions
        self._session_ttl = timedelta(seconds=session_ttl_s)
        self._per_name = per_name or RateLimiter(10, 60.0)
        self._per_client = per_client or RateLimiter(30, 60.0)

    def _limit(self, username: str, client: str) -> None:
        wait = max(
            self._per_client.retry_after(f"ip:{client}"), self._per_name.retry_after(f"name:{username}")
        )
        if wait:
            raise RateLimitedError(wait)

    async def register(self, username: str, password: str, client: str) -> NewSession:
        self._limit(username, client)
        hashed = await hash_password_async(password)
        try:
            async with unit_of_work(self._sessions) as session:
                repo = AccountRepository(session)
                if await repo.by_username(username) is not None:
                    raise ConflictError(f"username {username!r} is taken")
                account_id = await repo.create(username, hashed)
                await repo.audit(account_id, "account.register", f"account:{account_id}", {})
        except IntegrityError:
            raise ConflictError(f"username {username!r} is taken") from None
        return await self._new_session(account_id, username, "user")

    async def login(self, username: str, password: str, client: str) -> NewSession:
        self._limit(username, client)
        async with unit_of_work(self._sessions) as session:
            account = await AccountRepository(session).by_username(username)
        ok = await verify_password_async(None if account is None else account.password_hash, password)
        if account is None or not ok:
            raise AuthFailedError("wrong username or password")
        return await self._new_session(account.id, account.username, account.role)

    async def session_for(self, who: Principal) -> NewSession:
        """A browser session for an account already signed in (the demo's link hands a bearer token)."""
        return await self._new_session(who.account_id, who.username, who.role)

    async def _new_session(self, account_id: int, username: str, role: str) -> NewSession:
        token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        async with unit_of_work(self._sessions) as session:
            repo = AccountRepository(session)
            token_id = await repo.add_token(
                account_id,
                SESSION,
                token_hash(token),
                csrf_hash=token_hash(csrf),
                expires_at=datetime.now(UTC) + self._session_ttl,
            )
            await repo.audit(account_id, "session.create", f"token:{token_id}", {})
        return NewSession(
            Principal(account_id, username, role, token_id, SESSION, token_hash(csrf)), token, csrf
        )

    async def authenticate(self, token: str) -> Principal | None:
        if not token or len(token) > 256:
            return None
        async with unit_of_work(self._sessions) as session:
            found = await AccountRepository(session).by_token(token_hash(token), datetime.now(UTC))
        if found is None:
            return None
        row, account = found
        return Principal(account.id, account.username, account.role, row.id, row.kind, row.csrf_hash)

    async def new_api_token(self, who: Principal, label: str | None) -> tuple[TokenRow, str]:
        token = "ph_" + secrets.token_urlsafe(32)
        async with unit_of_work(self._sessions) as session:
            repo = AccountRepository(session)
            token_id = await repo.add_token(who.account_id, API, token_hash(token), label=label)
            await repo.audit(who.account_id, "token.create", f"token:{token_id}", {"label": label})
            rows = [t for t in await repo.tokens(who.account_id) if t.id == token_id]
        return rows[0], token

    async def tokens(self, who: Principal) -> list[TokenRow]:
        async with unit_of_work(self._sessions) as session:
            return await AccountRepository(session).tokens(who.account_id)

    async def revoke(self, who: Principal, token_id: int) -> bool:
        async with unit_of_work(self._sessions) as session:
            repo = AccountRepository(session)
            done = await repo.revoke_token(who.account_id, token_id, datetime.now(UTC))
            if done:
                await repo.audit(who.account_id, "token.revoke", f"token:{token_id}", {})
        return done

    async def ensure_account(self, username: str, password: str, role: str = "user") -> int:
        """The account `username` (made with `password` if missing): the demo's and the CLI's."""
        async with unit_of_work(self._sessions) as session:
            repo = AccountRepository(session)
            found = await repo.by_username(username)
            if found is not None:
                if found.role != role:
                    await repo.set_role(found.id, role)
                return found.id
            return await repo.create(username, await hash_password_async(password), role)

    async def adopt(self, account_id: int, user_ids: list[int]) -> None:
        """Give run-file followers to an account (the demo's, so its dashboard shows them)."""
        async with unit_of_work(self._sessions) as session:
            await OwnedRepository(session).adopt(account_id, user_ids)
            await bump_changes(session, datetime.now(UTC))

    async def token_for(self, account_id: int, label: str) -> str:
        """A new bearer token for `account_id` (the demo's sign-in link)."""
        token = "ph_" + secrets.token_urlsafe(32)
        async with unit_of_work(self._sessions) as session:
            await AccountRepository(session).add_token(account_id, API, token_hash(token), label=label)
        return token
