"""The followers' own wallets: the key signs in (L1 derive / create of the CLOB API key, then an L2
call with it, as the EOA executor does), and the collateral is there with allowances for the largest
copy the configs allow (`GET /balance-allowance`, read as the executor reads it)."""

from __future__ import annotations

import asyncio
import os
from decimal import Decimal

from polyhunter.adapters.polymarket.clob_trading import ClobTradingClient
from polyhunter.adapters.polymarket.http import HttpClient, RetryableError, RetryPolicy, VenueError
from polyhunter.adapters.polymarket.order_signer import OrderSigner, SignatureType
from polyhunter.domain.copy_config import CustodyMode
from polyhunter.domain.orders import Funds
from polyhunter.execution.eoa import EoaAccount, EoaExecutor
from polyhunter.readiness.checks import CheckResult, failed, one_line, passed, skipped
from polyhunter.runtime.run_file import FollowerSpec
from polyhunter.settings import Settings

UNLIMITED = Decimal("1e15")  # an allowance this large is "approve max"


def needed_usdc(spec: FollowerSpec, platform_max: Decimal) -> Decimal:
    """The largest single copy the follower's configs allow: per copy, the smallest of its own cap,
    the follower's and the platform's per-trade max; the largest of those over the copies."""
    caps = [c.max_trade_usdc for c in spec.copies] or [None]
    per_copy = []
    for cap in caps:
        bounds = [b for b in (cap, spec.limits.max_trade_usdc, platform_max) if b is not None]
        per_copy.append(min(bounds))
    return max(per_copy)


def _usdc(value: Decimal | None) -> str:
    if value is None:
        return "not reported"
    return "unlimited" if value >= UNLIMITED else f"{value.normalize():f} USDC"


def _key_problem(spec: FollowerSpec) -> tuple[str, str] | None:
    env = spec.private_key_env
    if spec.private_key is None and not env:
        return "no key: EOA custody needs private_key_env", "set followers.private_key_env in the run file"
    if spec.private_key is None and env and not os.environ.get(env):
        return f"env var {env} is not set", f"export {env}=<the follower's private key>"
    return None


def _signer(spec: FollowerSpec) -> tuple[OrderSigner | None, str, str]:
    """The follower's signer, or None with (reason, fix)."""
    problem = _key_problem(spec)
    if problem is not None:
        return None, *problem
    where = "the key" if spec.private_key is not None else f"env var {spec.private_key_env}"
    try:
        key = spec.key()
        assert key is not None
        signer = OrderSigner(key.strip())
    except (ValueError, TypeError):
        return None, f"{where} does not hold a private key", f"put the follower's 64-hex-digit key in {where}"
    if spec.signer is not None and signer.address.lower() != spec.signer.lower():
        return None, f"{where} signs as {signer.address}, not {spec.signer}", "fix the key or the signer"
    return signer, "", ""


async def _sign_in(client: ClobTradingClient, account: EoaAccount, chain_id: int) -> Funds:
    await client.ensure_api_key()
    executor = EoaExecutor({0: account}, chain_id=chain_id)
    return await executor.collateral(0)  # an L2 call: the derived key works


def _funds_result(name: str, spec: FollowerSpec, funder: str, funds: Funds, need: Decimal) -> CheckResult:
    fund_fix = f"deposit USDC.e or pUSD to {funder}, then run `polyhunter wallet setup --config RUNFILE`"
    if funds.balance <= 0:
        return failed(name, f"balance 0 USDC at {funder}", fund_fix)
    short = [
        f"{label} {_usdc(allowance)}"
        for label, allowance in (
            ("CTF exchange", funds.allowance),
            ("neg-risk exchange", funds.neg_risk_allowance),
        )
        if allowance is not None and allowance < need
    ]
    if short:
        return failed(
            name,
            f"allowance below the largest copy ({need.normalize():f} USDC) at {funder}: {', '.join(short)}",
            f"approve both V2 exchanges to spend {funder}'s collateral (at least {need.normalize():f} USDC): "
            "`polyhunter wallet setup --config RUNFILE`",
        )
    return passed(
        name,
        f"balance {_usdc(funds.balance)}, allowances {_usdc(funds.allowance)} / "
        f"{_usdc(funds.neg_risk_allowance)} (largest copy {need.normalize():f} USDC)",
    )


async def check_wallet(
    settings: Settings, spec: FollowerSpec, timeout_s: float, *, funds: bool = True
) -> list[CheckResult]:
    auth_name, funds_name = f"wallet.{spec.name}.auth", f"wallet.{spec.name}.funds"
    if spec.custody is not CustodyMode.EOA:
        return [skipped(auth_name, f"{spec.custody} custody: no venue account to sign in to")]
    signer, reason, fix = _signer(spec)
    if signer is None:
        results = [failed(auth_name, reason, fix)]
        return results + ([skipped(funds_name, "no signed-in wallet to read")] if funds else [])
    venue = settings.venue
    http = HttpClient(venue.clob_url, int(timeout_s * 1000), RetryPolicy(max_retries=0))
    client = ClobTradingClient(http, signer, venue.chain_id)
    funder = spec.funder or signer.address
    account = EoaAccount(client, funder, SignatureType(spec.signature_type))
    auth_fix = f"check the follower's key and venue.chain_id ({venue.chain_id}: L1 auth is signed for it)"
    try:
        found = await asyncio.wait_for(_sign_in(client, account, venue.chain_id), timeout_s)
    except TimeoutError:
        found, result = None, failed(auth_name, f"no answer within {timeout_s:g} s", auth_fix)
    except VenueError as exc:
        found, result = None, failed(auth_name, f"the venue refused {signer.address}: {exc}", auth_fix)
    except (RetryableError, OSError) as exc:
        found = None
        result = failed(
            auth_name, f"CLOB unreachable ({one_line(exc)})", "start the venue or set venue.clob_url"
        )
    except ValueError as exc:  # e.g. no exchange contracts known for venue.chain_id
        found, result = None, failed(auth_name, one_line(exc), auth_fix)
    else:
        result = passed(auth_name, f"{signer.address} signs in (L1 API key, L2 balance read)")
    finally:
        await client.close()
    results = [result]
    if funds:
        if found is None:
            results.append(skipped(funds_name, "no signed-in wallet to read"))
        else:
            need = needed_usdc(spec, settings.guardrails.max_trade_usdc)
            results.append(_funds_result(funds_name, spec, funder, found, need))
    return results
