"""Sender accounts (add, test, pause, where replies are read, health) and the inbox: what the
mailboxes received about our emails, and reading them now."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from outreach.analytics import senders as sender_weeks
from outreach.delivery.allowance import limits_shown
from outreach.errors import UpstreamUnavailable
from outreach.inbox import queries as inbox_queries
from outreach.inbox.polling import poll_summary
from outreach.providers.errors import ProviderError
from outreach.senders import health, mailboxes
from outreach.senders import queries as sender_queries
from outreach.senders import service as senders
from outreach.senders.models import SenderAccount
from outreach.senders.states import SenderState
from outreach.web.api.common_schemas import After, ErrorBody, Limit, Page
from outreach.web.api.senders_schemas import (
    CheckOut,
    DnsCheckOut,
    DnsFindingOut,
    ImapIn,
    ImapOut,
    InboxMessageOut,
    LimitsIn,
    MailboxPollOut,
    PartCheckOut,
    PollOut,
    RampIn,
    SenderIn,
    SenderOut,
    SenderPatchIn,
    SenderWeekOut,
    SignatureIn,
)
from outreach.web.deps import ApiUser, DbSession, container_of, finish_transaction

router = APIRouter()
senders_router = APIRouter(prefix="/senders", tags=["senders"])
inbox_router = APIRouter(prefix="/inbox", tags=["inbox"])


def sender_out(
    account: SenderAccount,
    week: health.SenderHealth | None = None,
    limits: list[str] | None = None,
) -> SenderOut:
    imap = (account.settings or {}).get("imap") if account.kind == "smtp" else None
    standing = senders.standing_of(account)
    ramp = senders.ramp_of(account)
    return SenderOut.model_validate(account).model_copy(
        update={
            "tenant_name": account.tenant,
            "ramp": RampIn.model_validate(ramp) if ramp else None,
            "limits": limits or [],
            "shown_state": standing.label,
            "signs_in_as": senders.signs_in_as(account),
            "signs_in_with": senders.oauth_provider_of(account),
            "max_connections": senders.connections_of(account),
            "status": standing.describe(),
            "imap": ImapOut.model_validate(imap) if imap else None,
            "week": SenderWeekOut(
                sent=week.sent,
                hard_bounces=week.hard_bounces,
                bounce_rate=week.bounce_rate,
                replies=week.replies,
            )
            if week
            else None,
        }
    )


@senders_router.get("")
def list_senders(
    request: Request, session: DbSession, user: ApiUser, after: After = None, limit: Limit = 100
) -> Page[SenderOut]:
    """Sender accounts by address, each with its state, its last 7 days, where its replies are
    read and its limits."""
    now = container_of(request).clock.now()
    week = sender_weeks.of_senders(session, now)
    found, cursor = sender_queries.senders_page(session, after, limit)
    limits = limits_shown(session, found, now)
    return Page(
        items=[sender_out(account, week[account.id], limits[account.id]) for account in found],
        next=cursor,
    )


@senders_router.post("", status_code=201)
def add_sender(request: Request, session: DbSession, user: ApiUser, body: SenderIn) -> SenderOut:
    """Add an outbox, SMTP or Microsoft 365 (Graph) account; secrets are stored sealed. A Graph
    account without its own tenant, app or secret uses OUTLOOK_TENANT_ID, OUTLOOK_CLIENT_ID and
    OUTLOOK_CLIENT_SECRET."""
    container = container_of(request)
    settings = container.settings
    smtp = graph = None
    password = body.password
    if body.kind == "smtp":
        username = senders.smtp_username(body.email, body.username, body.password, body.sign_in)
        smtp = senders.SmtpSettings(body.host or "", body.port, body.security, username)
    if body.kind == "graph":
        graph = senders.GraphAccount(
            body.tenant_id or settings.outlook_tenant_id or "",
            body.client_id or settings.outlook_client_id or "",
            one_click_unsubscribe=body.one_click_unsubscribe,
        )
        fallback = settings.outlook_client_secret
        password = password or (fallback.get_secret_value() if fallback else None)
    account = senders.add(
        session,
        kind=senders.SenderKind(body.kind),
        email=body.email,
        display_name=body.display_name,
        secret_key=settings.secret_key_value(),
        smtp=smtp,
        graph=graph,
        password=password,
        daily_cap=body.daily_cap,
        max_connections=body.max_connections,
        limits=limits_in(body.limits, senders.SenderKind(body.kind)),
        now=container.clock.now(),
    )
    return _with_limits(session, account, container.clock.now())


def limits_in(body: LimitsIn, kind: senders.SenderKind | None = None) -> senders.Limits:
    """The limits asked for; for a new account (`kind`), an outbox's without ramp or gap."""
    ramp = (
        senders.ramp_from(body.ramp.start, body.ramp.step, body.ramp.target) if body.ramp else None
    )
    if kind is not None:
        return senders.new_account_limits(
            kind,
            ramp=ramp,
            min_gap_seconds=body.min_gap_seconds,
            tenant=body.tenant_name,
            tenant_licences=body.tenant_licences,
        )
    return senders.Limits(body.tenant_name, body.tenant_licences, ramp, body.min_gap_seconds)


def _with_limits(session: Session, account: SenderAccount, now: datetime) -> SenderOut:
    return sender_out(account, limits=limits_shown(session, [account], now)[account.id])


@senders_router.put("/{sender_id}/limits")
def set_limits(
    request: Request, session: DbSession, user: ApiUser, sender_id: uuid.UUID, body: LimitsIn
) -> SenderOut:
    """Replace what the account shares and how it paces itself: its Microsoft 365 tenant (and
    the tenant's licences, for every account of the tenant), its ramp, its gap between sends."""
    account = senders.set_limits(session, sender_id, limits_in(body))
    return _with_limits(session, account, container_of(request).clock.now())


@senders_router.post("/{sender_id}/test")
def test_sender(
    request: Request, session: DbSession, user: ApiUser, sender_id: uuid.UUID
) -> CheckOut:
    """Really connect and sign in, to send (EHLO, STARTTLS, AUTH; a Graph token and the
    mailbox) and to read replies (IMAP login and the folder; Graph's Inbox); says what worked
    or what failed, in plain words. The account's state follows what sending found: ok, failing
    (its server could not be reached: tried again by itself) or needs you (paused stays paused)."""
    account = senders.get(session, sender_id)
    finish_transaction(session)
    container = container_of(request)
    checks = container.check_account(account)
    standing = senders.record_test(session, sender_id, checks[0].error, container.clock.now())
    return CheckOut(
        state=standing.label,
        status=standing.describe(),
        ok=all(check.ok for check in checks),
        message="; ".join(f"{check.part}: {check.text}" for check in checks),
        checks=[PartCheckOut(part=c.part, ok=c.ok, message=c.text) for c in checks],
    )


@senders_router.post(
    "/{sender_id}/dns-check",
    responses={503: {"model": ErrorBody, "description": "DNS did not answer"}},
)
def check_dns(
    request: Request,
    session: DbSession,
    user: ApiUser,
    sender_id: uuid.UUID,
    selector: Annotated[str | None, Query(max_length=63, pattern=r"^[A-Za-z0-9._-]+$")] = None,
    fresh: bool = False,
) -> DnsCheckOut:
    """Check the account's domain in DNS: MX, SPF (covering the provider, ~all or -all, within
    10 lookups), DKIM (the selector given, else the provider's usual ones), DMARC and its
    alignment; a server of one's own also for reverse DNS and STARTTLS. The day's result is
    answered again unless `fresh`."""
    senders.get(session, sender_id)
    finish_transaction(session)
    try:
        check = container_of(request).check_sender_domain(sender_id, selector, fresh=fresh)
    except ProviderError as error:
        raise UpstreamUnavailable(error.reason) from error
    return DnsCheckOut(
        passed=check.passed,
        checked_at=check.checked_at,
        selector=check.selector,
        findings=[
            DnsFindingOut(topic=f.topic, verdict=f.verdict.value, message=f.text)
            for f in check.findings
        ],
    )


@senders_router.put("/{sender_id}/imap")
def set_imap(
    request: Request, session: DbSession, user: ApiUser, sender_id: uuid.UUID, body: ImapIn
) -> SenderOut:
    """Read an SMTP account's replies from this IMAP mailbox (test it with .../test)."""
    mailbox = mailboxes.ImapMailbox(body.host, body.port, body.security, body.username, body.folder)
    key = container_of(request).settings.secret_key_value()
    account = mailboxes.set_imap(
        session, sender_id, mailbox, secret_key=key, password=body.password
    )
    return sender_out(account)


@senders_router.delete("/{sender_id}/imap", status_code=204)
def remove_imap(
    request: Request, session: DbSession, user: ApiUser, sender_id: uuid.UUID
) -> Response:
    """Stop reading an SMTP account's replies."""
    mailboxes.clear_imap(
        session, sender_id, secret_key=container_of(request).settings.secret_key_value()
    )
    return Response(status_code=204)


PAUSED = "paused by a person"


@senders_router.post("/{sender_id}/pause")
def pause_sender(
    request: Request, session: DbSession, user: ApiUser, sender_id: uuid.UUID
) -> SenderOut:
    """Stop sending from an account: its threads wait."""
    now = container_of(request).clock.now()
    return sender_out(senders.set_state(session, sender_id, SenderState.paused, PAUSED, now))


@senders_router.post("/{sender_id}/resume")
def resume_sender(
    request: Request, session: DbSession, user: ApiUser, sender_id: uuid.UUID
) -> SenderOut:
    """Send from the account again."""
    now = container_of(request).clock.now()
    return sender_out(senders.set_state(session, sender_id, SenderState.ok, None, now))


@senders_router.patch("/{sender_id}")
def edit_sender(
    session: DbSession, user: ApiUser, sender_id: uuid.UUID, body: SenderPatchIn
) -> SenderOut:
    """Change an account's name, daily cap, signature or connections at once; the fields left
    out stay as they are."""
    changes = senders.SenderChanges(**body.model_dump())
    return sender_out(senders.edit(session, sender_id, changes, body.model_fields_set))


@senders_router.put("/{sender_id}/signature")
def set_signature(
    session: DbSession, user: ApiUser, sender_id: uuid.UUID, body: SignatureIn
) -> SenderOut:
    """The text under every answer sent from the account (answers in conversations)."""
    return sender_out(senders.set_signature(session, sender_id, body.signature))


@inbox_router.get("")
def list_inbox(
    session: DbSession,
    user: ApiUser,
    campaign_id: uuid.UUID | None = None,
    kind: Annotated[
        list[Literal["human_reply", "unsubscribe_request", "auto_reply", "bounce"]], Query()
    ] = [],  # noqa: B006 (FastAPI copies query defaults)
    after: After = None,
    limit: Limit = 100,
) -> Page[InboxMessageOut]:
    """Replies, requests to be removed, auto-replies and bounces matched to our emails, newest
    first, with what was done about each."""
    rows, cursor = inbox_queries.inbox_messages_page(session, campaign_id, kind, after, limit)
    items = [
        InboxMessageOut(
            id=row.message.id,
            kind=row.message.kind,
            received_at=row.message.received_at,
            sender_account_id=row.message.sender_account_id,
            contact_id=row.message.contact_id,
            contact_email=row.contact_email,
            campaign_id=row.message.campaign_id,
            campaign_name=row.campaign_name,
            subject=row.message.subject,
            snippet=row.message.snippet,
            returns_on=row.message.returns_on,
            matched_by=row.message.matched_by,
            reason=row.message.reason,
        )
        for row in rows
    ]
    return Page(items=items, next=cursor)


@inbox_router.post("/poll")
def poll_inbox(
    request: Request,
    session: DbSession,
    user: ApiUser,
    sender: Annotated[str | None, Query(max_length=320, description="Only this account")] = None,
) -> PollOut:
    """Read the mailboxes now, whenever they were last read, and say what was found."""
    finish_transaction(session)
    container = container_of(request)
    report = container.poll_mailboxes(sender, force=True)
    return PollOut(
        summary=poll_summary(report),
        mailboxes=[
            MailboxPollOut(
                email=each.email,
                read=each.report.read,
                acted=dict(each.report.acted),
                error=each.error,
                skipped=each.skipped,
            )
            for each in report.mailboxes
        ],
    )


for part in (senders_router, inbox_router):
    router.include_router(part)
