"""Wallets with their secrets: encrypted with ``SecretBox`` on the way in, decrypted on the way out.

Each ciphertext is bound to ``wallet:<address>:<column>``, so a value copied to another wallet or
another column does not decrypt.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from polyhunter.secretbox import SecretBox
from polyhunter.store.enums import WalletKind
from polyhunter.store.models import Wallet
from polyhunter.store.repos.accounts import IN_CHUNK, normalize_address
from polyhunter.store.repos.sql_helpers import rowcount

PRIVATE_KEY = "private_key"
CLOB_API_KEY = "clob_api_key"
CLOB_API_SECRET = "clob_api_secret"  # noqa: S105 (a column name)
CLOB_API_PASSPHRASE = "clob_api_passphrase"  # noqa: S105 (a column name)


def secret_context(address: str, column: str) -> str:
    """The associated data binding a wallet secret to its row and column."""
    return f"wallet:{address.lower()}:{column}"


@dataclass(frozen=True, slots=True)
class ClobCredentials:
    api_key: str = field(repr=False)
    api_secret: str = field(repr=False)
    api_passphrase: str = field(repr=False)


@dataclass(frozen=True, slots=True)
class WalletSecrets:
    """A wallet as the executors need it. Secrets are left out of ``repr``."""

    id: int
    address: str
    kind: WalletKind
    user_id: int | None
    signature_type: int
    funder_address: str | None
    private_key: str | None = field(repr=False)
    clob: ClobCredentials | None = field(repr=False)


class WalletRepository:
    def __init__(self, session: AsyncSession, box: SecretBox) -> None:
        self._session = session
        self._box = box

    def _enc(self, address: str, column: str, value: str | None) -> str | None:
        return None if value is None else self._box.encrypt(value, secret_context(address, column))

    def _dec(self, address: str, column: str, stored: str | None) -> str | None:
        return None if stored is None else self._box.decrypt(stored, secret_context(address, column))

    async def create(
        self,
        address: str,
        kind: WalletKind,
        *,
        user_id: int | None = None,
        private_key: str | None = None,
        clob: ClobCredentials | None = None,
        signature_type: int = 0,
        funder_address: str | None = None,
    ) -> int:
        """Insert a wallet; the private key and CLOB credentials are stored only encrypted."""
        addr = normalize_address(address)
        if kind in (WalletKind.EOA, WalletKind.FLEET) and not private_key:
            raise ValueError(f"a {kind} wallet needs a private key")
        if kind in (WalletKind.PROXY, WalletKind.PAPER) and private_key:
            raise ValueError(f"a {kind} wallet holds no private key")
        stmt = (
            insert(Wallet)
            .values(
                address=addr,
                kind=kind,
                user_id=user_id,
                signature_type=signature_type,
                funder_address=normalize_address(funder_address) if funder_address else None,
                private_key_enc=self._enc(addr, PRIVATE_KEY, private_key),
                clob_api_key_enc=self._enc(addr, CLOB_API_KEY, clob.api_key if clob else None),
                clob_api_secret_enc=self._enc(addr, CLOB_API_SECRET, clob.api_secret if clob else None),
                clob_api_passphrase_enc=self._enc(
                    addr, CLOB_API_PASSPHRASE, clob.api_passphrase if clob else None
                ),
            )
            .returning(Wallet.id)
        )
        return int((await self._session.execute(stmt)).scalar_one())

    async def set_clob_credentials(self, address: str, clob: ClobCredentials) -> bool:
        """Store (or replace) the CLOB API credentials derived for this wallet."""
        addr = normalize_address(address)
        result = await self._session.execute(
            update(Wallet)
            .where(Wallet.address == addr)
            .values(
                clob_api_key_enc=self._enc(addr, CLOB_API_KEY, clob.api_key),
                clob_api_secret_enc=self._enc(addr, CLOB_API_SECRET, clob.api_secret),
                clob_api_passphrase_enc=self._enc(addr, CLOB_API_PASSPHRASE, clob.api_passphrase),
            )
            .execution_options(synchronize_session=False)
        )
        return rowcount(result) == 1

    async def set_signing(self, address: str, signature_type: int, funder_address: str | None) -> bool:
        """How orders for this wallet are signed, changed in place: its signature type (an own wallet:
        0 EOA, 1 proxy, 2 safe; a proxy: 0 fleet float, 3 DIRECT) and funder."""
        result = await self._session.execute(
            update(Wallet)
            .where(Wallet.address == normalize_address(address))
            .values(
                signature_type=signature_type,
                funder_address=None if funder_address is None else normalize_address(funder_address),
            )
            .execution_options(synchronize_session=False)
        )
        return rowcount(result) == 1

    async def load(self, address: str) -> WalletSecrets | None:
        """The wallet with its secrets decrypted (``SecretBoxError`` if they do not decrypt)."""
        row = await self._session.scalar(select(Wallet).where(Wallet.address == normalize_address(address)))
        return None if row is None else self._decrypt(row)

    async def load_many(self, addresses: Sequence[str]) -> dict[str, WalletSecrets]:
        """Those of the wallets at ``addresses`` that exist, by (lower-case) address, secrets decrypted."""
        wanted = [normalize_address(a) for a in addresses]
        out: dict[str, WalletSecrets] = {}
        for start in range(0, len(wanted), IN_CHUNK):
            rows = await self._session.scalars(
                select(Wallet).where(Wallet.address.in_(wanted[start : start + IN_CHUNK]))
            )
            out.update({row.address: self._decrypt(row) for row in rows})
        return out

    async def load_by_id(self, wallet_id: int) -> WalletSecrets | None:
        row = await self._session.get(Wallet, wallet_id)
        return None if row is None else self._decrypt(row)

    def _decrypt(self, row: Wallet) -> WalletSecrets:
        addr = row.address
        key = self._dec(addr, CLOB_API_KEY, row.clob_api_key_enc)
        secret = self._dec(addr, CLOB_API_SECRET, row.clob_api_secret_enc)
        passphrase = self._dec(addr, CLOB_API_PASSPHRASE, row.clob_api_passphrase_enc)
        clob = None
        if key is not None and secret is not None and passphrase is not None:
            clob = ClobCredentials(api_key=key, api_secret=secret, api_passphrase=passphrase)
        return WalletSecrets(
            id=row.id,
            address=addr,
            kind=row.kind,
            user_id=row.user_id,
            signature_type=row.signature_type,
            funder_address=row.funder_address,
            private_key=self._dec(addr, PRIVATE_KEY, row.private_key_enc),
            clob=clob,
        )
