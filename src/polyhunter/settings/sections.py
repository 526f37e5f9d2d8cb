"""The settings tree: one model per section (``[db]``, ``[venue]``, ...) and the root ``Settings``.

Unknown keys are rejected everywhere; units are part of the names; secrets are ``SecretStr``. How the
tree is loaded (file, env, overrides) is loading.py; how it is shown without its secrets redaction.py.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

from polyhunter.settings.redaction import redact_urls

# Upper bounds of the numeric settings: generous, but finite, so a typo (1e308, an extra zero run) is a
# one-line settings error instead of an overflow (or a sleep of centuries) somewhere at run time.
DAY_S = 86_400
DAY_MS = DAY_S * 1000
MONTH_S = 30 * DAY_S
MAX_USDC = Decimal("1e9")
MAX_COUNT = 10_000_000

SignalMode = Literal["WS_ONLY", "POLLING_ONLY", "CHAIN_ONLY", "MEMPOOL_ONLY", "HYBRID"]


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_default=True)


class DbSettings(Section):
    url: str = "sqlite+aiosqlite:///./var/polyhunter.db"
    echo: bool = False
    pool_size: int = Field(default=10, ge=1, le=200)
    # How long a unit of work waits for a pooled connection (PostgreSQL: pool_size + as many overflow;
    # SQLite: one) before the wait is an error the engine retries (StoreUnavailableError).
    pool_timeout_s: float = Field(default=30.0, gt=0, le=600)
    statement_timeout_ms: int = Field(default=30_000, ge=0, le=DAY_MS)
    # Off by default: a ping is one more round trip (about 1 ms here) on every checkout, on the copy
    # engine's hot path. A connection that died in the pool fails its first statement instead; the
    # engine retries its writes on a fresh connection (see engine/db_retry.py).
    pool_pre_ping: bool = False
    pool_recycle_s: int = Field(
        default=1_800, ge=0, le=DAY_S
    )  # replace pooled connections older than this (0: never)

    @field_validator("url")
    @classmethod
    def _async_driver(cls, value: str) -> str:
        scheme = value.split("://", 1)[0]
        allowed = ("sqlite+aiosqlite", "postgresql+asyncpg")
        if scheme in ("sqlite", "postgresql", "postgres"):
            fixed = {
                "sqlite": "sqlite+aiosqlite",
                "postgresql": "postgresql+asyncpg",
                "postgres": "postgresql+asyncpg",
            }
            return fixed[scheme] + value[len(scheme) :]
        if scheme not in allowed:
            raise ValueError(f"unsupported database URL scheme {scheme!r}; use one of {', '.join(allowed)}")
        return value


class CoordSettings(Section):
    backend: Literal["memory", "redis"] = "memory"
    redis_url: str = "redis://127.0.0.1:6379/0"
    # Redis keys start with "<key_prefix>:<deployment id>:": the id is made once per database (see
    # coord/factory.py), so deployments sharing one Redis never collide.
    key_prefix: str = Field(default="polyhunter", min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")
    # The Redis connection pool blocks when every connection is busy (a call waits for one, it does not
    # fail). 0 sizes it from the engine's concurrency (coord/factory.py redis_pool_size); a wait past
    # redis_pool_timeout_s is retried with bounded backoff before it is an error.
    redis_max_connections: int = Field(default=0, ge=0, le=10_000)
    redis_pool_timeout_s: float = Field(default=10.0, gt=0, le=600)


class ClusterSettings(Section):
    """Scale-out (`polyhunter worker`): Redis Streams with one consumer group per follower partition
    (see docs/architecture.md, "Scale-out"). Unused by `polyhunter run`."""

    # Fixed for a deployment's life: a follower's partition is crc32(user id) mod this.
    partitions: int = Field(default=16, ge=1, le=1024)
    stream: str = Field(default="signals", min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")
    stream_maxlen: int = Field(default=1_000_000, ge=1000)  # approximate trim of the signal stream
    heartbeat_ms: int = Field(default=1000, ge=50, le=60_000)  # membership beat and rebalance tick
    member_ttl_ms: int = Field(default=3000, ge=100, le=600_000)  # a member silent this long is gone
    lease_ttl_ms: int = Field(default=3000, ge=100, le=600_000)  # a partition lease not renewed expires
    read_count: int = Field(default=64, ge=1, le=10_000)  # entries read from a partition at once
    read_block_ms: int = Field(default=500, ge=1, le=60_000)
    publish_dedup_ttl_s: int = Field(default=86_400, ge=1)  # a signal key published once within this
    # Fixed for a deployment's life: a leader's ingest shard is crc32(lower-case address) mod this; the
    # shards are leased by the ingest workers, each polling only its shards' leaders (ingest_shards.py).
    ingest_shards: int = Field(default=16, ge=1, le=1024)


def _http_url(value: str) -> str:
    if not value.startswith(("http://", "https://")):
        raise ValueError("must start with http:// or https://")
    return value.rstrip("/")


class VenueSettings(Section):
    clob_url: str = "https://clob.polymarket.com"
    data_api_url: str = "https://data-api.polymarket.com"
    gamma_url: str = "https://gamma-api.polymarket.com"
    clob_ws_url: str = "wss://ws-subscriptions-clob.polymarket.com/ws"
    rtds_ws_url: str = "wss://ws-live-data.polymarket.com"
    # The chain's JSON-RPC node(s). None by default (the public polygon-rpc.com no longer serves
    # anonymous clients): the chain source runs only when one is set. `chain_rpc_urls` are further nodes
    # the client fails over to (connection error, timeout, 5xx), returning to the first after a while.
    chain_rpc_url: str | None = None
    chain_rpc_urls: list[str] = Field(default_factory=list, max_length=16)
    chain_rpc_failback_s: int = Field(default=300, ge=1, le=DAY_S)
    # The V3 exchange contract(s) (one for every market). Empty by default; once set, the chain source
    # watches them as well as `ingest.chain_exchange_addresses` (orders are signed for the version the
    # CLOB's GET /version names, whatever is set here).
    exchange_v3: list[str] = Field(default_factory=list, max_length=8)
    chain_id: int = 137
    # What `polyhunter wallet setup` sets a new own wallet up with (Polygon's contracts): USDC.e is
    # wrapped into pUSD through the onramp; pUSD and the ConditionalTokens' ERC-1155 approvals go to
    # every spender (the V2 exchange, the neg-risk V2 exchange, the neg-risk adapter, and `exchange_v3`).
    collateral_contract: str = "0xC011a7E12a19f7B1f670d46F03B03f3342E82DFB"  # pUSD
    bridged_usdc: str = "0x2791Bca1f2de4661ED88A30C99A7a9449Aa84174"  # USDC.e
    collateral_onramp: str = "0x93070a847efEf7F70739046A929D47a521F5B8ee"
    conditional_tokens: str = "0x4D97DCd97eC945f40cF65F87097ACe5EA0476045"
    approval_spenders: list[str] = Field(
        default_factory=lambda: [
            "0xE111180000d2663C0091e4f400237545B87B996B",
            "0xe2222d279d744050d28e00520010520000310F59",
            "0xd91E80cF2E7be2e162c6513ceD06f1dD0dA35296",
        ],
        min_length=1,
        max_length=8,
    )
    # /positions is read in pages of 500 rows; at most this many (21 reach the venue's last offset, 10,000)
    positions_max_pages: int = Field(default=21, ge=1, le=1_000)
    request_timeout_ms: int = Field(default=5_000, ge=100, le=600_000)
    max_retries: int = Field(default=3, ge=0, le=20)

    @field_validator("clob_url", "data_api_url", "gamma_url")
    @classmethod
    def _http(cls, value: str) -> str:
        return _http_url(value)

    @field_validator("chain_rpc_url")
    @classmethod
    def _rpc(cls, value: str | None) -> str | None:
        return None if value is None or not value.strip() else _http_url(value.strip())

    @field_validator("collateral_contract", "bridged_usdc", "collateral_onramp", "conditional_tokens")
    @classmethod
    def _contract(cls, value: str) -> str:
        if not re.fullmatch(r"0x[0-9a-fA-F]{40}", value):
            raise ValueError(f"not a contract address: {value[:50]!r}")
        return value

    @field_validator("exchange_v3", "approval_spenders")
    @classmethod
    def _contracts(cls, value: list[str]) -> list[str]:
        for address in value:
            if not re.fullmatch(r"0x[0-9a-fA-F]{40}", address):
                raise ValueError(f"not a contract address: {address[:50]!r}")
        return value

    @field_validator("chain_rpc_urls")
    @classmethod
    def _rpcs(cls, value: list[str]) -> list[str]:
        return [_http_url(v.strip()) for v in value if v.strip()]

    @property
    def rpc_urls(self) -> list[str]:
        """The chain nodes in failover order (`chain_rpc_url` first), each once; empty: no chain."""
        urls = [self.chain_rpc_url] if self.chain_rpc_url else []
        return list(dict.fromkeys([*urls, *self.chain_rpc_urls]))

    @field_validator("clob_ws_url", "rtds_ws_url")
    @classmethod
    def _ws(cls, value: str) -> str:
        if not value.startswith(("ws://", "wss://")):
            raise ValueError("must start with ws:// or wss://")
        return value.rstrip("/")


class ProxySettings(Section):
    """PROXY custody: the contracts on `venue.chain_rpc_url`, the fee schedule and the settlement loop."""

    factory: str | None = None  # ProxyFactory
    executor: str | None = None  # PolyHunterExecutor
    collateral: str | None = None  # the collateral token (pUSD)
    ctf: str | None = None  # the outcome tokens (ConditionalTokens)
    fee_bps: int = Field(default=0, ge=0, le=5_000)  # commission on each copy's notional
    profit_share_bps: int = Field(default=0, ge=0, le=5_000)  # commission on realized profit of a SELL
    batch_max: int = Field(default=50, ge=1, le=500)  # copies settled in one transaction
    flush_interval_s: float = Field(default=2.0, ge=0.01, le=3_600)
    ledger_cap_usdc: Decimal = Field(
        default=Decimal(500), gt=0, le=Decimal(10**9)
    )  # owed by a proxy: flush now
    confirmations: int = Field(default=2, ge=1, le=256)
    stuck_after_s: float = Field(default=30.0, ge=0.1, le=DAY_S)
    tx_poll_s: float = Field(default=0.2, ge=0.01, le=60)  # how often worker transactions are looked up
    retry_base_s: float = Field(default=1.0, ge=0, le=3_600)
    retry_max_s: float = Field(default=300.0, ge=0, le=DAY_S)
    namespace: str = Field(default="polyhunter", min_length=1, max_length=64)

    @field_validator("factory", "executor", "collateral", "ctf")
    @classmethod
    def _contract(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        if not re.fullmatch(r"0x[0-9a-fA-F]{40}", value.strip()):
            raise ValueError(f"not a contract address: {value[:50]!r}")
        return value.strip().lower()

    @property
    def configured(self) -> bool:
        return None not in (self.factory, self.executor, self.collateral, self.ctf)


class IngestSettings(Section):
    mode: SignalMode = "HYBRID"
    poll_interval_ms: int = Field(default=2_000, ge=50, le=DAY_MS)
    poll_interval_degraded_ms: int = Field(default=500, ge=50, le=DAY_MS)
    poll_page_limit: int = Field(default=500, ge=1, le=500)
    poll_requests_per_10s: int = Field(default=800, ge=1, le=MAX_COUNT)
    replay_window_s: int = Field(default=600, ge=0, le=MONTH_S)
    max_signal_age_s: int = Field(default=900, ge=1, le=MONTH_S)
    ws_silence_timeout_ms: int = Field(default=15_000, ge=100, le=DAY_MS)
    reconnect_backoff_initial_ms: int = Field(default=250, ge=10, le=DAY_MS)
    reconnect_backoff_max_ms: int = Field(default=10_000, ge=10, le=DAY_MS)
    # Validation at the edge: a larger websocket frame fails the connection (the venue's are ~1 KiB);
    # a fill dated outside [receipt - max_fill_age_s, receipt + max_fill_future_s] is rejected.
    ws_max_msg_bytes: int = Field(default=1 << 20, ge=4_096, le=64 << 20)
    max_fill_age_s: int = Field(default=MONTH_S, ge=60, le=12 * MONTH_S)
    max_fill_future_s: int = Field(default=300, ge=0, le=DAY_S)
    chain_poll_interval_ms: int = Field(default=1_000, ge=50, le=DAY_MS)
    chain_in_hybrid: bool = True  # HYBRID also reads chain logs when a venue.chain_rpc_url is set
    chain_confirmations: int = Field(default=0, ge=0, le=256)
    chain_exchange_addresses: list[str] = Field(
        default_factory=lambda: [
            "0x4bFb41d5B3570DeFd03C39a9A4D8dE6Bd8B8982E",
            "0xC5d563A36AE78145C45a50134d48A1215220f80a",
            "0xE111180000d2663C0091e4f400237545B87B996B",
            "0xe2222d279d744050d28e00520010520000310F59",
        ]
    )
    dedup_ttl_s: int = Field(
        default=86_400, ge=60, le=MONTH_S
    )  # the shared (Redis) dedup between supervisors
    # This process's own dedup window: late copies of a fill from another source arrive within
    # minutes (polling lag, chain confirmations); older repeats stop at the signals table (the durable
    # dedup). A day of keys in memory would grow a process by ~70 MB on a busy stream.
    local_dedup_ttl_s: int = Field(default=900, ge=60, le=MONTH_S)
    # A shared dedup key is a claim of this many seconds (refreshed while its signal is handed on)
    # until the signal is durable; a process killed meanwhile leaves it to another supervisor.
    dedup_claim_ttl_s: float = Field(default=5.0, ge=0.5, le=3600)
    # The market lifecycle (engine/lifecycle.py): the market channel (tick size changes, resolutions)
    # and a poll of the venue's record of every market followers hold (closed, resolved: redeemed).
    # Off: no market events are followed, resolved markets are not redeemed.
    market_events: bool = True
    market_status_interval_s: float = Field(default=30.0, ge=0.05, le=DAY_S)
    # The mempool source (ingest/mempool.py): a node that serves pending transactions. ws:// or wss://:
    # a newPendingTransactions subscription with full transactions; http(s)://: a txpool_content poll
    # (anvil, geth). None: no mempool source (HYBRID runs without it, MEMPOOL_ONLY refuses to start).
    mempool_url: str | None = None
    mempool_in_hybrid: bool = True  # HYBRID also reads the mempool when mempool_url is set
    mempool_poll_interval_ms: int = Field(default=100, ge=10, le=60_000)  # txpool poll and block check
    # A pending fill not mined within this many blocks of its sighting (and gone from the node) is dropped:
    # its signal is retracted. A replaced (same sender and nonce, another hash) or reverted one at once.
    mempool_drop_after_blocks: int = Field(default=10, ge=1, le=10_000)
    mempool_max_tracked: int = Field(default=10_000, ge=10, le=1_000_000)  # pending fills watched at once
    mempool_max_tx_bytes: int = Field(default=256 * 1024, ge=1_024, le=16 << 20)  # larger: not decoded

    @field_validator("mempool_url")
    @classmethod
    def _mempool_url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        value = value.strip()
        if not value.startswith(("ws://", "wss://", "http://", "https://")):
            raise ValueError("must start with ws://, wss://, http:// or https://")
        return value.rstrip("/")


class EngineSettings(Section):
    fanout_concurrency: int = Field(default=64, ge=1, le=10_000)
    # Signals whose copies execute at once (each after its prewrite); a source hands over the next
    # signal while earlier ones execute, and waits when this many are in flight (backpressure).
    signals_in_flight: int = Field(default=32, ge=1, le=10_000)
    pending_ttl_s: int = Field(default=120, ge=1, le=DAY_S)
    expiry_scan_interval_ms: int = Field(default=5_000, ge=100, le=DAY_MS)
    quote_cache_ttl_ms: int = Field(default=500, ge=0, le=DAY_MS)
    quote_cache_max_entries: int = Field(default=5_000, ge=1, le=MAX_COUNT)
    preflight_cache_ttl_ms: int = Field(default=2_000, ge=0, le=DAY_MS)
    fallback_price_ttl_ms: int = Field(default=10_000, ge=0, le=DAY_MS)
    force_fallback_price: bool = False
    max_slippage_bps: int = Field(default=200, ge=0, le=10_000)
    order_type: Literal["FOK", "FAK"] = "FOK"
    price_chase_steps: int = Field(default=2, ge=0, le=20)
    aggregation_window_ms: int = Field(default=60_000, ge=0, le=DAY_MS)
    metrics_interval_ms: int = Field(default=30_000, ge=100, le=DAY_MS)
    # How often the running supervisor rewrites the daily PnL series (store/pnl_daily.py); also at a clean stop.
    # Each write reads every executed copy (streamed, one config at a time): minutes, not seconds.
    pnl_daily_interval_s: float = Field(default=300.0, ge=0.05, le=DAY_S)
    # Young-generation GC threshold once started (CPython's default is 700); 0 keeps the defaults.
    # See runtime/gc_tuning.py: fewer, cheaper collections while a signal fans out.
    gc_gen0_threshold: int = Field(default=50_000, ge=0, le=10_000_000)
    # How often a full garbage collection runs and freed C-heap memory is handed back to the OS (glibc
    # malloc_trim, in a worker thread); 0 never. See runtime/heap_trim.py: without the trim a demo's RSS
    # crept up 1.4 MiB after minute 2; without the collection, 7.5 MiB a minute under overload.
    heap_trim_interval_s: float = Field(default=20.0, ge=0, le=86_400)
    # On SIGTERM/SIGINT: how long copies already executing may take to get their venue answers before
    # they are cut off (left PENDING for the sweep). See runtime/shutdown.py.
    shutdown_grace_s: float = Field(default=10.0, ge=0, le=600)


class GuardrailSettings(Section):
    max_trade_usdc: Decimal = Field(default=Decimal("1000"), ge=0, le=MAX_USDC)
    daily_user_cap_usdc: Decimal = Field(default=Decimal("5000"), ge=0, le=MAX_USDC)
    global_daily_cap_usdc: Decimal = Field(default=Decimal("100000"), ge=0, le=MAX_USDC)
    circuit_breaker_failures: int = Field(default=5, ge=1, le=MAX_COUNT)
    circuit_breaker_cooldown_s: int = Field(default=300, ge=1, le=MONTH_S)
    dry_run: bool = False


class ApiSettings(Section):
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65_535)
    # How often the engine looks for changes made through the API (followers, leaders, configs).
    sync_interval_ms: int = Field(default=500, ge=50, le=60_000)
    # Session cookies only over HTTPS (set when a TLS proxy serves the dashboard).
    secure_cookies: bool = False
    session_ttl_s: int = Field(default=7 * 86_400, ge=60, le=90 * 86_400)


class LoggingSettings(Section):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    format: Literal["console", "json"] = "console"


class SecretsSettings(Section):
    master_key: SecretStr | None = None
    # Next to the default database (./var/polyhunter.db); absolute once loaded (see the module doc).
    master_key_file: str = "./var/master.key"
    private_key: SecretStr | None = None
    clob_api_key: SecretStr | None = None
    clob_api_secret: SecretStr | None = None
    clob_api_passphrase: SecretStr | None = None

    def secret_values(self) -> list[str]:
        values = [
            self.master_key,
            self.private_key,
            self.clob_api_key,
            self.clob_api_secret,
            self.clob_api_passphrase,
        ]
        return [v.get_secret_value() for v in values if v is not None and v.get_secret_value()]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="POLYHUNTER__",
        env_nested_delimiter="__",
        extra="forbid",
        validate_default=True,
        case_sensitive=False,
    )

    db: DbSettings = Field(default_factory=DbSettings)
    coord: CoordSettings = Field(default_factory=CoordSettings)
    venue: VenueSettings = Field(default_factory=VenueSettings)
    ingest: IngestSettings = Field(default_factory=IngestSettings)
    engine: EngineSettings = Field(default_factory=EngineSettings)
    guardrails: GuardrailSettings = Field(default_factory=GuardrailSettings)
    api: ApiSettings = Field(default_factory=ApiSettings)
    logging: LoggingSettings = Field(default_factory=LoggingSettings)
    secrets: SecretsSettings = Field(default_factory=SecretsSettings)
    proxy: ProxySettings = Field(default_factory=ProxySettings)
    cluster: ClusterSettings = Field(default_factory=ClusterSettings)

    @model_validator(mode="after")
    def _chain_only_needs_a_node(self) -> Settings:
        if self.ingest.mode == "CHAIN_ONLY" and not self.venue.rpc_urls:
            raise ValueError("ingest.mode = CHAIN_ONLY needs venue.chain_rpc_url (or venue.chain_rpc_urls)")
        if self.ingest.mode == "MEMPOOL_ONLY" and not self.ingest.mempool_url:
            raise ValueError(
                "ingest.mode = MEMPOOL_ONLY needs ingest.mempool_url (a node serving pending txs)"
            )
        mempool = self.ingest.mempool_url or ""
        if mempool.startswith("ws") and not self.venue.rpc_urls:
            raise ValueError(
                "ingest.mempool_url is a websocket: set venue.chain_rpc_url too (blocks are read there)"
            )
        return self

    def redacted(self) -> dict[str, Any]:
        """The effective settings as plain JSON data, every secret replaced by ``**********`` and the
        password of every URL (``db.url``, ``coord.redis_url``, ...) by ``***``."""
        redacted: dict[str, Any] = redact_urls(self.model_dump(mode="json"))
        return redacted
