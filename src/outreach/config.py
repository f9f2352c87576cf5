"""Settings, read once from the environment (and an optional `.env`) at the edge and passed down.

The seed's variable names are kept where they exist (ANTHROPIC_API_KEY, OUTLOOK_*), so an
`.env` from the original system works unchanged; its VITE_SUPABASE_* entries are ignored.
"""

from __future__ import annotations

import os
import secrets
from enum import StrEnum
from pathlib import Path

from pydantic import AliasChoices, Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from outreach.errors import ValidationFailed

SECRET_KEY_FILE = "secret_key"  # noqa: S105 (a file name, not a secret)
MIN_SECRET_KEY_LENGTH = 32
MIN_SECRET_KEY_DISTINCT_CHARACTERS = 12
DEFAULT_DRAFT_MODEL = "claude-sonnet-5-5"
GRAPH_URL = "https://graph.microsoft.com/v1.0"
AUTHORITY_URL = "https://login.microsoftonline.com"
"""Microsoft's global cloud; national clouds have their own (OUTREACH_GRAPH_URL, ...)."""
GOOGLE_AUTHORIZE_URL = "https://accounts.google.com/o/oauth2/v2/auth"
GOOGLE_TOKEN_URL = "https://oauth2.googleapis.com/token"  # noqa: S105 (a URL, not a secret)


class Environment(StrEnum):
    development = "development"
    production = "production"


class LaunchDnsCheck(StrEnum):
    warn = "warn"
    """Launch, and say which sender's domain fails and why."""
    refuse = "refuse"
    """Refuse to launch until the domain passes (or the sender is removed from the campaign)."""
    off = "off"


def _env(name: str) -> AliasChoices:
    return AliasChoices(name)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env", extra="ignore", frozen=True, populate_by_name=True
    )

    environment: Environment = Field(Environment.development, validation_alias=_env("OUTREACH_ENV"))
    data_dir: Path = Field(Path("data"), validation_alias=_env("OUTREACH_DATA_DIR"))
    database_url_setting: str | None = Field(None, validation_alias=_env("DATABASE_URL"))
    secret_key: SecretStr | None = Field(None, validation_alias=_env("OUTREACH_SECRET_KEY"))
    host: str = Field("127.0.0.1", validation_alias=_env("OUTREACH_HOST"))
    port: int = Field(8000, ge=1, le=65535, validation_alias=_env("OUTREACH_PORT"))
    base_url_setting: str | None = Field(None, validation_alias=_env("OUTREACH_BASE_URL"))
    session_days: int = Field(14, ge=1, le=365, validation_alias=_env("OUTREACH_SESSION_DAYS"))
    worker_interval_seconds: float = Field(
        30.0, gt=0, validation_alias=_env("OUTREACH_WORKER_INTERVAL_SECONDS")
    )
    backups_enabled: bool = Field(True, validation_alias=_env("OUTREACH_BACKUPS"))
    """Whether the worker takes backups on the seed's schedule (`outreach backup run` works
    either way)."""
    backup_dir_setting: Path | None = Field(None, validation_alias=_env("OUTREACH_BACKUP_DIR"))
    anthropic_api_key: SecretStr | None = Field(None, validation_alias=_env("ANTHROPIC_API_KEY"))
    """With a key, drafts are written by Claude; without one, by filling in the template."""
    anthropic_base_url: str | None = Field(None, validation_alias=_env("ANTHROPIC_BASE_URL"))
    """Another address for the Anthropic API (a proxy, a gateway, a test server)."""
    draft_model: str = Field(
        DEFAULT_DRAFT_MODEL, min_length=1, validation_alias=_env("OUTREACH_DRAFT_MODEL")
    )
    """The Claude model drafts are written with; recorded on every draft."""
    category_model: str = Field(
        "claude-haiku-4-5", min_length=1, validation_alias=_env("OUTREACH_CATEGORY_MODEL")
    )
    """The Claude model replies are categorized with (a short task: a small model does it);
    recorded on every categorization."""
    category_concurrency: int = Field(
        4, ge=1, le=32, validation_alias=_env("OUTREACH_CATEGORY_CONCURRENCY")
    )
    """How many replies one worker asks Claude about at once: a pass of one call at a time
    would hold the sending behind it for a second per reply."""
    draft_timeout_seconds: float = Field(
        60.0, gt=0, le=600, validation_alias=_env("OUTREACH_DRAFT_TIMEOUT_SECONDS")
    )
    """How long one draft's API call may wait for each step of its answer."""
    draft_concurrency: int = Field(
        8, ge=1, le=64, validation_alias=_env("OUTREACH_DRAFT_CONCURRENCY")
    )
    """How many drafts one worker writes at once (calls to the model in flight)."""
    draft_deadline_seconds: float = Field(
        180.0, gt=0, le=3600, validation_alias=_env("OUTREACH_DRAFT_DEADLINE_SECONDS")
    )
    """The longest one draft's call may take in all; past it the draft is tried again later."""
    outlook_client_id: str | None = Field(None, validation_alias=_env("OUTLOOK_CLIENT_ID"))
    outlook_client_secret: SecretStr | None = Field(
        None, validation_alias=_env("OUTLOOK_CLIENT_SECRET")
    )
    outlook_tenant_id: str | None = Field(None, validation_alias=_env("OUTLOOK_TENANT_ID"))
    graph_url: str = Field(GRAPH_URL, validation_alias=_env("OUTREACH_GRAPH_URL"))
    """Microsoft Graph: another for a national cloud (https://graph.microsoft.us/v1.0)."""
    graph_authority_url: str = Field(
        AUTHORITY_URL, validation_alias=_env("OUTREACH_GRAPH_AUTHORITY_URL")
    )
    """Microsoft's sign-in: another for a national cloud (https://login.microsoftonline.us)."""
    google_client_id: str | None = Field(None, validation_alias=_env("GOOGLE_CLIENT_ID"))
    """The Google Cloud OAuth client Gmail and Workspace mailboxes sign in through, to send
    over SMTP and read over IMAP (README: registering the app)."""
    google_client_secret: SecretStr | None = Field(
        None, validation_alias=_env("GOOGLE_CLIENT_SECRET")
    )
    google_authorize_url: str = Field(
        GOOGLE_AUTHORIZE_URL, validation_alias=_env("OUTREACH_GOOGLE_AUTHORIZE_URL")
    )
    google_token_url: str = Field(
        GOOGLE_TOKEN_URL, validation_alias=_env("OUTREACH_GOOGLE_TOKEN_URL")
    )
    """Google's sign-in endpoints: changed only for tests."""
    inbox_poll_seconds: float = Field(
        120.0, ge=0, validation_alias=_env("OUTREACH_INBOX_POLL_SECONDS")
    )
    """The least time between two reads of one sender account's mailbox."""
    inbox_lookback_days: int = Field(
        14, ge=0, le=365, validation_alias=_env("OUTREACH_INBOX_LOOKBACK_DAYS")
    )
    """How far back the first read of a newly connected mailbox looks for replies to our
    emails (0: only what arrives from then on)."""
    inbox_postpone_on_auto_reply: bool = Field(
        True, validation_alias=_env("OUTREACH_INBOX_POSTPONE_ON_AUTO_REPLY")
    )
    """An out-of-office that says when its author is back holds the next step until then."""
    inbox_attachment_max_bytes: int = Field(
        5_000_000, ge=0, validation_alias=_env("OUTREACH_INBOX_ATTACHMENT_MAX_BYTES")
    )
    """A reply's attachment up to this size is kept in the database to be downloaded; a larger
    one is listed by name, type and size only (0: list every attachment, keep none)."""
    events_keep_days: int = Field(
        90, ge=1, le=3650, validation_alias=_env("OUTREACH_EVENTS_KEEP_DAYS")
    )
    """Events (the feed, webhook deliveries and their attempts) older than this many days are
    deleted once every delivery of theirs is finished; a feed cursor from before them is a 410."""
    recent_email_days: int = Field(
        30, ge=0, le=3650, validation_alias=_env("OUTREACH_RECENT_EMAIL_DAYS")
    )
    """A one-off first email to someone we emailed within this many days (or whom a running
    campaign writes to) waits for a person's confirmation; draft batches skip them."""
    dns_server: str | None = Field(
        None,
        pattern=r"^[^:\s]+(:\d{1,5})?$",
        validation_alias=_env("OUTREACH_DNS_SERVER"),
    )
    """The DNS server sender domains are checked against ("10.0.0.53" or "127.0.0.1:5353");
    unset, the system's."""
    recipient_providers: bool = Field(True, validation_alias=_env("OUTREACH_RECIPIENT_PROVIDERS"))
    """Whether the worker resolves recipient domains' MX records (through OUTREACH_DNS_SERVER
    or the system's resolver) to count replies and bounces by provider (Google, Microsoft)."""
    launch_dns_check: LaunchDnsCheck = Field(
        LaunchDnsCheck.warn, validation_alias=_env("OUTREACH_LAUNCH_DNS_CHECK")
    )
    """What a campaign's launch does when one of its senders fails the DNS check."""
    bounce_pause_rate: float = Field(
        0.05, gt=0, le=1, validation_alias=_env("OUTREACH_BOUNCE_PAUSE_RATE")
    )
    """A sender account whose hard bounces over 7 days pass this share of its sends is paused."""
    bounce_pause_min_sends: int = Field(
        50, ge=1, validation_alias=_env("OUTREACH_BOUNCE_PAUSE_MIN_SENDS")
    )
    """Sends in 7 days before an account's bounce rate can pause it."""

    @property
    def database_url(self) -> str:
        if self.database_url_setting:
            return self.database_url_setting
        return f"sqlite:///{(self.data_dir / 'outreach.db').resolve()}"

    @property
    def backup_dir(self) -> Path:
        """Where backups go: best on another disk than the database's."""
        return self.backup_dir_setting or self.data_dir / "backups"

    @property
    def base_url(self) -> str:
        return (self.base_url_setting or f"http://{self.host}:{self.port}").rstrip("/")

    @property
    def dns_server_address(self) -> tuple[str, int] | None:
        if self.dns_server is None:
            return None
        host, _, port = self.dns_server.partition(":")
        return host, int(port or 53)

    @property
    def is_development(self) -> bool:
        return self.environment is Environment.development

    def secret_key_value(self) -> str:
        if self.secret_key is None:
            raise ValidationFailed("no secret key: load settings with load_settings()")
        return self.secret_key.get_secret_value()


def secret_key_weakness(key: str) -> str | None:
    """Why a secret key is too weak to sign sessions and encrypt secrets, or None if it will do."""
    if len(key) < MIN_SECRET_KEY_LENGTH:
        return f"it is {len(key)} characters long; use at least {MIN_SECRET_KEY_LENGTH}"
    if len(set(key)) < MIN_SECRET_KEY_DISTINCT_CHARACTERS:
        return "it repeats too few characters to be random"
    if any(word in key.lower() for word in ("changeme", "change-me", "secret", "password")):
        return "it looks like a placeholder"
    return None


def _stored_or_new_secret_key(data_dir: Path) -> str:
    path = data_dir / SECRET_KEY_FILE
    if path.exists():
        return path.read_text().strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(key + "\n")
    return key


def load_settings(**overrides: object) -> Settings:
    """Settings from the environment, with a secret key that is safe for the environment.

    Without OUTREACH_SECRET_KEY a key is generated once into the data folder and reused.
    Outside development a weak key refuses to start rather than protect sessions badly.
    """
    try:
        settings = Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in problem['loc'])}: {problem['msg']}"
            for problem in error.errors()
        )
        raise ValidationFailed(f"Invalid settings: {problems}") from error
    if settings.secret_key is None:
        key = _stored_or_new_secret_key(settings.data_dir)
        settings = settings.model_copy(update={"secret_key": SecretStr(key)})
    weakness = secret_key_weakness(settings.secret_key_value())
    if weakness and not settings.is_development:
        raise ValidationFailed(
            f"OUTREACH_SECRET_KEY is too weak for {settings.environment}: {weakness}. "
            "Unset it to have one generated into the data folder, or set a long random value."
        )
    return settings
