"""Sender accounts and the sends a person must decide about."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from outreach.delivery import dispatch, health, queries, senders
from outreach.delivery.states import SenderState
from outreach.errors import OutreachError
from outreach.inbox import mailboxes
from outreach.web.deps import DbSession, PageUser, container_of
from outreach.web.rendering import render

router = APIRouter(include_in_schema=False)
Text = Annotated[str, Form(max_length=500)]


def senders_page(request: Request, session: DbSession, **extra: object) -> Response:
    settings = container_of(request).settings
    context = {
        "accounts": queries.all_senders(session),
        "health": health.of_senders(session, container_of(request).clock.now()),
        "outlook_app": bool(settings.outlook_tenant_id and settings.outlook_client_id),
        "bounce_rate": settings.bounce_pause_rate,
        "bounce_min": settings.bounce_pause_min_sends,
        **extra,
    }
    return render(request, "senders.html", context, status_code=422 if "error" in extra else 200)


@router.get("/senders")
def list_senders(request: Request, session: DbSession, user: PageUser) -> Response:
    return senders_page(request, session)


@router.post("/senders")
def add_sender(
    request: Request,
    session: DbSession,
    user: PageUser,
    kind: Text,
    email: Text,
    display_name: Text = "",
    host: Text = "",
    port: Annotated[int, Form(ge=1, le=65535)] = 587,
    security: Text = "starttls",
    username: Text = "",
    password: Annotated[str, Form(max_length=1000)] = "",
    daily_cap: Annotated[int | None, Form(ge=1)] = None,
    tenant_id: Text = "",
    client_id: Text = "",
    client_secret: Annotated[str, Form(max_length=1000)] = "",
    one_click: Annotated[bool, Form()] = False,
) -> Response:
    container = container_of(request)
    settings = container.settings
    try:
        smtp = (
            # Without a password the server lets us relay by our address (no AUTH).
            senders.SmtpSettings(host, port, security, username or (email if password else None))
            if kind == "smtp"
            else None
        )
        graph = (
            senders.GraphAccount(
                tenant_id or settings.outlook_tenant_id or "",
                client_id or settings.outlook_client_id or "",
                one_click_unsubscribe=one_click,
            )
            if kind == "graph"
            else None
        )
        if kind == "graph":
            fallback = settings.outlook_client_secret
            password = client_secret or (fallback.get_secret_value() if fallback else "")
        senders.add(
            session,
            kind=senders.SenderKind(kind),
            email=email,
            display_name=display_name,
            secret_key=container.settings.secret_key_value(),
            smtp=smtp,
            graph=graph,
            password=password or None,
            daily_cap=daily_cap,
            now=container.clock.now(),
        )
    except (OutreachError, ValueError) as error:
        session.rollback()
        message = (
            error.message
            if isinstance(error, OutreachError)
            else f"{kind!r} is not a kind of account."
        )
        return senders_page(request, session, error=message)
    return RedirectResponse("/senders", status_code=303)


@router.post("/senders/{sender_id}/test")
def test_sender(
    request: Request, session: DbSession, user: PageUser, sender_id: uuid.UUID
) -> Response:
    account = senders.get(session, sender_id)
    checks = container_of(request).check_account(account)
    return senders_page(request, session, checked=account, checks=checks)


@router.post("/senders/{sender_id}/imap")
def set_imap(
    request: Request,
    session: DbSession,
    user: PageUser,
    sender_id: uuid.UUID,
    host: Text,
    port: Annotated[int, Form(ge=1, le=65535)] = 993,
    security: Text = "tls",
    username: Text = "",
    folder: Text = "INBOX",
    password: Annotated[str, Form(max_length=1000)] = "",
) -> Response:
    """Reads an SMTP account's replies from this IMAP mailbox, then checks it signs in."""
    key = container_of(request).settings.secret_key_value()
    mailbox = mailboxes.ImapMailbox(host, port, security, username or None, folder)
    try:
        account = mailboxes.set_imap(
            session, sender_id, mailbox, secret_key=key, password=password or None
        )
    except OutreachError as error:
        session.rollback()
        return senders_page(request, session, error=error.message)
    session.commit()
    checks = container_of(request).check_account(account)
    return senders_page(request, session, checked=account, checks=checks)


@router.post("/senders/{sender_id}/imap/remove")
def remove_imap(
    request: Request, session: DbSession, user: PageUser, sender_id: uuid.UUID
) -> Response:
    key = container_of(request).settings.secret_key_value()
    mailboxes.clear_imap(session, sender_id, secret_key=key)
    return RedirectResponse("/senders", status_code=303)


@router.post("/senders/{sender_id}/{state}")
def set_state(
    request: Request, session: DbSession, user: PageUser, sender_id: uuid.UUID, state: SenderState
) -> Response:
    reason = "paused by a person" if state is SenderState.paused else None
    senders.set_state(session, sender_id, state, reason, container_of(request).clock.now())
    return RedirectResponse("/senders", status_code=303)


@router.get("/sends")
def sends_page(request: Request, session: DbSession, user: PageUser) -> Response:
    return render(request, "sends.html", {"unknown": queries.unknown_with_recipients(session)})


@router.post("/sends/{delivery_id}/resend")
def resend(
    request: Request, session: DbSession, user: PageUser, delivery_id: uuid.UUID
) -> Response:
    dispatch.send_again(session, delivery_id, container_of(request).clock.now())
    return RedirectResponse("/sends", status_code=303)


@router.post("/sends/{delivery_id}/mark-sent")
def mark_sent(
    request: Request, session: DbSession, user: PageUser, delivery_id: uuid.UUID
) -> Response:
    dispatch.mark_sent(session, delivery_id, container_of(request).clock.now())
    return RedirectResponse("/sends", status_code=303)
