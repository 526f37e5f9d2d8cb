"""Balances, allowances, reservations and positions of simulated accounts.

All amounts are integer micro-units. pUSD is created only by ``deposit`` (the faucet a scenario uses
to fund accounts); after that it moves between accounts, into full sets (CTF split / MINT match) and
back out (merge / MERGE match / redemption), so at every moment::

    sum(cash of every account, fee account included) + sum(locked in full sets) == deposited

and for every unresolved market ``supply(token0) == supply(token1) == locked(market)``.
``cash`` includes the part reserved for resting BUY orders; ``tokens`` includes the part reserved for
resting SELL orders.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal

from polyhunter.sim.errors import SimError


@dataclass(slots=True)
class Position:
    """One address's holding of one token: size, cost basis and realized PnL (micro-units)."""

    size: int = 0
    cost: int = 0  # pUSD paid for the shares still held (fees excluded)
    realized: int = 0  # realized PnL, fees included
    fees: int = 0  # taker fees paid on trades of this token
    bought: int = 0  # shares bought (lifetime)
    sold: int = 0  # shares sold (lifetime)

    @property
    def avg_price(self) -> Decimal:
        return Decimal(self.cost) / Decimal(self.size) if self.size else Decimal(0)

    def on_buy(self, shares: int, usdc: int) -> None:
        self.size += shares
        self.cost += usdc
        self.bought += shares

    def on_sell(self, shares: int, usdc: int) -> None:
        held = min(shares, self.size)
        removed = self.cost * held // self.size if self.size else 0
        self.cost -= removed
        self.size -= held
        self.realized += usdc - removed
        self.sold += shares

    def on_fee(self, fee: int) -> None:
        self.fees += fee
        self.realized -= fee

    def on_redeem(self, payout: int) -> None:
        self.realized += payout - self.cost
        self.size = 0
        self.cost = 0


@dataclass(slots=True)
class Account:
    address: str
    cash: int = 0
    cash_reserved: int = 0
    allowance: int | None = 0  # pUSD allowance to the exchange; None = unlimited
    ctf_approved: bool = False  # ERC-1155 setApprovalForAll(exchange)
    tokens: dict[str, int] = field(default_factory=dict)
    tokens_reserved: dict[str, int] = field(default_factory=dict)
    positions: dict[str, Position] = field(default_factory=dict)

    def position(self, token_id: str) -> Position:
        pos = self.positions.get(token_id)
        if pos is None:
            pos = self.positions[token_id] = Position()
        return pos

    @property
    def cash_available(self) -> int:
        spendable = self.cash if self.allowance is None else min(self.cash, self.allowance)
        return spendable - self.cash_reserved

    def tokens_available(self, token_id: str) -> int:
        if not self.ctf_approved:
            return 0
        return self.tokens.get(token_id, 0) - self.tokens_reserved.get(token_id, 0)


class Ledger:
    def __init__(self, fee_account: str) -> None:
        self.fee_account = fee_account
        self._accounts: dict[str, Account] = {}  # by lower-case address
        self._spellings: dict[str, Account] = {}  # by address as callers spell it (fast path)
        self.supply: dict[str, int] = {}
        self.locked: dict[str, int] = {}
        self.deposited = 0
        self.account(fee_account)

    # -- accounts -----------------------------------------------------------------------------
    def account(self, address: str) -> Account:
        """The account of ``address`` (case-insensitive), created empty on first use."""
        acct = self._spellings.get(address)
        if acct is None:
            key = address.lower()
            acct = self._accounts.get(key)
            if acct is None:
                acct = self._accounts[key] = Account(address=address)
            self._spellings[address] = acct
        return acct

    def accounts(self) -> Iterator[Account]:
        return iter(self._accounts.values())

    def deposit(self, address: str, amount: int) -> None:
        """Faucet: create ``amount`` micro-pUSD in ``address`` (the only way pUSD enters the sim)."""
        if amount < 0:
            raise SimError("deposit must be >= 0")
        self.account(address).cash += amount
        self.deposited += amount

    def approve(self, address: str, amount: int | None = None) -> None:
        """pUSD allowance to the exchange; ``None`` is unlimited (max uint256)."""
        if amount is not None and amount < 0:
            raise SimError("allowance must be >= 0")
        self.account(address).allowance = amount

    def set_ctf_approval(self, address: str, approved: bool = True) -> None:
        self.account(address).ctf_approved = approved

    # -- CTF split / merge ----------------------------------------------------------------------
    def split(self, address: str, condition_id: str, tokens: tuple[str, str], amount: int) -> None:
        """Lock ``amount`` pUSD into ``amount`` full sets (cost basis 0.5 per share on each side)."""
        acct = self.account(address)
        if amount <= 0 or acct.cash - acct.cash_reserved < amount:
            raise SimError("split needs a positive amount of unreserved pUSD")
        acct.cash -= amount
        half = amount // 2
        for token, basis in ((tokens[0], half), (tokens[1], amount - half)):
            acct.tokens[token] = acct.tokens.get(token, 0) + amount
            acct.position(token).on_buy(amount, basis)
        self.mint_sets(condition_id, tokens, amount)

    def merge(self, address: str, condition_id: str, tokens: tuple[str, str], amount: int) -> None:
        """Burn ``amount`` full sets of ``address`` back into pUSD."""
        acct = self.account(address)
        if amount <= 0 or any(
            acct.tokens.get(t, 0) - acct.tokens_reserved.get(t, 0) < amount for t in tokens
        ):
            raise SimError("merge needs a positive amount of unreserved shares of both tokens")
        half = amount // 2
        for token, proceeds in ((tokens[0], half), (tokens[1], amount - half)):
            acct.tokens[token] -= amount
            acct.position(token).on_sell(amount, proceeds)
        acct.cash += amount
        self.merge_sets(condition_id, tokens, amount)

    def mint_sets(self, condition_id: str, tokens: tuple[str, str], amount: int) -> None:
        for token in tokens:
            self.supply[token] = self.supply.get(token, 0) + amount
        self.locked[condition_id] = self.locked.get(condition_id, 0) + amount

    def merge_sets(self, condition_id: str, tokens: tuple[str, str], amount: int) -> None:
        for token in tokens:
            self.supply[token] -= amount
        self.locked[condition_id] -= amount

    # -- reservations -------------------------------------------------------------------------
    def reserve_cash(self, address: str, amount: int) -> bool:
        acct = self.account(address)
        if acct.cash_available < amount:
            return False
        acct.cash_reserved += amount
        return True

    def reserve_tokens(self, address: str, token_id: str, amount: int) -> bool:
        acct = self.account(address)
        if acct.tokens_available(token_id) < amount:
            return False
        acct.tokens_reserved[token_id] = acct.tokens_reserved.get(token_id, 0) + amount
        return True

    def release_cash(self, address: str, amount: int) -> None:
        self.account(address).cash_reserved -= amount

    def release_tokens(self, address: str, token_id: str, amount: int) -> None:
        self.account(address).tokens_reserved[token_id] -= amount

    # -- fills ----------------------------------------------------------------------------------
    def buy_fill(self, address: str, token_id: str, shares: int, usdc: int, release: int) -> None:
        """Settle a BUY leg: pay ``usdc`` out of the ``release`` pUSD reserved for it, receive shares."""
        acct = self.account(address)
        acct.cash_reserved -= release
        acct.cash -= usdc
        if acct.allowance is not None:
            acct.allowance -= usdc
        acct.tokens[token_id] = acct.tokens.get(token_id, 0) + shares
        acct.position(token_id).on_buy(shares, usdc)

    def sell_fill(self, address: str, token_id: str, shares: int, usdc: int) -> None:
        """Settle a SELL leg: deliver ``shares`` (reserved for it), receive ``usdc``."""
        acct = self.account(address)
        acct.tokens_reserved[token_id] -= shares
        acct.tokens[token_id] -= shares
        acct.cash += usdc
        acct.position(token_id).on_sell(shares, usdc)

    def charge_fee(self, address: str, token_id: str, fee: int, release: int = 0) -> None:
        """Move a taker fee to the fee account (a BUY pays it out of ``release`` reserved pUSD)."""
        if fee == 0 and release == 0:
            return
        acct = self.account(address)
        acct.cash_reserved -= release
        acct.cash -= fee
        if release and acct.allowance is not None:
            acct.allowance -= fee
        self.account(self.fee_account).cash += fee
        acct.position(token_id).on_fee(fee)

    # -- resolution -----------------------------------------------------------------------------
    def redeem_all(self, condition_id: str, tokens: tuple[str, str], winning: str) -> list[tuple[str, int]]:
        """Pay 1 pUSD per winning share to every holder; both tokens' balances go to zero."""
        payouts: list[tuple[str, int]] = []
        for acct in self._accounts.values():
            won = acct.tokens.pop(winning, 0)
            for token in tokens:
                acct.tokens_reserved.pop(token, None)
                if token in acct.positions:
                    acct.positions[token].on_redeem(won if token == winning else 0)
            acct.tokens.pop(tokens[0] if winning == tokens[1] else tokens[1], None)
            if won:
                acct.cash += won
                payouts.append((acct.address, won))
        self.locked[condition_id] = self.locked.get(condition_id, 0) - self.supply.get(winning, 0)
        for token in tokens:
            self.supply[token] = 0
        return payouts

    def redeem_one(self, address: str, condition_id: str, tokens: tuple[str, str], winning: str) -> int:
        """One holder redeems (CTF ``redeemPositions``): 1 pUSD per winning share, every share of the
        market burned; a second call pays 0."""
        acct = self.account(address)
        won = 0
        for token in tokens:
            held = acct.tokens.pop(token, 0)
            acct.tokens_reserved.pop(token, None)
            if token in acct.positions:
                acct.positions[token].on_redeem(held if token == winning else 0)
            self.supply[token] = self.supply.get(token, 0) - held
            if token == winning:
                won = held
        acct.cash += won
        self.locked[condition_id] = self.locked.get(condition_id, 0) - won
        return won

    # -- totals ---------------------------------------------------------------------------------
    def collateral_total(self) -> int:
        """All pUSD in the sim: cash of every account plus collateral locked in full sets."""
        return sum(a.cash for a in self._accounts.values()) + sum(self.locked.values())

    def fees_collected(self) -> int:
        return self.account(self.fee_account).cash

    def balance(self, address: str, token_id: str | None = None) -> int:
        acct = self.account(address)
        return acct.cash if token_id is None else acct.tokens.get(token_id, 0)
