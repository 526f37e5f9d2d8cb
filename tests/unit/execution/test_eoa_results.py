"""The EOA executor turns the venue's answer into a domain result: a FOK/FAK the venue killed with
nothing filled (its error body, its errorMsg, or a CANCELED_ order status) is KILLED, any other refusal
REJECTED; the venue's text is kept as the result's error either way."""

from __future__ import annotations

from decimal import Decimal

import pytest

from polyhunter.adapters.polymarket.clob_trading import ClobTradingClient
from polyhunter.adapters.polymarket.http import RetryableError as HttpRetryableError
from polyhunter.adapters.polymarket.http import VenueAuthError, VenueError
from polyhunter.adapters.polymarket.order_errors import FAK_NO_MATCH, FOK_KILLED, NO_BALANCE
from polyhunter.adapters.polymarket.order_signer import OrderSigner, SignatureType, SignedOrder
from polyhunter.adapters.polymarket.wire_clob_rest import PostOrderResponse
from polyhunter.domain.errors import OperatorNeededError, RetryableError, pause_reason
from polyhunter.domain.orders import ExecStatus, OrderRequest, OrderType
from polyhunter.domain.signal import Side
from polyhunter.execution.eoa import EoaAccount, EoaExecutor
from polyhunter.ports.coordinator import CoordinatorUnavailable
from polyhunter.ports.store import StoreUnavailableError

KEY = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"
TOKEN = "71321045679252212594626385532706912750332728571942532289631379312455583992563"


class _Venue(ClobTradingClient):
    """Answers every POST /order with `answer` (or raises it)."""

    def __init__(self, answer: PostOrderResponse | VenueError) -> None:
        self.signer = OrderSigner(KEY)
        self.answer = answer

    async def post_order(self, signed: SignedOrder, order_type: str) -> PostOrderResponse:
        if isinstance(self.answer, VenueError):
            raise self.answer
        return self.answer


def _response(*, success: bool = True, error: str = "", status: str = "matched") -> PostOrderResponse:
    return PostOrderResponse(
        error_msg=error, order_id="0xab", taking_amount="", making_amount="", status=status, success=success
    )


async def _execute(
    answer: PostOrderResponse | VenueError, order_type: OrderType = OrderType.FOK
) -> tuple[ExecStatus, str]:
    venue = _Venue(answer)
    executor = EoaExecutor({1: EoaAccount(venue, venue.signer.address, SignatureType.EOA)}, chain_id=137)
    request = OrderRequest(
        copy_trade_id=1,
        signal_key="s",
        config_id=1,
        user_id=1,
        token_id=TOKEN,
        condition_id="0x01",
        side=Side.BUY,
        shares=Decimal(10),
        limit_price=Decimal("0.5"),
        reference_price=Decimal("0.5"),
        tick_size=Decimal("0.01"),
        neg_risk=False,
        order_type=order_type,
        client_id="s:1",
    )
    result = await executor.execute(request)
    return result.status, result.error


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (VenueError(400, FOK_KILLED), (ExecStatus.KILLED, FOK_KILLED)),
        (VenueError(400, FAK_NO_MATCH), (ExecStatus.KILLED, FAK_NO_MATCH)),
        (VenueError(400, NO_BALANCE), (ExecStatus.REJECTED, NO_BALANCE)),
        (_response(success=False, error=FOK_KILLED), (ExecStatus.KILLED, FOK_KILLED)),
        (_response(success=False), (ExecStatus.REJECTED, "rejected")),
        (_response(status=f"CANCELED_{FOK_KILLED}"), (ExecStatus.KILLED, f"status CANCELED_{FOK_KILLED}")),
        (_response(status="unmatched"), (ExecStatus.REJECTED, "status unmatched")),
    ],
)
async def test_a_killed_order_is_killed_and_any_other_refusal_rejected(
    answer: PostOrderResponse | VenueError, expected: tuple[ExecStatus, str]
) -> None:
    assert await _execute(answer) == expected


async def test_refused_credentials_are_operator_needed_and_a_missing_wallet_too() -> None:
    """HTTP 401/403 is a `VenueAuthError`, an `OperatorNeededError` (`AUTH_REFUSED`): the executor
    raises it (nothing was placed) so the engine pauses the config. A user with no wallet is
    `NO_WALLET`. Neither is a retryable error."""
    with pytest.raises(OperatorNeededError) as refused:
        await _execute(VenueAuthError(401, "Unauthorized/Invalid api key"))
    assert refused.value.reason == "AUTH_REFUSED"
    assert refused.value.detail == "HTTP 401: Unauthorized/Invalid api key"
    assert pause_reason(refused.value) == "AUTH_REFUSED: HTTP 401: Unauthorized/Invalid api key"
    assert isinstance(refused.value, VenueError)
    assert not isinstance(refused.value, RetryableError)
    with pytest.raises(OperatorNeededError) as no_wallet:
        await EoaExecutor({}, chain_id=137).collateral(7)
    assert no_wallet.value.reason == "NO_WALLET"
    assert isinstance(no_wallet.value, LookupError)


def test_transport_and_store_errors_are_retryable() -> None:
    assert issubclass(HttpRetryableError, RetryableError)
    assert issubclass(StoreUnavailableError, RetryableError)
    assert issubclass(CoordinatorUnavailable, RetryableError)
    assert not issubclass(VenueError, RetryableError | OperatorNeededError)
