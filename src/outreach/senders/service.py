"""Sender accounts: the mailboxes campaigns send from, their secrets sealed at rest."""

from __future__ import annotations

import uuid
from collections.abc import Collection
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Final
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from outreach.db import get_or_not_found
from outreach.errors import Conflict, NotFound, ValidationFailed
from outreach.events import recording as events
from outreach.events.kinds import EventKind
from outreach.providers.errors import AccountError, ProviderError
from outreach.providers.limits import (
    GOOGLE_DEFAULT_DAILY_CAP,
    GRAPH_DEFAULT_LIMITS,
    SendingLimits,
    tenant_recipient_limit,
)
from outreach.sealing import seal, unseal
from outreach.senders import queries as sender_queries
from outreach.senders.mail_providers import Provider, provider_of
from outreach.senders.models import SenderAccount
from outreach.senders.ramp import DEFAULT_GAP_SECONDS, MAX_GAP_SECONDS, Ramp
from outreach.senders.standing import Standing, after_failure, after_success, jitter_draw
from outreach.senders.states import SENDERS, SenderState
from outreach.states import transition, transition_many
from outreach.words import UTC_ZONE, time_in_zone

DEFAULT_CONNECTIONS = 4
"""Connections a worker opens to one account at once; providers throttle more than a few."""
MAX_CONNECTIONS = 20
MAX_DAILY_CAP = 1_000_000
"""The API's bound too: more than any mailbox provider allows in a day."""


MAX_LICENCES = 1_000_000
TENANT_HOLD = timedelta(hours=24)
"""How long a tenant's refusal (5.7.233) holds its accounts: Exchange counts the tenant's
recipients over a rolling 24 hours, some sent by people rather than by us, so only a whole
rolling day after the refusal is sure to have room."""


@dataclass(frozen=True)
class Limits:
    """What an account shares and how it paces itself, beyond its daily cap: the Microsoft 365
    tenant whose external recipient limit it shares (None: none) and the tenant's licences, its
    ramp (None: none) and its minimum gap between sends."""

    tenant: str | None = None
    tenant_licences: int = 1
    ramp: Ramp | None = None
    min_gap_seconds: int = 0

    def checked(self) -> Limits:
        tenant = (self.tenant or "").strip().lower().rstrip(".") or None
        if tenant is not None and (" " in tenant or len(tenant) > 253):
            raise ValidationFailed(
                "A tenant is named by one word, such as its domain (contoso.com).", field="tenant"
            )
        if not 1 <= self.tenant_licences <= MAX_LICENCES:
            raise ValidationFailed(
                f"A tenant has between 1 and {MAX_LICENCES:,} licences.", field="tenant_licences"
            )
        if not 0 <= self.min_gap_seconds <= MAX_GAP_SECONDS:
            raise ValidationFailed(
                f"The gap between sends is between 0 and {MAX_GAP_SECONDS:,} seconds.",
                field="min_gap_seconds",
            )
        return replace(self, tenant=tenant)


def ramp_from(start: int, step: int, target: int) -> Ramp:
    """A ramp from a person's figures, refused in words when they do not make one."""
    if not 1 <= start <= target <= MAX_DAILY_CAP or not 1 <= step <= MAX_DAILY_CAP:
        raise ValidationFailed(
            "A ramp starts at 1 email a day or more, grows by 1 or more a day, and its target "
            "is at least where it starts.",
            field="ramp_start",
        )
    return Ramp(start, step, target)


def ramp_of(account: SenderAccount) -> Ramp | None:
    if account.ramp_start is None or account.ramp_step is None or account.ramp_target is None:
        return None
    return Ramp(account.ramp_start, account.ramp_step, account.ramp_target)


def limits_of(account: SenderAccount) -> Limits:
    return Limits(
        account.tenant, account.tenant_licences, ramp_of(account), account.min_gap_seconds
    )


def tenant_limit_of(account: SenderAccount) -> int | None:
    """External recipients the account's tenant may send to in 24 hours; None without one."""
    return tenant_recipient_limit(account.tenant_licences) if account.tenant else None


def held(account: SenderAccount, now: datetime) -> bool:
    """Whether the account's tenant refused more and the rolling day has not freed room yet."""
    return account.held_until is not None and account.held_until > now


def hold_words(account: SenderAccount, zone: ZoneInfo = UTC_ZONE) -> str:
    """Why a held account waits, as a person reads it, with the time in `zone`."""
    assert account.held_until is not None
    whose = "its Microsoft 365 tenant" + (f" {account.tenant}" if account.tenant else "")
    until = time_in_zone(account.held_until, zone, "%a %d %b %H:%M")
    return (
        f"held until {until}: {whose} has sent to as many "
        "external recipients as Exchange Online allows in 24 hours; its emails wait, nobody "
        "needs to act"
    )


def connections_of(account: SenderAccount) -> int:
    return int((account.settings or {}).get("max_connections", DEFAULT_CONNECTIONS))


def per_minute_of(account: SenderAccount) -> int:
    """Sends a minute a worker allows a Microsoft 365 account, through Graph or over SMTP
    (Microsoft refuses more than 30)."""
    return int((account.settings or {}).get("per_minute", GRAPH_DEFAULT_LIMITS.per_minute))


PROVIDER_LIMITS: dict[Provider, SendingLimits] = {Provider.microsoft: GRAPH_DEFAULT_LIMITS}


class SenderKind(StrEnum):
    outbox = "outbox"
    smtp = "smtp"
    graph = "graph"


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int = 587
    security: str = "starttls"
    username: str | None = None

    def checked(self) -> dict[str, Any]:
        if not self.host.strip():
            raise ValidationFailed("An SMTP account needs the server's host name.", field="host")
        if not 0 < self.port < 65536:
            raise ValidationFailed("The SMTP port is between 1 and 65535.", field="port")
        if self.security not in ("starttls", "tls", "none"):
            raise ValidationFailed("Security is starttls, tls or none.", field="security")
        return {
            "host": self.host.strip(),
            "port": self.port,
            "security": self.security,
            "username": self.username,
        }


NO_SIGN_IN = "No sign-in: for a local relay that accepts mail without AUTH"


def smtp_username(
    email: str, username: str | None, password: str | None, sign_in: bool | None
) -> str | None:
    """Who an SMTP account signs in as (by default its address), or None for a relay it sends
    through without signing in. `sign_in` None: it signs in when given a password."""
    username = (username or "").strip() or None
    if sign_in is False:
        if username or password:
            raise ValidationFailed(
                "An account without sign-in takes no username or password.", field="username"
            )
        return None
    if sign_in and not password:
        raise ValidationFailed(
            "Signing in needs the password; a local relay that accepts mail without AUTH "
            "needs no sign-in.",
            field="password",
        )
    return username or (email.strip() if password else None)


def signs_in_as(account: SenderAccount) -> str | None:
    """The SMTP username the account signs in with; None when it does not sign in."""
    if account.kind != SenderKind.smtp.value:
        return None
    return (account.settings or {}).get("username") or None


@dataclass(frozen=True)
class GraphAccount:
    """A Microsoft 365 mailbox reached through the Azure app registered in its tenant (the
    original system's OUTLOOK_TENANT_ID and OUTLOOK_CLIENT_ID); the mailbox is the account's
    address. The URLs change only for national clouds (and tests)."""

    tenant_id: str
    client_id: str
    one_click_unsubscribe: bool = True
    graph_url: str | None = None
    authority_url: str | None = None
    delegated: bool = False
    """Signed in by the mailbox's owner (providers/graph/delegated.py), not as the app."""

    def checked(self) -> dict[str, Any]:
        if not self.tenant_id.strip():
            raise ValidationFailed("A Graph account needs the app's tenant id.", field="tenant_id")
        if not self.client_id.strip():
            raise ValidationFailed("A Graph account needs the app's client id.", field="client_id")
        urls = {"graph_url": self.graph_url, "authority_url": self.authority_url}
        for name, url in urls.items():
            if url is not None and not url.startswith("https://"):
                raise ValidationFailed(f"The {name.replace('_', ' ')} must be https.", field=name)
        return {
            "tenant_id": self.tenant_id.strip(),
            "client_id": self.client_id.strip(),
            "one_click_unsubscribe": self.one_click_unsubscribe,
            **{name: url for name, url in urls.items() if url},
            **({"auth": "delegated"} if self.delegated else {}),
        }


def get(session: Session, sender_id: uuid.UUID) -> SenderAccount:
    return get_or_not_found(session, SenderAccount, sender_id, "sender account")


def by_email(session: Session, email: str) -> SenderAccount:
    found = sender_queries.sender_by_email(session, email)
    if found is None:
        raise NotFound(f"There is no sender account {email}.", email=email)
    return found


def add(
    session: Session,
    *,
    kind: SenderKind,
    email: str,
    display_name: str | None,
    secret_key: str,
    smtp: SmtpSettings | None = None,
    graph: GraphAccount | None = None,
    password: str | None = None,
    token_cache: str | None = None,
    daily_cap: int | None = None,
    max_connections: int | None = None,
    limits: Limits | None = None,
    now: datetime,
) -> SenderAccount:
    """Adds a sender account. `password` is the SMTP password or the Graph app's client secret,
    and `token_cache` a person's Graph sign-in, both sealed at rest. A Graph account gets caps
    under Microsoft's unless given its own, and so does a Microsoft 365 mailbox over SMTP
    (with Microsoft's per-minute limit too); a Google one gets Google's daily limit.

    `limits`: None gives no ramp and no gap (what tests and scripts want); the page, the API
    and the CLI give new accounts a ramp and a gap (new_account_limits). A Microsoft 365
    mailbox named no tenant gets its address's domain as one (editable: set_limits). An account
    joining a tenant with the default one licence takes the tenant's count, and its hold."""
    address = email.strip()
    if "@" not in address or " " in address:
        raise ValidationFailed(f"{email!r} is not an email address.", field="email")
    if sender_queries.sender_by_email(session, address):
        raise Conflict(f"There is already a sender account {address}.", field="email")
    _check_daily_cap(daily_cap)
    provider = provider_of(kind.value, smtp.host if smtp else None)
    provider_limits = PROVIDER_LIMITS.get(provider)
    if provider_limits is not None:
        daily_cap = daily_cap or provider_limits.per_day
        max_connections = max_connections or provider_limits.connections
    elif provider is Provider.google:
        daily_cap = daily_cap or GOOGLE_DEFAULT_DAILY_CAP
    max_connections = max_connections or DEFAULT_CONNECTIONS
    _check_connections(max_connections)
    if kind is SenderKind.smtp and smtp is None:
        raise ValidationFailed("An SMTP account needs its server settings.", field="host")
    if kind is SenderKind.graph and (graph is None or not password):
        raise ValidationFailed(
            "A Graph account needs the app's tenant id, client id and client secret.",
            field="tenant_id" if graph is None else "client_secret",
        )
    if graph is not None and graph.delegated and not token_cache:
        raise ValidationFailed("The mailbox's owner must sign in first.", field="email")
    wanted = (limits or Limits()).checked()
    if wanted.tenant is None and provider is Provider.microsoft:
        wanted = replace(wanted, tenant=address.rsplit("@", 1)[1].lower())
    reached = smtp.checked() if smtp else graph.checked() if graph else {}
    if kind is SenderKind.smtp and provider_limits is not None:
        reached["per_minute"] = provider_limits.per_minute
    sealed = {"password": password} | ({"token_cache": token_cache} if token_cache else {})
    account = SenderAccount(
        email=address,
        display_name=(display_name or "").strip() or None,
        kind=kind.value,
        settings={**reached, "max_connections": max_connections},
        secret=seal(secret_key, sealed) if password else None,
        daily_cap=daily_cap,
        state=SenderState.ok.value,
        created_at=now,
    )
    session.add(account)
    session.flush()
    _apply_limits(session, account, wanted, joining=wanted.tenant_licences == 1)
    return account


DEFAULT_RAMP = Ramp()


def new_account_limits(
    kind: SenderKind,
    *,
    ramp: Ramp | None = DEFAULT_RAMP,
    min_gap_seconds: int = DEFAULT_GAP_SECONDS,
    tenant: str | None = None,
    tenant_licences: int = 1,
) -> Limits:
    """What the page, the API and the CLI give a new account unless told otherwise: a ramp
    from 10 emails a day, 2 more each sending day, up to 30, and 60 seconds (and up to 30 more)
    between sends. Not an outbox: it sends nothing out, so has no reputation to build."""
    if kind is SenderKind.outbox:
        return Limits(tenant, tenant_licences)
    return Limits(tenant, tenant_licences, ramp, min_gap_seconds)


def set_limits(session: Session, sender_id: uuid.UUID, limits: Limits) -> SenderAccount:
    """Changes the account's tenant, its tenant's licences (for every account of the tenant),
    its ramp and its gap between sends."""
    account = get(session, sender_id)
    _apply_limits(session, account, limits.checked(), joining=False)
    return account


def _apply_limits(
    session: Session, account: SenderAccount, limits: Limits, *, joining: bool
) -> None:
    """Writes `limits` (checked) on the account. `joining`: a tenant's licence count is taken
    from its other accounts rather than given; either way every account of a tenant has one
    count, and an account joining a held tenant is held too (its own hold stays)."""
    ramp = limits.ramp
    account.ramp_start, account.ramp_step, account.ramp_target = (
        (ramp.start, ramp.step, ramp.target) if ramp else (None, None, None)
    )
    account.min_gap_seconds = limits.min_gap_seconds
    account.tenant = limits.tenant
    if limits.tenant is not None:
        known = sender_queries.tenant_standing(session, limits.tenant, account.id)
        licences = known.licences if joining and known.licences else limits.tenant_licences
        account.tenant_licences = licences
        if known.held_until and (not account.held_until or known.held_until > account.held_until):
            account.held_until, account.hold_reason = known.held_until, known.hold_reason
        sender_queries.set_tenant_licences(session, limits.tenant, licences)
    else:
        account.tenant_licences = limits.tenant_licences
    session.flush()


def hold_tenant(
    session: Session, sender_id: uuid.UUID, reason: str, now: datetime
) -> SenderAccount:
    """The account's tenant refused an email for its external recipient limit: every account
    of the tenant (or the account alone, when it names none) waits TENANT_HOLD, saying why.
    Their state does not change: nothing is wrong with them."""
    account = get(session, sender_id)
    sender_queries.hold(session, account.tenant, account.id, now + TENANT_HOLD, reason)
    session.expire(account)
    return account


def _check_daily_cap(daily_cap: int | None) -> None:
    if daily_cap is not None and not 1 <= daily_cap <= MAX_DAILY_CAP:
        raise ValidationFailed(
            f"A daily cap is between 1 and {MAX_DAILY_CAP:,} (leave it empty for none).",
            field="daily_cap",
        )


def _check_connections(max_connections: int) -> None:
    if not 1 <= max_connections <= MAX_CONNECTIONS:
        raise ValidationFailed(
            f"Connections at once are between 1 and {MAX_CONNECTIONS}.", field="max_connections"
        )


MAX_SIGNATURE = 2000
MAX_DISPLAY_NAME = 200


def _signature(text: str | None) -> str | None:
    signature = (text or "").replace("\r\n", "\n").strip()
    if len(signature) > MAX_SIGNATURE:
        raise ValidationFailed(
            f"A signature is at most {MAX_SIGNATURE:,} characters.", field="signature"
        )
    return signature or None


def _display_name(text: str | None) -> str | None:
    name = " ".join((text or "").split())
    if len(name) > MAX_DISPLAY_NAME:
        raise ValidationFailed(
            f"A name is at most {MAX_DISPLAY_NAME} characters.", field="display_name"
        )
    return name or None


def set_signature(session: Session, sender_id: uuid.UUID, text: str | None) -> SenderAccount:
    """The text under every answer sent from the account (None or blank: none)."""
    return edit(session, sender_id, SenderChanges(signature=text), {"signature"})


@dataclass(frozen=True)
class SenderChanges:
    """What a person may change of an account after adding it. None clears the name, the cap
    and the signature (a blank name or signature too)."""

    display_name: str | None = None
    daily_cap: int | None = None
    signature: str | None = None
    max_connections: int = DEFAULT_CONNECTIONS


EDITABLE: Final = frozenset({"display_name", "daily_cap", "signature", "max_connections"})


def edit(
    session: Session, sender_id: uuid.UUID, changes: SenderChanges, given: Collection[str]
) -> SenderAccount:
    """Changes the `given` fields of the account (EDITABLE), all checked before any is
    written: the name recipients see, the daily cap, the signature under answers, and the
    connections a worker opens at once."""
    unknown = set(given) - EDITABLE
    if unknown:
        raise ValidationFailed(f"{', '.join(sorted(unknown))} cannot be changed here.")
    account = get(session, sender_id)
    written: dict[str, Any] = {}
    if "display_name" in given:
        written["display_name"] = _display_name(changes.display_name)
    if "daily_cap" in given:
        _check_daily_cap(changes.daily_cap)
        written["daily_cap"] = changes.daily_cap
    if "signature" in given:
        written["signature"] = _signature(changes.signature)
    if "max_connections" in given:
        _check_connections(changes.max_connections)
        settings = {**(account.settings or {}), "max_connections": changes.max_connections}
        written["settings"] = settings
    for name, value in written.items():
        setattr(account, name, value)
    session.flush()
    return account


def set_state(
    session: Session, sender_id: uuid.UUID, state: SenderState, reason: str | None, now: datetime
) -> SenderAccount:
    """Moves the account to `state`, keeping why (`reason`, None to clear it) and when; refused
    with InvalidTransition where SENDERS does not allow the move."""
    transition(
        session,
        SenderAccount,
        sender_id,
        state,
        SENDERS,
        last_error=reason,
        state_changed_at=now,
        retry_at=None,
        retry_attempts=0,
    )
    account = get(session, sender_id)
    if state is SenderState.paused:
        events.record(
            session,
            EventKind.sender_paused,
            now,
            sender_account_id=sender_id,
            email=account.email,
            reason=reason,
        )
    return account


def standing_of(account: SenderAccount) -> Standing:
    return Standing(
        SenderState(account.state), account.last_error, account.retry_at, account.retry_attempts
    )


def record_failure(
    session: Session, sender_id: uuid.UUID, error: ProviderError, now: datetime
) -> Standing:
    """A send, a test or the worker's retry found the account unable to send: failing, saying
    why, and tried again by itself when its server could not be reached, else waiting for a
    person (standing.py). An account a person paused meanwhile stays paused."""
    account = get(session, sender_id)
    before = standing_of(account)
    passes = not isinstance(error, AccountError)
    draw = jitter_draw(sender_id, before.attempts + 1)
    after = after_failure(before, error.reason, passes=passes, now=now, draw=draw)
    return _stand(session, account, before, after, now)


def record_success(session: Session, sender_id: uuid.UUID, now: datetime) -> Standing:
    """A test or the worker's retry reached the account: a failing account is ok again."""
    account = get(session, sender_id)
    before = standing_of(account)
    return _stand(session, account, before, after_success(before), now)


def record_test(
    session: Session, sender_id: uuid.UUID, error: ProviderError | None, now: datetime
) -> Standing:
    """A person tested the account's sending: its state follows what the test found."""
    if error is None:
        return record_success(session, sender_id, now)
    return record_failure(session, sender_id, error, now)


def heal_sent(session: Session, sender_ids: Collection[uuid.UUID], now: datetime) -> None:
    """These accounts just sent: those failing because their server could not be reached are ok
    again, in one statement that changes nothing while none is failing. One waiting for a person
    keeps waiting: a send on a connection opened earlier says nothing of the password."""
    if sender_ids:
        transition_many(
            session,
            SenderAccount,
            (
                SenderAccount.id.in_(sender_ids),
                SenderAccount.state == SenderState.failing.value,
                SenderAccount.retry_at.is_not(None),
            ),
            SenderState.ok,
            SENDERS,
            **_columns(Standing(SenderState.ok), now),
        )


def _stand(
    session: Session, account: SenderAccount, before: Standing, after: Standing, now: datetime
) -> Standing:
    """Writes `after` unless nothing changed; the move is conditional (transition_many), so an
    account a person paused since it was read stays paused."""
    if after != before:
        moved = transition_many(
            session,
            SenderAccount,
            (SenderAccount.id == account.id, SenderAccount.state == before.state.value),
            after.state,
            SENDERS,
            **_columns(after, now),
        )
        if moved and after.state is SenderState.failing and before.state is not after.state:
            events.record(
                session,
                EventKind.sender_failing,
                now,
                sender_account_id=account.id,
                email=account.email,
                reason=after.reason,
                retry_at=after.retry_at,
            )
        session.expire(account)  # read again as written, by the next try of this transaction
    return after


def _columns(standing: Standing, now: datetime) -> dict[str, Any]:
    return {
        "last_error": standing.reason,
        "retry_at": standing.retry_at,
        "retry_attempts": standing.attempts,
        "state_changed_at": now,
    }


def keep_token_cache(
    session: Session, sender_id: uuid.UUID, token_cache: str, *, secret_key: str
) -> SenderAccount:
    """Seals a Graph mailbox's sign-in anew: refreshed tokens, or its owner signing in again
    (which also clears a failure the old sign-in caused)."""
    return _reseal(session, sender_id, secret_key, token_cache=token_cache)


def keep_refresh_token(
    session: Session, sender_id: uuid.UUID, refresh_token: str, *, secret_key: str
) -> SenderAccount:
    """Seals the refresh token an SMTP account's OAuth sign-in was handed anew (Microsoft
    rotates them)."""
    return _reseal(session, sender_id, secret_key, refresh_token=refresh_token)


def _reseal(
    session: Session, sender_id: uuid.UUID, secret_key: str, **values: str
) -> SenderAccount:
    account = get(session, sender_id)
    secrets = unseal(secret_key, account.secret)
    account.secret = seal(secret_key, {**secrets, **values})
    session.flush()
    return account


OAUTH_PROVIDERS = {"google": "Google", "microsoft": "Microsoft"}


def sign_in_with_oauth(
    session: Session,
    sender_id: uuid.UUID,
    provider: str,
    refresh_token: str,
    *,
    secret_key: str,
    now: datetime,
) -> SenderAccount:
    """The SMTP account (and its IMAP mailbox) signs in with `provider`'s OAuth from now on,
    with this refresh token sealed at rest; an account that waited for a person because its
    sign-in failed sends again (one a person paused stays paused)."""
    account = get(session, sender_id)
    if account.kind != SenderKind.smtp.value:
        raise ValidationFailed(
            f"{account.email} is not an SMTP account: only those sign in with Google or "
            "Microsoft here (a Graph account has its own sign-in).",
            field="provider",
        )
    if provider not in OAUTH_PROVIDERS:
        raise ValidationFailed("The provider is google or microsoft.", field="provider")
    stored = account.settings or {}
    account.settings = {
        **stored,
        "auth": "oauth",
        "oauth_provider": provider,
        "username": stored.get("username") or account.email,
    }
    _reseal(session, sender_id, secret_key, refresh_token=refresh_token)
    if account.state == SenderState.failing.value:
        record_success(session, sender_id, now)
    return account


def oauth_provider_of(account: SenderAccount) -> str | None:
    """ "google" or "microsoft" for an SMTP account that signs in with OAuth, else None."""
    stored = account.settings or {}
    return stored.get("oauth_provider") if stored.get("auth") == "oauth" else None
