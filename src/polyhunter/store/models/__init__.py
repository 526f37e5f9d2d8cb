"""All tables; importing this module fills ``Base.metadata`` (Alembic and the drift test rely on that)."""

from polyhunter.store.base import Base
from polyhunter.store.models.accounts import Leader, User, Wallet
from polyhunter.store.models.archive import (
    COPY_TRADES_ARCHIVE,
    GUARDRAIL_EVENTS_ARCHIVE,
    ORDERS_ARCHIVE,
    SIGNALS_ARCHIVE,
)
from polyhunter.store.models.copying import CopyConfig, CopyConfigVersion, CopyTrade, GuardrailEvent
from polyhunter.store.models.deployment import Deployment
from polyhunter.store.models.lifecycle import Redemption
from polyhunter.store.models.paper import PaperAccount
from polyhunter.store.models.platform import Account, AccountLeader, AuditEvent, AuthToken, ChangeCounter
from polyhunter.store.models.pnl import PnlDaily
from polyhunter.store.models.settlement import (
    CommissionLog,
    DebtRecord,
    FleetWorker,
    ReimbursementEntry,
    SettlementRow,
)
from polyhunter.store.models.signals import SignalCursor, SignalRecord
from polyhunter.store.models.trading import Fill, Order, Position

__all__ = [
    "Account",
    "AccountLeader",
    "AuditEvent",
    "AuthToken",
    "ChangeCounter",
    "COPY_TRADES_ARCHIVE",
    "GUARDRAIL_EVENTS_ARCHIVE",
    "ORDERS_ARCHIVE",
    "SIGNALS_ARCHIVE",
    "Base",
    "CommissionLog",
    "CopyConfig",
    "CopyConfigVersion",
    "CopyTrade",
    "DebtRecord",
    "Deployment",
    "Fill",
    "FleetWorker",
    "GuardrailEvent",
    "Leader",
    "Order",
    "PaperAccount",
    "PnlDaily",
    "Position",
    "Redemption",
    "ReimbursementEntry",
    "SettlementRow",
    "SignalCursor",
    "SignalRecord",
    "User",
    "Wallet",
]
