"""Request and response bodies of /api/v1 sender accounts, their checks, and inbox polls
(web/api/senders.py)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool

from outreach.web.api.common_schemas import BodyIn


class SenderWeekOut(BaseModel):
    """The account's last 7 days."""

    sent: int
    hard_bounces: int
    bounce_rate: float | None = Field(description="hard_bounces / sent; null before any send")
    replies: int


class ImapOut(BaseModel):
    host: str
    port: int
    security: str
    username: str
    folder: str


class RampIn(BodyIn):
    """A new mailbox's ramp: `start` emails on its first sending day (a UTC day it sent on),
    `step` more on each next one, up to `target`."""

    model_config = ConfigDict(extra="forbid", from_attributes=True)

    start: int = Field(10, ge=1, le=1_000_000)
    step: int = Field(2, ge=1, le=1_000_000)
    target: int = Field(30, ge=1, le=1_000_000)


class LimitsIn(BodyIn):
    """What an account shares and how it paces itself, beyond its daily cap."""

    model_config = ConfigDict(extra="forbid")

    tenant_name: str | None = Field(
        None,
        max_length=253,
        description="The Microsoft 365 tenant whose external recipient limit (500 x "
        "licences^0.7 + 9,500 a rolling day) it shares with the tenant's other accounts; null: "
        "none. A new Microsoft 365 mailbox without one gets its address's domain",
    )
    tenant_licences: int = Field(1, ge=1, le=1_000_000)
    ramp: RampIn | None = Field(
        default_factory=RampIn, description="null: no ramp, its daily cap from the first day"
    )
    min_gap_seconds: int = Field(
        60, ge=0, le=86_400, description="At least this long between sends (up to half again)"
    )


class SenderOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    email: str
    display_name: str | None
    kind: str
    daily_cap: int | None
    state: str
    last_error: str | None
    shown_state: Literal["ok", "failing", "needs you", "paused"] = Field(
        "ok",
        description="failing heals by itself (its server could not be reached; see retry_at); "
        "needs you waits for a person (sign-in refused, grant revoked), then resume",
    )
    status: str = Field("ok", description="The state and why, in one line")
    retry_at: datetime | None = Field(
        None, description="When a failing account is tried again by itself"
    )
    retry_attempts: int = Field(0, description="Tries in a row its server could not be reached")
    signs_in_as: str | None = Field(
        None, description="SMTP: the username it signs in with; null for a relay without sign-in"
    )
    signs_in_with: Literal["google", "microsoft"] | None = Field(
        None,
        description="SMTP: whose OAuth sign-in it sends and reads with (XOAUTH2, no password); "
        "null for a password. Signed in on the Senders page or with `outreach senders sign-in`",
    )
    imap: ImapOut | None = Field(None, description="Where an SMTP account's replies are read")
    signature: str | None = Field(None, description="The text under every answer it sends")
    max_connections: int = Field(4, description="Connections at once from a worker")
    week: SenderWeekOut | None = None
    tenant_name: str | None = Field(
        None, description="The Microsoft 365 tenant whose external recipient limit it shares"
    )
    tenant_licences: int = 1
    held_until: datetime | None = Field(
        None, description="Its tenant's limit refused more (5.7.233): nothing goes till then"
    )
    hold_reason: str | None = None
    ramp: RampIn | None = Field(None, description="null: no ramp")
    min_gap_seconds: int = 0
    limits: list[str] = Field(
        default_factory=list,
        description="Its hold, where its ramp is and the day it reaches its target, its "
        "tenant's rolling day, its gap between sends, a line each",
    )


class SenderPatchIn(BodyIn):
    """Only the fields given change; null clears the name, the cap or the signature."""

    model_config = ConfigDict(extra="forbid")

    display_name: str | None = Field(None, max_length=200, description="The name recipients see")
    daily_cap: int | None = Field(None, ge=1, le=1_000_000, description="null: no cap")
    signature: str | None = Field(
        None, max_length=2000, description="Plain text under every answer; lines kept"
    )
    max_connections: int = Field(
        4, ge=1, le=20, description="Connections at once from a worker (providers throttle more)"
    )


class SignatureIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    signature: str | None = Field(
        max_length=2000, description="The text under every answer; null or empty: none"
    )


class SenderIn(BodyIn):
    model_config = ConfigDict(extra="forbid")

    kind: Literal["outbox", "smtp", "graph"]
    email: str = Field(max_length=320, json_schema_extra={"format": "email"})
    display_name: str | None = Field(None, max_length=200)
    host: str | None = Field(None, max_length=253, description="Needed for an SMTP account")
    port: int = Field(587, ge=1, le=65535)
    security: Literal["starttls", "tls", "none"] = "starttls"
    username: str | None = Field(None, max_length=320, description="SMTP: default the address")
    password: str | None = Field(
        None, max_length=1000, description="The SMTP password, or the Graph app's client secret"
    )
    sign_in: bool | None = Field(
        None,
        description="SMTP: false for a local relay that accepts mail without AUTH (no username "
        "or password); true needs the password; null signs in when a password is given",
    )
    tenant_id: str | None = Field(
        None, max_length=200, description="Graph: default OUTLOOK_TENANT_ID"
    )
    client_id: str | None = Field(
        None, max_length=200, description="Graph: default OUTLOOK_CLIENT_ID"
    )
    one_click_unsubscribe: StrictBool = Field(
        True, description="Graph: send List-Unsubscribe-Post (see the senders page)"
    )
    daily_cap: int | None = Field(None, ge=1, le=1_000_000)
    max_connections: int | None = Field(
        None, ge=1, le=20, description="Connections at once from a worker (4; 3 for Graph)"
    )
    limits: LimitsIn = Field(
        default_factory=LimitsIn,
        description="By default a ramp (10 a day, +2 each sending day, up to 30) and 60 s "
        "between sends; an outbox gets neither",
    )


class ImapIn(BodyIn):
    model_config = ConfigDict(extra="forbid")

    host: str = Field(min_length=1, max_length=253)
    port: int = Field(993, ge=1, le=65535)
    security: Literal["tls", "starttls", "none"] = "tls"
    username: str | None = Field(None, max_length=320, description="Default: the SMTP username")
    password: str | None = Field(None, max_length=1000, description="Default: the SMTP password")
    folder: str = Field("INBOX", min_length=1, max_length=200)


class PartCheckOut(BaseModel):
    part: Literal["sending", "reading replies"]
    ok: bool
    message: str


class CheckOut(BaseModel):
    ok: bool
    message: str
    state: Literal["ok", "failing", "needs you", "paused"] = Field(
        description="The account's state after the test: it follows what sending found"
    )
    status: str = Field(description="The state and why, in one line")
    checks: list[PartCheckOut] = Field(default_factory=list)


class DnsFindingOut(BaseModel):
    topic: Literal["MX", "SPF", "DKIM", "DMARC", "Alignment", "Reverse DNS", "Encryption"]
    verdict: Literal["pass", "warn", "fail"]
    message: str = Field(description="What was found and, unless it passes, what to change")


class DnsCheckOut(BaseModel):
    passed: bool = Field(description="No finding fails")
    checked_at: datetime
    selector: str | None = Field(description="The DKIM selector asked for, if one was given")
    findings: list[DnsFindingOut]


class InboxMessageOut(BaseModel):
    id: uuid.UUID
    kind: Literal["human_reply", "unsubscribe_request", "auto_reply", "bounce"]
    received_at: datetime
    sender_account_id: uuid.UUID
    contact_id: uuid.UUID
    contact_email: str
    campaign_id: uuid.UUID | None
    campaign_name: str | None
    subject: str | None
    snippet: str | None
    returns_on: date | None
    matched_by: str
    reason: str = Field(description="What it was taken for and what was done")


class MailboxPollOut(BaseModel):
    email: str
    read: int
    acted: dict[str, int]
    error: str | None
    skipped: str | None


class PollOut(BaseModel):
    summary: str
    mailboxes: list[MailboxPollOut]
