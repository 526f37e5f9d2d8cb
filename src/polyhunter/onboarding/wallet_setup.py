"""`polyhunter wallet setup`: make a new own (EOA) wallet ready to trade, and say what was done.

1. The key (from an environment variable, never printed) and the chain node (``venue.chain_rpc_url``,
   whose chain id must be ``venue.chain_id``).
2. Read the wallet on chain and plan what is missing (``wallet_plan.py``): the USDC.e -> pUSD wrap,
   the pUSD approvals and the ConditionalTokens approvals of the exchanges and the neg-risk adapter.
3. Unless it is a dry run: check the wallet's POL covers the gas, then sign each transaction here
   (EIP-1559) and send it, waiting for its receipt before the next (a reverted one stops the setup;
   running it again sends only what is still missing).
4. At the venue: derive (or create) the CLOB API key with the key's L1 signature, ask the venue to
   re-read the chain (``GET /balance-allowance/update``), then read the balance and allowances it now
   reports, as the doctor and the executor read them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from polyhunter.adapters.chain.rpc import JsonRpcClient, RpcError, RpcTransportError, parse_quantity
from polyhunter.adapters.chain.tx_signer import Eip1559Tx, TxSigner
from polyhunter.adapters.chain.wallet_contracts import MAX_UINT256, WalletContracts
from polyhunter.adapters.polymarket.clob_trading import ClobTradingClient
from polyhunter.adapters.polymarket.eip712 import address_from_private_key, parse_private_key
from polyhunter.adapters.polymarket.http import HttpClient, RetryableError, RetryPolicy, VenueError
from polyhunter.adapters.polymarket.order_signer import OrderSigner
from polyhunter.onboarding.wallet_plan import (
    PlannedTx,
    WalletChainState,
    gas_budget,
    plan_setup,
    read_chain_state,
    usdc,
)
from polyhunter.settings import VenueSettings

__all__ = ["SetupReport", "WalletSetupError", "contracts_of", "load_key", "setup_wallet"]

DEFAULT_PRIORITY_FEE = 30 * 10**9  # 30 gwei: Polygon's usual floor when the node does not say
RECEIPT_TIMEOUT_S = 120.0
GAS_MARGIN = Decimal("1.25")


class WalletSetupError(RuntimeError):
    """One line for the operator: what is wrong and what to do."""


@dataclass(slots=True)
class SetupReport:
    address: str
    chain_id: int
    dry_run: bool
    before: WalletChainState
    planned: list[PlannedTx]
    sent: list[tuple[PlannedTx, str]] = field(default_factory=list)  # (tx, hash)
    after: WalletChainState | None = None
    venue_balance: str | None = None  # micro pUSD, as the venue reports after the update
    venue_allowances: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, object]:
        state = self.after or self.before
        return {
            "address": self.address,
            "chain_id": self.chain_id,
            "dry_run": self.dry_run,
            "planned": [tx.to_json() for tx in self.planned],
            "sent": [{"what": tx.what, "tx_hash": h} for tx, h in self.sent],
            "chain": {
                "pol_wei": str(state.pol_wei),
                "usdce": str(state.usdce),
                "pusd": str(state.pusd),
                "allowances": {s: str(a) for s, a in state.allowances.items()},
                "approvals": state.approvals,
            },
            "venue": None
            if self.venue_balance is None
            else {"balance": self.venue_balance, "allowances": self.venue_allowances},
        }

    def lines(self) -> list[str]:
        b = self.before
        out = [
            f"wallet {self.address} on chain {self.chain_id}: POL {Decimal(b.pol_wei) / 10**18:f}, "
            f"USDC.e {usdc(b.usdce)}, pUSD {usdc(b.pusd)}"
        ]
        if not self.planned:
            out.append("nothing to send: the wallet is wrapped and approved")
        elif self.dry_run:
            out.append(f"dry run: {len(self.planned)} transaction(s) would be sent:")
            out += [f"  {i}. {tx.what}" for i, tx in enumerate(self.planned, 1)]
        else:
            out += [f"  sent {i}/{len(self.planned)} {h} {tx.what}" for i, (tx, h) in enumerate(self.sent, 1)]
        if self.venue_balance is not None:
            allowances = ", ".join(usdc(int(v)) for v in self.venue_allowances.values()) or "none"
            out.append(
                f"venue: API key ready; balance {usdc(int(self.venue_balance))} pUSD, "
                f"allowances {allowances} (after /balance-allowance/update)"
            )
        return out


def contracts_of(venue: VenueSettings) -> WalletContracts:
    spenders = dict.fromkeys([*venue.approval_spenders, *venue.exchange_v3])
    return WalletContracts(
        collateral=venue.collateral_contract,
        bridged_usdc=venue.bridged_usdc,
        onramp=venue.collateral_onramp,
        conditional_tokens=venue.conditional_tokens,
        spenders=tuple(spenders),
    )


def load_key(value: str | None, where: str) -> str:
    """The private key held in ``where`` (an env var's name, for messages), checked; never echoed."""
    if not value:
        raise WalletSetupError(f"{where} is not set: export it with the wallet's private key")
    try:
        parse_private_key(value.strip())
    except ValueError:
        raise WalletSetupError(f"{where} does not hold a private key (64 hex digits)") from None
    return value.strip()


async def _fees(rpc: JsonRpcClient) -> tuple[int, int]:
    """(max priority fee, max fee) per gas: twice the base fee plus the tip, as wallets do."""
    block = await rpc.get_block_by_number("latest")
    base = parse_quantity(block.get("baseFeePerGas", "0x0")) if block else 0
    try:
        tip = parse_quantity(await rpc.call("eth_maxPriorityFeePerGas"))
    except RpcError:
        tip = DEFAULT_PRIORITY_FEE
    return tip, 2 * base + tip


async def _send(
    rpc: JsonRpcClient, signer: TxSigner, address: str, chain_id: int, txs: list[PlannedTx]
) -> list[tuple[PlannedTx, str]]:
    sent: list[tuple[PlannedTx, str]] = []
    nonce = await rpc.transaction_count(address, "pending")
    for tx in txs:
        tip, max_fee = await _fees(rpc)
        call = {"from": address, "to": tx.to, "data": "0x" + tx.data.hex()}
        try:
            estimate = parse_quantity(await rpc.call("eth_estimateGas", [call]))
        except RpcError as exc:
            raise WalletSetupError(f"{tx.what}: the node refuses it ({exc})") from None
        gas = int(estimate * GAS_MARGIN)
        raw, tx_hash = signer.sign(Eip1559Tx(chain_id, nonce, tip, max_fee, gas, tx.to, 0, tx.data))
        await rpc.call("eth_sendRawTransaction", ["0x" + raw.hex()])
        receipt = await rpc.wait_for_receipt(tx_hash, timeout_s=RECEIPT_TIMEOUT_S)
        if receipt.get("status") != "0x1":
            raise WalletSetupError(f"{tx.what}: transaction {tx_hash} reverted; nothing after it was sent")
        sent.append((tx, tx_hash))
        nonce += 1
    return sent


async def _venue(
    venue: VenueSettings, key: str, signature_type: int, timeout_s: float
) -> tuple[str, dict[str, str]]:
    http = HttpClient(venue.clob_url, int(timeout_s * 1000), RetryPolicy(max_retries=venue.max_retries))
    client = ClobTradingClient(http, OrderSigner(key), venue.chain_id)
    try:
        await client.ensure_api_key()  # L1: derive the key, create it on first use
        await client.update_balance_allowance("COLLATERAL", signature_type=signature_type)
        found = await client.balance_allowance("COLLATERAL", signature_type=signature_type)
    except VenueError as exc:
        raise WalletSetupError(f"the venue at {venue.clob_url} refused the wallet: {exc}") from None
    except (RetryableError, OSError, TimeoutError) as exc:
        raise WalletSetupError(f"the venue at {venue.clob_url} does not answer: {exc}") from None
    finally:
        await client.close()
    return found.balance, dict(found.allowances or {})


async def setup_wallet(
    venue: VenueSettings,
    key: str,
    *,
    dry_run: bool = False,
    wrap: bool = True,
    allowance: int = MAX_UINT256,
    signature_type: int = 0,
    timeout_s: float = 30.0,
) -> SetupReport:
    """Plan, and unless ``dry_run`` send, what the wallet of ``key`` needs; then refresh the venue."""
    if signature_type != 0:
        raise WalletSetupError(
            f"signature_type {signature_type}: the approvals are the proxy or Safe wallet's to make "
            "(polymarket.com does them); wallet setup sets up EOA wallets (signature_type 0)"
        )
    if not venue.rpc_urls:
        raise WalletSetupError("wallet setup needs a chain node: set venue.chain_rpc_url")
    address = address_from_private_key(key)
    contracts = contracts_of(venue)
    rpc = JsonRpcClient(venue.rpc_urls, timeout_ms=int(timeout_s * 1000), max_retries=1)
    try:
        try:
            chain_id = await rpc.chain_id()
            if chain_id != venue.chain_id:
                raise WalletSetupError(
                    f"the chain node {rpc.url} is chain {chain_id}, venue.chain_id is {venue.chain_id}"
                )
            before = await read_chain_state(rpc, contracts, address)
        except (RpcError, RpcTransportError, ValueError) as exc:
            raise WalletSetupError(f"cannot read the wallet on chain at {rpc.url}: {exc}") from None
        report = SetupReport(
            address, chain_id, dry_run, before, plan_setup(before, contracts, wrap=wrap, allowance=allowance)
        )
        if dry_run:
            return report
        if report.planned:
            try:
                _, max_fee = await _fees(rpc)
            except (RpcError, RpcTransportError) as exc:
                raise WalletSetupError(f"cannot read the gas price at {rpc.url}: {exc}") from None
            need = gas_budget(report.planned) * max_fee
            if before.pol_wei < need:
                raise WalletSetupError(
                    f"not enough POL for gas at {address}: about {Decimal(need) / 10**18:f} needed, "
                    f"{Decimal(before.pol_wei) / 10**18:f} held; send POL to it first"
                )
            try:
                report.sent = await _send(
                    rpc, TxSigner(parse_private_key(key)), address, chain_id, report.planned
                )
            except (RpcTransportError, TimeoutError) as exc:
                raise WalletSetupError(
                    f"sending to {rpc.url} failed: {exc}; run wallet setup again"
                ) from None
            except RpcError as exc:
                raise WalletSetupError(f"the chain node refused a transaction: {exc}") from None
        try:
            report.after = await read_chain_state(rpc, contracts, address)
        except (RpcError, RpcTransportError, ValueError) as exc:
            raise WalletSetupError(f"sent; reading the wallet back at {rpc.url} failed: {exc}") from None
    finally:
        await rpc.close()
    report.venue_balance, report.venue_allowances = await _venue(venue, key, signature_type, timeout_s)
    return report
