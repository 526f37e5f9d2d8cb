"""The simulator's API keys: derived from (seed, address, nonce) like live L1 auth, and the funder each
key last ordered for. `SimApiKeys` is a base of `SimState` (state.py), which sets its attributes."""

from __future__ import annotations

import hashlib
import uuid
from base64 import urlsafe_b64encode

from polyhunter.adapters.polymarket.eip712 import to_checksum_address
from polyhunter.sim.state_records import ApiKey


class SimApiKeys:
    """API keys by key and by (address, nonce); the funder (order ``maker``) last used with each."""

    seed: int
    _keys: dict[str, ApiKey]
    _keys_by_owner: dict[tuple[str, int], str]
    _funders: dict[str, str]

    def api_key(self, key: str) -> ApiKey | None:
        return self._keys.get(key)

    def _derive_key(self, address: str, nonce: int) -> ApiKey:
        material = hashlib.sha256(f"polyhunter-sim|{self.seed}|{address.lower()}|{nonce}".encode()).digest()
        secret = urlsafe_b64encode(hashlib.sha256(material + b"secret").digest()).decode()
        return ApiKey(
            api_key=str(uuid.UUID(bytes=material[:16], version=4)),
            secret=secret,
            passphrase=hashlib.sha256(material + b"passphrase").hexdigest(),
            address=to_checksum_address(address),
            nonce=nonce,
        )

    def create_api_key(self, address: str, nonce: int) -> ApiKey | None:
        """A new key for (address, nonce); ``None`` when that nonce already has one (live: 400)."""
        owner = (address.lower(), nonce)
        if owner in self._keys_by_owner:
            return None
        key = self._derive_key(address, nonce)
        self._keys[key.api_key] = key
        self._keys_by_owner[owner] = key.api_key
        return key

    def derive_api_key(self, address: str, nonce: int) -> ApiKey | None:
        api_key = self._keys_by_owner.get((address.lower(), nonce))
        return None if api_key is None else self._keys[api_key]

    def delete_api_key(self, api_key: str) -> None:
        """Revoke a key; its (address, nonce) can then create a fresh one."""
        key = self._keys.pop(api_key, None)
        if key is not None:
            self._keys_by_owner.pop((key.address.lower(), key.nonce), None)

    def remember_funder(self, api_key: str, funder: str) -> None:
        """The funder (order ``maker``) last used with ``api_key``: balance queries report it."""
        self._funders[api_key] = funder

    def funder_of(self, key: ApiKey) -> str:
        return self._funders.get(key.api_key, key.address)

    @staticmethod
    def checksum(address: str) -> str:
        return to_checksum_address(address)

    def internal_api_key(self, address: str) -> str:
        """API key of a simulated participant (market makers, leaders); created on first use."""
        existing = self.derive_api_key(address, 0)
        key = existing or self.create_api_key(address, 0)
        assert key is not None
        return key.api_key
