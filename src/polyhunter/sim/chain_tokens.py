"""The collateral and conditional-token contracts of the simulator's chain mode (``contracts/SimTokens.sol``
and the real Gnosis ConditionalTokens from npm).

``ChainTokens.start()`` deploys USDC.e, pUSD, the CollateralOnramp and the ConditionalTokens from anvil's
account 0 and copies each one's runtime code to its Polygon address (``anvil_setCode``), so a wallet is set
up on anvil with the same transactions, to the same addresses, as on Polygon (``polyhunter wallet setup``).
The matches settle on chain through the exchange of ``chain_venue.py``; here:

* ``fund_usdce`` mints USDC.e to a wallet and ``fund_gas`` gives it POL for gas (``sim fund --usdce
  --pol``), as a bridge deposit and a gas top-up would;
* ``sync`` is what the venue's ``GET /balance-allowance/update`` does: it reads the wallet's pUSD, pUSD
  allowances and ERC-1155 approvals on chain and refreshes the ledger (pUSD that arrived on chain from
  elsewhere, i.e. more than the ledger expects there, is credited once; a market the wallet redeemed by its
  own transaction is redeemed in the ledger; the allowance is the smallest over the spenders, unlimited
  from 2^255; shares may be sold once every spender is approved).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from polyhunter.adapters.chain.abi import encode, encode_call
from polyhunter.adapters.chain.rpc import JsonRpcClient, quantity
from polyhunter.adapters.chain.wallet_contracts import (
    read_allowance,
    read_approved_for_all,
    read_balance,
)
from polyhunter.log import get_logger
from polyhunter.sim.chain_build import CONTRACTS_DIR, compile_contract
from polyhunter.sim.exchange import SimExchange

if TYPE_CHECKING:
    from polyhunter.sim.chain_venue import ChainVenue

log = get_logger(__name__)

USDCE = "0x2791Bca1f2de4661ED88A30C99A7a9449Aa84174"
PUSD = "0xC011a7E12a19f7B1f670d46F03B03f3342E82DFB"
ONRAMP = "0x93070a847efEf7F70739046A929D47a521F5B8ee"
CTF = "0x4D97DCd97eC945f40cF65F87097ACe5EA0476045"
SPENDERS = (
    "0xE111180000d2663C0091e4f400237545B87B996B",  # CTF Exchange V2
    "0xe2222d279d744050d28e00520010520000310F59",  # NegRisk CTF Exchange V2
    "0xd91E80cF2E7be2e162c6513ceD06f1dD0dA35296",  # NegRiskAdapter
)
UNLIMITED = 1 << 255
_SOURCE = CONTRACTS_DIR / "SimTokens.sol"


class ChainTokensError(RuntimeError):
    pass


@dataclass(slots=True)
class ChainTokens:
    rpc: JsonRpcClient
    operator: str = ""
    _credited: dict[str, int] = field(default_factory=dict)  # pUSD seen on chain per wallet (lower-case)
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    venue: ChainVenue | None = None  # the venue settling on chain: what the ledger expects on chain

    @property
    def lock(self) -> asyncio.Lock:
        """Held while the chain's balances and the ledger's view of them change together."""
        return self._lock

    async def start(self) -> None:
        accounts = await self.rpc.accounts()
        if not accounts:
            raise ChainTokensError(f"{self.rpc.url} has no unlocked account (is it anvil?)")
        self.operator = accounts[0].lower()
        await self._place("SimUsdce", USDCE, b"")
        await self._place("SimPusd", PUSD, encode(["address"], [ONRAMP]))
        await self._place("SimCollateralOnramp", ONRAMP, encode(["address", "address"], [USDCE, PUSD]))
        await self._place_ctf()
        log.info("chain_tokens.placed", usdce=USDCE, pusd=PUSD, onramp=ONRAMP, ctf=CTF)

    async def _place(self, name: str, at: str, args: bytes) -> None:
        compiled = await asyncio.to_thread(compile_contract, name, _SOURCE)
        tx_hash = await self.rpc.send_transaction(
            {"from": self.operator, "data": "0x" + (compiled.bytecode + args).hex()}
        )
        receipt = await self.rpc.wait_for_receipt(tx_hash)
        deployed = receipt.get("contractAddress")
        if receipt.get("status") != "0x1" or not deployed:
            raise ChainTokensError(f"{name} deployment failed: {receipt}")
        code = await self.rpc.call("eth_getCode", [deployed, "latest"])
        await self.rpc.call("anvil_setCode", [at, code])

    async def _place_ctf(self) -> None:
        """The real Gnosis ConditionalTokens (the npm package's artifact) at the CTF's address."""
        from polyhunter.sim.chain_venue import ctf_creation_code

        creation = await asyncio.to_thread(ctf_creation_code)
        tx_hash = await self.rpc.send_transaction({"from": self.operator, "data": "0x" + creation.hex()})
        receipt = await self.rpc.wait_for_receipt(tx_hash)
        deployed = receipt.get("contractAddress")
        if receipt.get("status") != "0x1" or not deployed:
            raise ChainTokensError(f"ConditionalTokens deployment failed: {receipt}")
        code = await self.rpc.call("eth_getCode", [deployed, "latest"])
        await self.rpc.call("anvil_setCode", [CTF, code])

    async def _operator_tx(self, to: str, data: bytes) -> None:
        tx_hash = await self.rpc.send_transaction(
            {"from": self.operator, "to": to, "data": "0x" + data.hex()}
        )
        receipt = await self.rpc.wait_for_receipt(tx_hash)
        if receipt.get("status") != "0x1":
            raise ChainTokensError(f"transaction to {to} reverted")

    async def fund_usdce(self, address: str, amount: int) -> int:
        """Mint ``amount`` micro-USDC.e to ``address``; returns its USDC.e balance."""
        await self._operator_tx(USDCE, encode_call("mint(address,uint256)", [address, amount]))
        return await read_balance(self.rpc, USDCE, address)

    async def fund_gas(self, address: str, wei: int) -> int:
        """Add ``wei`` of POL (anvil's native coin) to ``address``; returns its balance."""
        balance = int(str(await self.rpc.call("eth_getBalance", [address, "latest"])), 16)
        await self.rpc.call("anvil_setBalance", [address, quantity(balance + wei)])
        return balance + wei

    async def sync(self, engine: SimExchange, address: str) -> None:
        """Refresh ``address``'s ledger entry from the chain (see the module docstring)."""
        async with self._lock:
            key = address.lower()
            venue = self.venue
            if venue is not None:
                await venue.reconcile(address)
            on_chain = await read_balance(self.rpc, PUSD, address)
            allowances = [await read_allowance(self.rpc, PUSD, address, s) for s in SPENDERS]
            approved = [await read_approved_for_all(self.rpc, CTF, address, s) for s in SPENDERS]
            known = venue.expected(address) if venue is not None else self._credited.get(key, 0)
            arrived = on_chain - known
            if arrived > 0:
                engine.deposit(address, arrived, approve=False)
                self._credited[key] = on_chain
            least = min(allowances)
            engine.ledger.approve(address, None if least >= UNLIMITED else least)
            engine.ledger.set_ctf_approval(address, all(approved))
            log.info("chain_tokens.synced", address=address, credited=max(arrived, 0), allowance=least)
