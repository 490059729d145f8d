"""Typed settings, read from the environment with the prefix KLARVARSEL_ (and a .env file)."""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    """Everything configurable; the defaults are the embedded, credential-free set-up."""

    model_config = SettingsConfigDict(env_prefix="KLARVARSEL_", env_file=".env", extra="ignore")

    var_dir: Path = PROJECT_ROOT / "var"
    database_url: str = Field(
        default="", description="SQLAlchemy URL; empty means SQLite at var/klarvarsel.sqlite3"
    )
    content_dir: Path = Field(
        default=PROJECT_ROOT,
        description="folder holding audiences/, message_templates/ and locales/",
    )
    timezone: str = "Europe/Stockholm"
    clock_start: datetime | None = Field(
        None,
        description="start the clock at this time (with offset) and let it run; for demos and "
        "exercises. Empty means the system clock",
    )
    municipality_name: str = "Västerås stad"
    public_base_url: str = Field(
        "",
        description="https address of the public pages (links in SMS, e-mail, print, the Twilio "
        "callback); empty follows the running server's address (see notices.links)",
    )

    # Transports: `outbox` writes every message under var/outbox/ (the credential-free default).
    sms_transport: str = Field("outbox", pattern="^(outbox|twilio)$")
    email_transport: str = Field("outbox", pattern="^(outbox|smtp)$")

    twilio_account_sid: str = ""
    twilio_auth_token: str = ""
    twilio_from: str = Field("", description="alphanumeric sender ID (max 11) or E.164 number")
    twilio_messaging_service_sid: str = ""
    twilio_base_url: str = Field("", description="API base URL; empty means Twilio's own")
    twilio_timeout_seconds: float = 10.0
    sms_price_per_segment_sek: float = Field(0.45, description="for cost estimates only")

    # HTTP limits (README "Limits"). The largest notice the field limits allow is about 220 KB
    # even with every character written as \uXXXX; 512 KiB leaves room for more languages.
    max_body_bytes: int = Field(
        512 * 1024, ge=1024, description="largest request body, in bytes (413 above it)"
    )
    body_limits: dict[str, int] = Field(
        # A register's CSV, uploaded on the recipients page, is larger than any other form.
        default_factory=lambda: {"/admin/recipients/import": 10 * 1024 * 1024},
        description="larger or smaller limits per path (a path, or a prefix ending in /), e.g. "
        '{"/api/v1/recipients/import": 10485760}; the longest match wins',
    )

    # REST API (README "REST API"): requests per API key, counted in each process.
    api_rate_limit_per_minute: int = Field(
        600, ge=0, description="average requests a minute per API key and process; 0: no limit"
    )
    api_rate_limit_burst: int = Field(60, ge=1, description="requests a key may make at once")
    idempotency_hours: float = Field(
        24.0, gt=0, description="how long an Idempotency-Key's first response is kept"
    )

    # CAP 1.2 (service/interop): who the municipality's alerts come from, and how long an
    # alert without an expiry stays in the public feeds after its latest message.
    cap_sender: str = Field(
        "",
        description="CAP <sender>, e.g. kris@vasteras.se; empty uses the address in smtp_from",
    )
    cap_feed_max_age_hours: float = Field(
        72.0, gt=0, description="an alert without <expires> leaves the feeds after this"
    )

    # The notice workflow (service/workflow)
    allow_self_approval: bool = Field(
        False,
        description="one-person municipalities: an author may approve their own actual alert "
        "(every such approval is marked in the audit log and the report)",
    )
    in_process_releaser: bool = Field(
        True,
        description="the web process sends scheduled notices when due and plans sent ones",
    )

    secret_key: str = Field(
        "dev-only-change-me",
        description="keys pseudonyms of deleted recipients and signs cookies; set in production",
    )

    # Delivery engine
    in_process_worker: bool = Field(
        True, description="the web process runs one worker (the embedded SQLite default)"
    )
    # Measured (bench/README.md): 100 in flight and batches of 500 send about four times as fast
    # as 20 and 100; 100 is also Twilio's default allowance of concurrent requests per account.
    worker_batch_size: int = Field(500, ge=1, description="deliveries claimed per round")
    worker_concurrency: int = Field(
        100,
        ge=1,
        description="messages in flight per worker (with N workers, keep N times this within "
        "the provider's allowance of concurrent requests)",
    )
    worker_lease_seconds: float = Field(60.0, gt=0, description="a claim expires after this")
    delivery_deadline_minutes: float = Field(
        600.0,
        gt=0,
        description="temporary errors are retried this long after a delivery is planned (about "
        "as long as an SMS provider keeps a queued message); then it fails and falls back",
    )
    exercise_deadline_minutes: float = Field(
        60.0, gt=0, description="the same for exercise and test notices"
    )
    retry_base_seconds: float = Field(1.0, gt=0, description="first backoff ceiling (full jitter)")
    retry_cap_seconds: float = Field(300.0, gt=0, description="the backoff ceiling grows to this")
    circuit_failures: int = Field(
        10, ge=1, description="temporary failures in a row that open a transport's circuit"
    )
    circuit_open_seconds: float = Field(
        5.0, gt=0, description="an open circuit sends one probe after this, doubling per failure"
    )
    circuit_open_max_seconds: float = Field(
        60.0, gt=0, description="the longest wait between probes of a provider that is down"
    )
    receipt_batch_size: int = Field(1000, ge=1, description="status callbacks applied at once")
    reconcile_after_seconds: float = Field(
        600.0,
        gt=0,
        description="an SMS still `sent` this long after Twilio accepted it (no callback came) "
        "is asked about with Twilio's Message fetch; then again after as long again",
    )
    reconcile_hours: float = Field(
        24.0, gt=0, description="stop asking about a message this long after it was sent"
    )
    reconcile_rate_per_second: float = Field(
        5.0, gt=0, description="per worker, Message fetch requests a second at most"
    )
    database_pool_size: int = Field(10, ge=1, description="pooled connections per process")
    database_max_overflow: int = Field(10, ge=0, description="extra connections under load")
    database_pool_timeout: float = Field(
        10.0, gt=0, description="seconds a request waits for a pooled connection"
    )
    sms_rate_per_second: float = Field(
        100.0, gt=0, description="per worker, SMS segments/s (as providers count their limits)"
    )
    email_rate_per_second: float = Field(20.0, gt=0, description="per worker, messages/s")

    # Accounts: sessions, sign-in limits, password hashing, OIDC (see README "Accounts").
    session_idle_minutes: int = Field(30, ge=1, description="a session unused this long ends")
    session_absolute_hours: int = Field(
        12, ge=1, description="a session ends this long after login"
    )
    session_cookie_secure: str = Field(
        "auto",
        pattern="^(auto|always|never)$",
        description="Secure cookie flag: auto sets it when the request or public_base_url is https",
    )
    login_window_minutes: int = Field(15, ge=1, description="failed sign-ins are counted this long")
    login_max_failures_per_account: int = Field(5, ge=1)
    login_max_failures_per_address: int = Field(20, ge=1)
    password_min_length: int = Field(12, ge=8)
    password_hash_time_cost: int = Field(3, ge=1, description="Argon2id passes (RFC 9106)")
    password_hash_memory_kib: int = Field(65536, ge=8192, description="Argon2id memory, KiB")
    oidc_enabled: bool = Field(False, description="offer sign-in through an OIDC provider")
    oidc_issuer: str = Field(
        "",
        description="issuer URL; discovery at {issuer}/.well-known/openid-configuration "
        "(Entra ID: https://login.microsoftonline.com/<tenant>/v2.0)",
    )
    oidc_client_id: str = ""
    oidc_client_secret: str = ""
    oidc_scopes: str = "openid email profile"
    oidc_provider_name: str = Field("Microsoft Entra ID", description="shown on the sign-in button")
    oidc_auto_provision: bool = Field(
        False, description="create unknown users who sign in through OIDC (with the default role)"
    )
    oidc_default_role: str = Field("viewer", pattern="^(author|approver|admin|viewer)$")
    oidc_timeout_seconds: float = 10.0
    # Exercises and scheduled test broadcasts (service/exercises)
    in_process_scheduler: bool = Field(
        True,
        description="the web process runs the scheduler (the embedded default); in production "
        "run `klarvarsel scheduler` instead (one fires, the others stand by)",
    )
    scheduler_tick_seconds: float = Field(
        1.0, gt=0, le=60, description="how often the scheduler looks for due schedules"
    )
    scheduler_lock_retry_seconds: float = Field(
        5.0, gt=0, le=300, description="how often a standby scheduler tries to take over"
    )
    scheduler_takeover_seconds: float = Field(
        30.0,
        ge=3,
        le=3600,
        description="PostgreSQL drops a vanished scheduler's lock within this (TCP keepalive)",
    )
    schedule_grace_seconds: int = Field(
        3600,
        ge=0,
        le=7 * 24 * 3600,
        description="a firing missed while the service was down still runs if it comes back "
        "within this; later it is recorded as missed",
    )
    report_recent_tests: int = Field(
        4, ge=1, le=50, description="recipients not reached are counted over this many tests"
    )

    # Webhooks (service/webhooks): the background sender, its retries and the SSRF guard.
    in_process_webhook_sender: bool = Field(
        True, description="the web process sends webhooks (else run `klarvarsel webhooks send`)"
    )
    webhook_allow_private_addresses: bool = Field(
        False,
        description="allow webhook URLs on loopback and private networks (tests, an intranet)",
    )
    webhook_secrets_key: str = Field(
        "",
        max_length=100,
        description="base64 of 32 bytes that seals the webhook signing secrets at rest; empty: "
        "a key generated into var/webhook-secrets.key",
    )
    webhook_secrets_previous_keys: str = Field(
        "",
        max_length=1000,
        description="during a key rotation, the earlier keys (base64, comma-separated): secrets "
        "they sealed still open, and `klarvarsel webhooks reseal` seals them under the new key",
    )
    webhook_ca_bundle: Path | None = Field(
        None, description="CA certificates for https receivers (an intranet CA); default: public"
    )
    webhook_timeout_seconds: float = Field(10.0, gt=0, le=60, description="per request")
    webhook_retry_hours: float = Field(
        24.0, gt=0, le=24 * 7, description="retries of one event stop this long after it"
    )
    webhook_retry_base_seconds: float = Field(
        5.0, gt=0, le=3600, description="first retry delay; each next one is 4 times longer"
    )
    webhook_lease_seconds: float = Field(60.0, gt=0, description="a claim expires after this")
    webhook_tick_seconds: float = Field(1.0, gt=0, le=60, description="how often to look")

    smtp_host: str = "localhost"
    smtp_port: int = 587
    smtp_username: str = ""
    smtp_password: str = ""
    smtp_security: str = Field("starttls", pattern="^(none|starttls|ssl)$")
    smtp_from: str = "Västerås stad <kris@vasteras.se>"
    smtp_timeout_seconds: float = 15.0

    @property
    def effective_database_url(self) -> str:
        """The configured database URL, or the SQLite file under var/."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.var_dir / 'klarvarsel.sqlite3'}"

    @property
    def outbox_dir(self) -> Path:
        """Where the outbox transports write messages."""
        return self.var_dir / "outbox"

    @property
    def areas_file(self) -> Path:
        """The municipality's areas (districts, postal codes)."""
        return self.content_dir / "areas.toml"

    @property
    def audiences_dir(self) -> Path:
        """Folder of audience profile TOML files."""
        return self.content_dir / "audiences"

    @property
    def templates_dir(self) -> Path:
        """Folder of scenario folders and shared layouts."""
        return self.content_dir / "message_templates"

    @property
    def locales_dir(self) -> Path:
        """Folder of gettext catalogs and the language registry."""
        return self.content_dir / "locales"


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings (cached; tests clear the cache to change them)."""
    return Settings()
