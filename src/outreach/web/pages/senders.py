"""Sender accounts and the sends a person must decide about."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from outreach.analytics import senders as sender_weeks
from outreach.config import Settings
from outreach.container import Container, GraphSignIn
from outreach.delivery import dispatch, queries
from outreach.delivery.allowance import limits_shown
from outreach.delivery.unsubscribe import one_click_warning
from outreach.errors import OutreachError, ValidationFailed
from outreach.inbox import queries as inbox_queries
from outreach.providers.base import SignedIn
from outreach.providers.errors import ProviderError
from outreach.sealing import seal, unseal
from outreach.senders import dns_check, mailboxes
from outreach.senders import queries as sender_queries
from outreach.senders import service as senders
from outreach.senders.mail_providers import PRESETS, Provider, provider_of
from outreach.senders.models import SenderAccount
from outreach.senders.ramp import DEFAULT_GAP_SECONDS
from outreach.senders.states import SenderState
from outreach.web import flash
from outreach.web.deps import DbSession, PageUser, container_of, finish_transaction, read_only
from outreach.web.rendering import render, viewer_zone

router = APIRouter(include_in_schema=False)
Text = Annotated[str, Form(max_length=500)]
DEFAULT_RAMP = senders.DEFAULT_RAMP


ADDING = {
    Provider.google: "Google Workspace / Gmail",
    Provider.microsoft: "Microsoft 365",
    Provider.smtp: "Other SMTP and IMAP",
    Provider.outbox: "Local outbox",
}
"""The providers a new account is added for, each with a form of its own, in the order offered."""


def senders_page(
    request: Request, session: DbSession, adding: str | None = None, **extra: object
) -> Response:
    settings = container_of(request).settings
    accounts = sender_queries.all_senders(session)
    typed: dict[str, Any] = extra.get("typed") or {}  # type: ignore[assignment]
    # A form posted without its provider (a script of before the providers) names its kind.
    chosen = (
        adding
        or typed.get("provider")
        or (provider_of(typed["kind"], typed.get("host")) if typed.get("kind") else None)
    )
    context = {
        "adding": Provider(chosen) if chosen in ADDING else None,
        "providers": ADDING,
        "presets": PRESETS,
        "google_app": bool(settings.google_client_id),
        "microsoft_app": bool(settings.outlook_client_id),
        "accounts": accounts,
        "no_sign_in": senders.NO_SIGN_IN,
        "signs_in_as": {account.id: senders.signs_in_as(account) for account in accounts},
        "oauth_of": {
            account.id: senders.OAUTH_PROVIDERS.get(senders.oauth_provider_of(account) or "")
            for account in accounts
        },
        "oauth_offered": {account.id: _oauth_offered(settings, account) for account in accounts},
        "standings": {account.id: senders.standing_of(account) for account in accounts},
        "connections": {account.id: senders.connections_of(account) for account in accounts},
        "health": sender_weeks.of_senders(session, container_of(request).clock.now()),
        "outlook_app": bool(settings.outlook_tenant_id and settings.outlook_client_id),
        "callback_url": callback_url(request),
        "bounce_rate": settings.bounce_pause_rate,
        "bounce_min": settings.bounce_pause_min_sends,
        "warning": one_click_warning(settings.base_url),
        "dns_checks": dns_check.kept_for_all(session, container_of(request).clock.now()),
        "limits": limits_shown(
            session, accounts, container_of(request).clock.now(), viewer_zone(request)
        ),
        "held": {
            account.id: senders.held(account, container_of(request).clock.now())
            for account in accounts
        },
        "ramps": {account.id: senders.ramp_of(account) for account in accounts},
        "default_ramp": senders.DEFAULT_RAMP,
        "default_gap": DEFAULT_GAP_SECONDS,
        **extra,
    }
    return render(request, "senders.html", context, status_code=422 if "error" in extra else 200)


@dataclass(frozen=True)
class OAuthOffer:
    """The sign-ins offered to an SMTP account instead of its password, and why."""

    why: str
    providers: list[tuple[str, str]]
    """(provider, its name): "google", "Google"."""


OAUTH_WHY = {
    Provider.google: "Google takes only app passwords: sign in with Google instead.",
    Provider.microsoft: "Microsoft 365 stops taking SMTP passwords at the end of December "
    "2026: sign in with Microsoft instead.",
    Provider.smtp: "If this server takes Google's or Microsoft's sign-in (XOAUTH2):",
}


def _oauth_offered(settings: Settings, account: SenderAccount) -> OAuthOffer | None:
    """The sign-ins an SMTP account is offered, among those this server has an app for: its
    provider's at smtp.gmail.com or smtp.office365.com, else both (a relay of their own)."""
    if account.kind != senders.SenderKind.smtp.value:
        return None
    provider = provider_of(account.kind, (account.settings or {}).get("host"))
    apps = {"google": settings.google_client_id, "microsoft": settings.outlook_client_id}
    offered = [
        (name, senders.OAUTH_PROVIDERS[name])
        for name, client_id in apps.items()
        if client_id and provider.value in (name, Provider.smtp.value)
    ]
    return OAuthOffer(OAUTH_WHY[provider], offered) if offered else None


@router.get("/senders")
def list_senders(
    request: Request,
    session: DbSession,
    user: PageUser,
    add: Annotated[str | None, Query(max_length=20)] = None,
) -> Response:
    """The accounts, and (`add`: a provider) the form adding one of that provider's."""
    return senders_page(request, session, adding=add)


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
    no_sign_in: Annotated[bool, Form()] = False,
    daily_cap: Annotated[int | None, Form(ge=1)] = None,
    max_connections: Annotated[int | None, Form(ge=1, le=20)] = None,
    tenant_id: Text = "",
    client_id: Text = "",
    client_secret: Annotated[str, Form(max_length=1000)] = "",
    one_click: Annotated[bool, Form()] = False,
    ramp: Annotated[bool, Form()] = False,
    ramp_start: Annotated[int, Form(ge=1)] = DEFAULT_RAMP.start,
    ramp_step: Annotated[int, Form(ge=1)] = DEFAULT_RAMP.step,
    ramp_target: Annotated[int, Form(ge=1)] = DEFAULT_RAMP.target,
    min_gap_seconds: Annotated[int, Form(ge=0)] = DEFAULT_GAP_SECONDS,
    tenant: Text = "",
    tenant_licences: Annotated[int, Form(ge=1)] = 1,
    provider: Text = "",
    imap_host: Text = "",
    imap_port: Annotated[int, Form(ge=1, le=65535)] = 993,
    imap_security: Text = "tls",
    imap_username: Text = "",
    imap_password: Annotated[str, Form(max_length=1000)] = "",
    imap_folder: Text = "INBOX",
) -> Response:
    """Adds an account. One that sends over SMTP is tested first, with the IMAP mailbox its
    replies are read from when given one, and so is a Microsoft 365 mailbox reached with an
    Azure app's credentials (a token for the app, then the mailbox's inbox), with no
    transaction open meanwhile: a failing test saves nothing and says what the server
    answered. An outbox has nothing to reach."""
    container = container_of(request)
    settings = container.settings
    key = settings.secret_key_value()
    imap = (
        mailboxes.ImapMailbox(
            imap_host, imap_port, imap_security, imap_username or None, imap_folder
        )
        if imap_host.strip()
        else None
    )
    try:
        limits = senders.new_account_limits(
            senders.SenderKind(kind),
            ramp=senders.ramp_from(ramp_start, ramp_step, ramp_target) if ramp else None,
            min_gap_seconds=min_gap_seconds,
            tenant=tenant,
            tenant_licences=tenant_licences,
        )
        smtp = (
            senders.SmtpSettings(
                host,
                port,
                security,
                senders.smtp_username(email, username, password, False if no_sign_in else None),
            )
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

        def save() -> SenderAccount:
            account = senders.add(
                session,
                kind=senders.SenderKind(kind),
                email=email,
                display_name=display_name,
                secret_key=key,
                smtp=smtp,
                graph=graph,
                password=password or None,
                daily_cap=daily_cap,
                max_connections=max_connections,
                limits=limits,
                now=container.clock.now(),
            )
            if imap is not None:
                mailboxes.set_imap(
                    session, account.id, imap, secret_key=key, password=imap_password or None
                )
            return account

        account = save()
        checks = []
        if smtp is not None or graph is not None:
            # Checked as the account would be saved, then forgotten: nothing is kept, nor any
            # transaction open, while the servers are asked.
            session.expunge(account)
            session.rollback()
            checks = container.check_account(account)
            failed = [check for check in checks if not check.ok]
            if failed:
                said = "; ".join(f"{check.part}: {check.text}" for check in failed)
                return senders_page(
                    request,
                    session,
                    error=f"Not added: the test failed ({said}). Nothing was saved.",
                    typed=_typed(locals()),
                    checked={"email": email.strip(), "kind": kind},
                    checks=[asdict(check) for check in checks],
                )
            save()
    except (OutreachError, ValueError) as error:
        session.rollback()
        message = (
            error.message
            if isinstance(error, OutreachError)
            else f"{kind!r} is not a kind of account."
        )
        return senders_page(request, session, error=message, typed=_typed(locals()))
    shown = [asdict(check) for check in checks] or None
    checked = {"email": email.strip(), "kind": kind} if shown else None
    return flash.redirect(
        request, "/senders", notice=f"Added {email.strip()}.", checked=checked, checks=shown
    )


TYPED_FIELDS = (
    "kind",
    "email",
    "display_name",
    "host",
    "port",
    "security",
    "username",
    "daily_cap",
    "max_connections",
    "tenant_id",
    "client_id",
    "one_click",
    "ramp",
    "ramp_start",
    "ramp_step",
    "ramp_target",
    "min_gap_seconds",
    "tenant",
    "tenant_licences",
    "provider",
    "imap_host",
    "imap_port",
    "imap_security",
    "imap_username",
    "imap_folder",
)
"""What the add-account form shows again as typed when it is refused: never a password."""


def _typed(fields: dict[str, Any]) -> dict[str, Any]:
    return {name: fields[name] for name in TYPED_FIELDS}


SIGN_IN_TIME = timedelta(minutes=15)
NOT_STARTED_HERE = (
    "This sign-in was not started in this browser, or took more than 15 minutes: start it again."
)


@dataclass(frozen=True)
class SignInCookie:
    """What a sign-in's callback needs (the PKCE verifier first), kept between the redirect to
    the provider and its answer in a sealed cookie sent only to the callback's path."""

    name: str
    path: str

    def redirect(self, request: Request, url: str, kept: dict[str, Any]) -> RedirectResponse:
        container = container_of(request)
        kept = {**kept, "started_at": container.clock.now().isoformat()}
        response = RedirectResponse(url, status_code=303)
        response.set_cookie(
            self.name,
            seal(container.settings.secret_key_value(), kept),
            max_age=int(SIGN_IN_TIME.total_seconds()),
            path=self.path,
            httponly=True,
            samesite="lax",
            secure=request.url.scheme == "https",
        )
        return response

    def read(self, request: Request) -> dict[str, Any] | None:
        """What the redirect kept, or None when this browser started no sign-in here in the
        last SIGN_IN_TIME."""
        container = container_of(request)
        try:
            started = unseal(container.settings.secret_key_value(), request.cookies.get(self.name))
        except ValidationFailed:
            return None
        if not started:
            return None
        fresh = (
            datetime.fromisoformat(started["started_at"]) + SIGN_IN_TIME >= container.clock.now()
        )
        return started if fresh else None

    def finish(self, request: Request, session: Session, keep: Callable[[], str]) -> Response:
        """The senders page after `keep` stored what the provider answered (its notice), or
        after it failed (why, nothing stored); the cookie is spent either way."""
        try:
            notice = keep()
        except (ProviderError, OutreachError) as error:
            session.rollback()
            message = error.reason if isinstance(error, ProviderError) else error.message
            page = senders_page(request, session, error=message)
        else:
            session.commit()
            page = senders_page(request, session, notice=notice)
        page.delete_cookie(self.name, path=self.path)
        return page


GRAPH_SIGN_IN = SignInCookie("outreach_graph_sign_in", "/senders/graph")


def callback_url(request: Request) -> str:
    """Where Microsoft sends the person back: register it in the Azure app."""
    return f"{container_of(request).settings.base_url}/senders/graph/callback"


@router.post("/senders/graph/sign-in")
def start_graph_sign_in(
    request: Request,
    session: DbSession,
    user: PageUser,
    email: Text,
    display_name: Text = "",
    tenant_id: Text = "",
    client_id: Text = "",
    client_secret: Annotated[str, Form(max_length=1000)] = "",
    daily_cap: Annotated[int | None, Form(ge=1)] = None,
    one_click: Annotated[bool, Form()] = False,
) -> Response:
    """Sends the mailbox's owner to Microsoft to sign in (providers/graph/delegated.py); what
    the callback needs, the PKCE verifier first, waits in a sealed, short-lived cookie."""
    container = container_of(request)
    form = {
        "email": email.strip(),
        "display_name": display_name,
        "tenant_id": tenant_id.strip(),
        "client_id": client_id.strip(),
        "client_secret": client_secret,
        "daily_cap": daily_cap,
        "one_click": one_click,
    }
    finish_transaction(session)
    try:
        flow = _sign_in(container, form).start(callback_url(request))
    except ProviderError as error:
        typed = {**form, "kind": "graph", "client_secret": None}
        return senders_page(request, session, error=error.reason, typed=typed)
    url = flow.pop("auth_uri")
    return GRAPH_SIGN_IN.redirect(request, url, {**form, "flow": flow})


@router.get("/senders/graph/callback")
def finish_graph_sign_in(request: Request, session: DbSession, user: PageUser) -> Response:
    """Microsoft's answer: the signed-in mailbox becomes a Graph sender account, or, when it
    is one already, its sign-in is renewed."""
    container = container_of(request)
    started = GRAPH_SIGN_IN.read(request)
    if started is None:
        return senders_page(request, session, error=NOT_STARTED_HERE)
    finish_transaction(session)

    def keep() -> str:
        signed = _sign_in(container, started).finish(started["flow"], dict(request.query_params))
        return _keep_sign_in(session, container, started, signed)

    return GRAPH_SIGN_IN.finish(request, session, keep)


def _sign_in(container: Container, form: dict[str, Any]) -> GraphSignIn:
    return container.graph_sign_in(
        form["email"],
        tenant_id=form["tenant_id"],
        client_id=form["client_id"],
        client_secret=form["client_secret"],
    )


def _keep_sign_in(
    session: Session, container: Container, started: dict[str, Any], signed: SignedIn
) -> str:
    key = container.settings.secret_key_value()
    now = container.clock.now()
    existing = sender_queries.sender_by_email(session, signed.mailbox)
    if existing is not None and (existing.settings or {}).get("auth") == "delegated":
        senders.keep_token_cache(session, existing.id, signed.token_cache, secret_key=key)
        senders.set_state(session, existing.id, SenderState.ok, None, now)
        return f"{signed.mailbox} signed in again; it sends again."
    app = _sign_in(container, started)
    senders.add(
        session,
        kind=senders.SenderKind.graph,
        email=signed.mailbox,
        display_name=started["display_name"] or signed.name,
        secret_key=key,
        graph=senders.GraphAccount(
            app.tenant_id,
            app.client_id,
            one_click_unsubscribe=started["one_click"],
            delegated=True,
        ),
        password=app.client_secret,
        token_cache=signed.token_cache,
        daily_cap=started["daily_cap"],
        limits=senders.new_account_limits(senders.SenderKind.graph),
        now=now,
    )
    return f"{signed.mailbox} signed in: it sends and reads its replies as its owner."


MAIL_SIGN_IN = SignInCookie("outreach_mail_sign_in", "/senders/oauth")


@router.post("/senders/{sender_id}/oauth/{provider}")
def start_oauth_sign_in(
    request: Request, session: DbSession, user: PageUser, sender_id: uuid.UUID, provider: str
) -> Response:
    """Sends the mailbox's owner to Google or Microsoft to sign the SMTP account in (state
    and PKCE); what the callback needs, the verifier first, waits in a sealed, short-lived
    cookie sent only to the callback."""
    account = senders.get(session, sender_id)
    finish_transaction(session)
    if provider not in senders.OAUTH_PROVIDERS:
        return senders_page(request, session, error="Sign in with google or microsoft.")
    return _mail_sign_in(request, session, account, provider)


def _mail_sign_in(
    request: Request, session: Session, account: SenderAccount, provider: str
) -> Response:
    try:
        started = container_of(request).mail_sign_in(provider).start(account.email)
    except ProviderError as error:
        return senders_page(request, session, error=error.reason)
    kept = {
        "sender_id": str(account.id),
        "provider": provider,
        "state": started["state"],
        "verifier": started["verifier"],
    }
    return MAIL_SIGN_IN.redirect(request, started["url"], kept)


NEEDS_SIGN_IN = "It has not signed in with {name} yet: use Sign in with {name} below its row."


@router.post("/senders/oauth/{provider}/new")
def add_with_oauth(
    request: Request,
    session: DbSession,
    user: PageUser,
    provider: str,
    email: Text,
    display_name: Text = "",
    daily_cap: Annotated[int | None, Form(ge=1)] = None,
    imap_host: Text = "",
) -> Response:
    """Adds a Google or Microsoft 365 mailbox that sends over SMTP (and reads its replies over
    IMAP when asked) signing in with its provider, no password: it waits for that sign-in
    (needs you), and its owner is sent to sign in at once; the callback makes it ok."""
    container = container_of(request)
    if provider not in senders.OAUTH_PROVIDERS:
        return senders_page(request, session, error="Sign in with google or microsoft.")
    preset = PRESETS[Provider(provider)]
    typed = {"provider": provider, "email": email, "display_name": display_name}
    try:
        account = senders.add(
            session,
            kind=senders.SenderKind.smtp,
            email=email,
            display_name=display_name,
            secret_key=container.settings.secret_key_value(),
            smtp=senders.SmtpSettings(*preset.smtp, username=email.strip()),
            daily_cap=daily_cap,
            limits=senders.new_account_limits(senders.SenderKind.smtp),
            now=container.clock.now(),
        )
        if imap_host.strip():
            mailbox = mailboxes.ImapMailbox(*preset.imap)
            mailboxes.set_imap(
                session, account.id, mailbox, secret_key=container.settings.secret_key_value()
            )
    except OutreachError as error:
        session.rollback()
        return senders_page(request, session, error=error.message, typed=typed)
    name = senders.OAUTH_PROVIDERS[provider]
    reason = NEEDS_SIGN_IN.format(name=name)
    senders.set_state(session, account.id, SenderState.failing, reason, container.clock.now())
    finish_transaction(session)
    return _mail_sign_in(request, session, account, provider)


@router.get("/senders/oauth/callback")
def finish_oauth_sign_in(request: Request, session: DbSession, user: PageUser) -> Response:
    """Google's or Microsoft's answer: the account signs in with it from now on (its refresh
    token sealed), and sends again if its old sign-in had failed."""
    container = container_of(request)
    started = MAIL_SIGN_IN.read(request)
    if started is None:
        return senders_page(
            request,
            session,
            error=f"{NOT_STARTED_HERE} (Signing in for `outreach senders sign-in`? Paste this "
            "page's address into it.)",
        )
    finish_transaction(session)

    def keep() -> str:
        sign_in = container.mail_sign_in(started["provider"])
        refresh_token = sign_in.finish(started, dict(request.query_params))
        account = senders.sign_in_with_oauth(
            session,
            uuid.UUID(started["sender_id"]),
            started["provider"],
            refresh_token,
            secret_key=container.settings.secret_key_value(),
            now=container.clock.now(),
        )
        return (
            f"{account.email} signs in with {sign_in.name} from now on, to send and to read "
            "its replies."
        )

    return MAIL_SIGN_IN.finish(request, session, keep)


@router.post("/senders/{sender_id}/test")
def test_sender(
    request: Request, session: DbSession, user: PageUser, sender_id: uuid.UUID
) -> Response:
    account = senders.get(session, sender_id)
    return _tested(request, session, account)


def _tested(request: Request, session: Session, account: SenderAccount) -> Response:
    """Really connects to the account's servers (no transaction open), gives the account the
    state its sending check found, then shows how each side answered on the senders page."""
    finish_transaction(session)
    container = container_of(request)
    checks = container.check_account(account)
    senders.record_test(session, account.id, checks[0].error, container.clock.now())
    checked = {"email": account.email, "kind": account.kind}
    shown = [asdict(check) for check in checks]
    return flash.redirect(request, "/senders", checked=checked, checks=shown)


@router.post("/senders/{sender_id}/dns-check")
def check_dns(
    request: Request,
    session: DbSession,
    user: PageUser,
    sender_id: uuid.UUID,
    selector: Annotated[str, Form(max_length=63)] = "",
) -> Response:
    """Asks DNS about the account's domain afresh (no transaction open while it does) and shows
    each finding on the senders page."""
    email = senders.get(session, sender_id).email
    finish_transaction(session)
    try:
        check = container_of(request).check_sender_domain(
            sender_id, selector.strip() or None, fresh=True
        )
    except ProviderError as error:
        return flash.redirect(request, "/senders", error=f"DNS check of {email}: {error.reason}")
    findings = [asdict(finding) for finding in check.findings]
    dns = {"id": str(sender_id), "email": email, "selector": check.selector or ""}
    return flash.redirect(request, "/senders", dns=dns, findings=findings)


@router.post("/senders/{sender_id}/limits")
def set_limits(
    request: Request,
    session: DbSession,
    user: PageUser,
    sender_id: uuid.UUID,
    ramp: Annotated[bool, Form()] = False,
    ramp_start: Annotated[int, Form(ge=1)] = DEFAULT_RAMP.start,
    ramp_step: Annotated[int, Form(ge=1)] = DEFAULT_RAMP.step,
    ramp_target: Annotated[int, Form(ge=1)] = DEFAULT_RAMP.target,
    min_gap_seconds: Annotated[int, Form(ge=0)] = 0,
    tenant: Text = "",
    tenant_licences: Annotated[int, Form(ge=1)] = 1,
) -> Response:
    """Changes the account's tenant (and its licences, for every account of the tenant), its
    ramp and its gap between sends."""
    try:
        account = senders.set_limits(
            session,
            sender_id,
            senders.Limits(
                tenant,
                tenant_licences,
                senders.ramp_from(ramp_start, ramp_step, ramp_target) if ramp else None,
                min_gap_seconds,
            ),
        )
    except OutreachError as error:
        session.rollback()
        return senders_page(request, session, error=error.message)
    return flash.redirect(request, "/senders", notice=f"{account.email}'s limits are saved.")


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
    return _tested(request, session, account)


@router.post("/senders/{sender_id}/imap/remove")
def remove_imap(
    request: Request, session: DbSession, user: PageUser, sender_id: uuid.UUID
) -> Response:
    key = container_of(request).settings.secret_key_value()
    mailboxes.clear_imap(session, sender_id, secret_key=key)
    return flash.redirect(request, "/senders", notice="Its replies are no longer read.")


@router.post("/senders/{sender_id}/edit")
def edit_sender(
    request: Request,
    session: DbSession,
    user: PageUser,
    sender_id: uuid.UUID,
    display_name: Text = "",
    daily_cap: Annotated[str, Form(max_length=20)] = "",
    max_connections: Annotated[str, Form(max_length=20)] = "",
    signature: Annotated[str, Form(max_length=4000)] = "",
) -> Response:
    """Saves what the account's settings form says; refused, the form shows what was typed."""
    typed = {
        "id": sender_id,
        "display_name": display_name,
        "daily_cap": daily_cap,
        "max_connections": max_connections,
        "signature": signature,
    }
    try:
        changes = senders.SenderChanges(
            display_name=display_name,
            daily_cap=_whole(daily_cap, "daily cap", None),
            signature=signature,
            max_connections=_whole(max_connections, "connections at once", 0) or 0,
        )
        account = senders.edit(session, sender_id, changes, senders.EDITABLE)
    except ValidationFailed as error:
        session.rollback()
        return senders_page(request, session, error=error.message, editing=typed)
    return flash.redirect(request, "/senders", notice=f"Saved the settings of {account.email}.")


def _whole(text: str, what: str, empty: int | None) -> int | None:
    """A number a person typed in a field; `empty` when they left it empty."""
    if not text.strip():
        return empty
    try:
        return int(text.strip())
    except ValueError:
        raise ValidationFailed(f"The {what} is a whole number, not {text.strip()!r}.") from None


@router.post("/senders/{sender_id}/{state}")
def set_state(
    request: Request, session: DbSession, user: PageUser, sender_id: uuid.UUID, state: SenderState
) -> Response:
    reason = "paused by a person" if state is SenderState.paused else None
    account = senders.set_state(
        session, sender_id, state, reason, container_of(request).clock.now()
    )
    return flash.redirect(request, "/senders", notice=f"{account.email} is {state.value} now.")


@router.get("/sends")
def sends_page(request: Request, session: DbSession, user: PageUser) -> Response:
    finish_transaction(session)
    container_of(request).settle_lapsed()
    read_only(session)
    unknown = queries.unknown_with_recipients(session)
    answering = inbox_queries.answered_conversations(
        session, [delivery.scheduled_email_id for delivery, _ in unknown]
    )
    return render(request, "sends.html", {"unknown": unknown, "answering": answering})


@router.post("/sends/{delivery_id}/resend")
def resend(
    request: Request, session: DbSession, user: PageUser, delivery_id: uuid.UUID
) -> Response:
    dispatch.send_again(session, delivery_id, container_of(request).clock.now())
    return flash.redirect(request, "/sends", notice="It will be sent again.")


@router.post("/sends/{delivery_id}/mark-sent")
def mark_sent(
    request: Request, session: DbSession, user: PageUser, delivery_id: uuid.UUID
) -> Response:
    dispatch.mark_sent(session, delivery_id, container_of(request).clock.now())
    return flash.redirect(request, "/sends", notice="Marked as sent.")
