"""An own wallet's redemption of a resolved market by its own transaction: the conditional tokens'
``redeemPositions(collateral, 0, conditionId, [1, 2])``, signed with the wallet's key (EIP-1559,
``adapters/chain/tx_signer.py``) and sent to the chain node; the payout is the ``PayoutRedemption``
log's."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from polyhunter.adapters.chain.ctf_calls import redeem_positions_call, redemption_payout
from polyhunter.adapters.chain.rpc import JsonRpcClient, RpcError, parse_quantity
from polyhunter.adapters.chain.tx_signer import Eip1559Tx, TxSigner
from polyhunter.log import get_logger

log = get_logger(__name__)

MICRO = Decimal(1_000_000)
DEFAULT_PRIORITY_FEE = 30 * 10**9  # Polygon's usual floor when the node does not say
GAS_MARGIN_PCT = 125
RECEIPT_TIMEOUT_S = 120.0


class RedeemTxError(RuntimeError):
    """The redemption transaction could not be sent, or it reverted."""


@dataclass(slots=True)
class ChainRedeemer:
    rpc: JsonRpcClient
    chain_id: int
    conditional_tokens: str
    collateral: str
    _deployed: bool | None = None

    async def available(self) -> bool:
        """The conditional tokens have code on this chain (a node next to a simulator without its chain
        mode has none: its redemptions go to the simulator's endpoint)."""
        if self._deployed is None:
            code = await self.rpc.call("eth_getCode", [self.conditional_tokens, "latest"])
            self._deployed = str(code) not in ("0x", "0x0", "")
        return self._deployed

    async def _fees(self) -> tuple[int, int]:
        block = await self.rpc.get_block_by_number("latest")
        base = parse_quantity(block.get("baseFeePerGas", "0x0")) if block else 0
        try:
            tip = parse_quantity(await self.rpc.call("eth_maxPriorityFeePerGas"))
        except RpcError:
            tip = DEFAULT_PRIORITY_FEE
        return tip, 2 * base + tip

    async def redeem(self, signer: TxSigner, address: str, condition_id: str) -> Decimal:
        """Send ``address``'s ``redeemPositions`` for ``condition_id``; the collateral it paid."""
        data = redeem_positions_call(self.collateral, condition_id)
        call = {"from": address, "to": self.conditional_tokens, "data": "0x" + data.hex()}
        try:
            gas = parse_quantity(await self.rpc.call("eth_estimateGas", [call])) * GAS_MARGIN_PCT // 100
        except RpcError as exc:
            raise RedeemTxError(f"the node refuses redeemPositions: {exc}") from None
        nonce = await self.rpc.transaction_count(address, "pending")
        tip, max_fee = await self._fees()
        tx = Eip1559Tx(self.chain_id, nonce, tip, max_fee, gas, self.conditional_tokens, 0, data)
        raw, tx_hash = signer.sign(tx)
        await self.rpc.call("eth_sendRawTransaction", ["0x" + raw.hex()])
        receipt = await self.rpc.wait_for_receipt(tx_hash, timeout_s=RECEIPT_TIMEOUT_S)
        if receipt.get("status") != "0x1":
            raise RedeemTxError(f"redeemPositions {tx_hash} reverted")
        paid = redemption_payout(receipt, self.conditional_tokens, address) or 0
        log.info("eoa.redeemed_on_chain", condition_id=condition_id, tx=tx_hash, payout_micro=paid)
        return Decimal(paid) / MICRO
