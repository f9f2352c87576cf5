"""`outreach senders ...`: the sender accounts campaigns send from."""

from __future__ import annotations

import time
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Column, Table

from outreach.analytics import senders as sender_weeks
from outreach.cli import imap
from outreach.cli.context import console, container_for, settings_of
from outreach.db import transaction
from outreach.delivery.allowance import limits_shown
from outreach.errors import ValidationFailed
from outreach.providers.errors import AccountError, ProviderError
from outreach.senders import queries as sender_queries
from outreach.senders import service as senders
from outreach.senders.ramp import DEFAULT_GAP_SECONDS, MAX_GAP_SECONDS, Ramp
from outreach.senders.states import SenderState

if TYPE_CHECKING:
    from outreach.container import Container, MailSignIn

senders_app = typer.Typer(no_args_is_help=True)  # its help: AREAS in cli/main.py
add_sender_app = typer.Typer(help="Add a sender account.", no_args_is_help=True)
senders_app.add_typer(add_sender_app, name="add")

DailyCap = Annotated[
    int | None, typer.Option(help="At most this many sends a day (UTC) from this account.")
]
DisplayName = Annotated[str | None, typer.Option("--name", help="The name recipients see.")]
NoRamp = Annotated[
    bool,
    typer.Option(
        "--no-ramp",
        help="Send up to the daily cap from the first day, without the ramp of a new mailbox "
        "(10 a day, 2 more each day it sends, up to 30).",
    ),
]
MinGap = Annotated[
    int,
    typer.Option(
        min=0,
        max=MAX_GAP_SECONDS,
        help="Seconds at least between two of its sends (and up to half again at random).",
    ),
]
Tenant = Annotated[
    str | None,
    typer.Option(
        help="The Microsoft 365 tenant whose external recipient limit it shares with the "
        "tenant's other accounts (default for Microsoft 365: the address's domain).",
    ),
]
Licences = Annotated[
    int, typer.Option(min=1, help="The tenant's licences: its limit grows with them.")
]


@add_sender_app.command("outbox")
def add_outbox(
    ctx: typer.Context, email: str, name: DisplayName = None, daily_cap: DailyCap = None
) -> None:
    """An account that writes each email as an .eml file under the data folder (nothing leaves)."""
    with container_for(ctx) as container, transaction(container.sessions) as session:
        senders.add(
            session,
            kind=senders.SenderKind.outbox,
            email=email,
            display_name=name,
            secret_key=container.settings.secret_key_value(),
            daily_cap=daily_cap,
            now=container.clock.now(),
        )
    console.print(f"Added {email}: its emails go to {container.outbox_folder / email}.")


@add_sender_app.command("smtp")
def add_smtp(
    ctx: typer.Context,
    email: str,
    host: Annotated[str, typer.Option(help="The SMTP server, e.g. smtp.fastmail.com.")],
    port: Annotated[int, typer.Option()] = 587,
    security: Annotated[
        str, typer.Option(help="starttls, tls (implicit, port 465) or none.")
    ] = "starttls",
    username: Annotated[str | None, typer.Option(help="Defaults to the email address.")] = None,
    password: Annotated[
        str | None,
        typer.Option(
            hide_input=True,
            envvar="OUTREACH_SMTP_PASSWORD",
            help="Or OUTREACH_SMTP_PASSWORD; asked for when not given.",
        ),
    ] = None,
    no_sign_in: Annotated[
        bool, typer.Option("--no-sign-in", help=f"{senders.NO_SIGN_IN}.")
    ] = False,
    name: DisplayName = None,
    daily_cap: DailyCap = None,
    max_connections: Annotated[
        int, typer.Option(help="Connections at once from a worker (providers throttle more).")
    ] = senders.DEFAULT_CONNECTIONS,
    no_ramp: NoRamp = False,
    min_gap: MinGap = DEFAULT_GAP_SECONDS,
    tenant: Tenant = None,
    licences: Licences = 1,
) -> None:
    """An SMTP mailbox, or a local relay without sign-in. Its password is stored sealed with
    OUTREACH_SECRET_KEY. A new mailbox ramps up (see --no-ramp) and spaces its sends."""
    if password is None and not no_sign_in:
        password = typer.prompt("Password", hide_input=True)
    with container_for(ctx) as container, transaction(container.sessions) as session:
        senders.add(
            session,
            kind=senders.SenderKind.smtp,
            email=email,
            display_name=name,
            secret_key=container.settings.secret_key_value(),
            smtp=senders.SmtpSettings(
                host=host,
                port=port,
                security=security,
                username=senders.smtp_username(email, username, password, not no_sign_in),
            ),
            password=password or None,
            daily_cap=daily_cap,
            max_connections=max_connections,
            limits=_new_limits(senders.SenderKind.smtp, no_ramp, min_gap, tenant, licences),
            now=container.clock.now(),
        )
    how = ", no sign-in" if no_sign_in else ""
    console.print(
        f"Added {email} ({host}:{port}{how}). Check it with: outreach senders test {email}",
        highlight=False,
    )


@add_sender_app.command("graph")
def add_graph(
    ctx: typer.Context,
    email: Annotated[str, typer.Argument(help="The Microsoft 365 mailbox to send from.")],
    tenant_id: Annotated[
        str | None, typer.Option(help="The Azure app's tenant (default: OUTLOOK_TENANT_ID).")
    ] = None,
    client_id: Annotated[
        str | None, typer.Option(help="The Azure app's client id (default: OUTLOOK_CLIENT_ID).")
    ] = None,
    client_secret: Annotated[
        str | None,
        typer.Option(
            hide_input=True,
            envvar="OUTREACH_GRAPH_CLIENT_SECRET",
            help="Or OUTREACH_GRAPH_CLIENT_SECRET (default: OUTLOOK_CLIENT_SECRET).",
        ),
    ] = None,
    no_one_click: Annotated[
        bool,
        typer.Option(
            "--no-one-click",
            help="Do not ask Exchange for List-Unsubscribe-Post (if your tenant drops it).",
        ),
    ] = False,
    name: DisplayName = None,
    daily_cap: DailyCap = None,
    no_ramp: NoRamp = False,
    min_gap: MinGap = DEFAULT_GAP_SECONDS,
    tenant: Tenant = None,
    licences: Licences = 1,
) -> None:
    """A Microsoft 365 mailbox, through the Azure app with Mail.Send and Mail.ReadWrite
    application permissions. Caps default under Microsoft's (9,000 a day, 3 at once); a new
    mailbox ramps up (see --no-ramp) and spaces its sends."""
    settings = settings_of(ctx)
    secret = client_secret or (
        settings.outlook_client_secret.get_secret_value() if settings.outlook_client_secret else ""
    )
    with container_for(ctx) as container, transaction(container.sessions) as session:
        senders.add(
            session,
            kind=senders.SenderKind.graph,
            email=email,
            display_name=name,
            secret_key=container.settings.secret_key_value(),
            graph=senders.GraphAccount(
                tenant_id or settings.outlook_tenant_id or "",
                client_id or settings.outlook_client_id or "",
                one_click_unsubscribe=not no_one_click,
            ),
            password=secret or None,
            daily_cap=daily_cap,
            limits=_new_limits(senders.SenderKind.graph, no_ramp, min_gap, tenant, licences),
            now=container.clock.now(),
        )
    console.print(f"Added {email} (Microsoft Graph). Check it with: outreach senders test {email}")


def _new_limits(
    kind: senders.SenderKind, no_ramp: bool, min_gap: int, tenant: str | None, licences: int
) -> senders.Limits:
    return senders.new_account_limits(
        kind,
        ramp=None if no_ramp else senders.DEFAULT_RAMP,
        min_gap_seconds=min_gap,
        tenant=tenant,
        tenant_licences=licences,
    )


@senders_app.command("limits")
def set_limits(
    ctx: typer.Context,
    email: str,
    tenant: Tenant = None,
    no_tenant: Annotated[
        bool, typer.Option("--no-tenant", help="It shares no tenant's limit.")
    ] = False,
    licences: Annotated[
        int | None, typer.Option(min=1, help="The tenant's licences (for all its accounts).")
    ] = None,
    ramp_start: Annotated[int | None, typer.Option(min=1, help="Sends on its first day.")] = None,
    ramp_step: Annotated[int | None, typer.Option(min=1, help="More on each next day.")] = None,
    ramp_target: Annotated[int | None, typer.Option(min=1, help="Where the ramp stops.")] = None,
    no_ramp: Annotated[bool, typer.Option("--no-ramp", help="No ramp: its daily cap.")] = False,
    min_gap: Annotated[
        int | None, typer.Option(min=0, max=MAX_GAP_SECONDS, help="Seconds between sends.")
    ] = None,
) -> None:
    """Change what an account shares and how it paces itself: its Microsoft 365 tenant and the
    tenant's licences, its ramp, its gap between sends. What is not given stays."""
    with container_for(ctx) as container, transaction(container.sessions) as session:
        account = senders.by_email(session, email)
        current = senders.limits_of(account)
        changed = senders.Limits(
            tenant=None if no_tenant else tenant or current.tenant,
            tenant_licences=licences or current.tenant_licences,
            ramp=None if no_ramp else _ramp_after(current.ramp, ramp_start, ramp_step, ramp_target),
            min_gap_seconds=current.min_gap_seconds if min_gap is None else min_gap,
        )
        senders.set_limits(session, account.id, changed)
        shown = limits_shown(session, [account], container.clock.now())[account.id]
    console.print(f"{email}: " + ("; ".join(shown) or "no ramp, tenant or gap"), highlight=False)


def _ramp_after(
    ramp: Ramp | None, start: int | None, step: int | None, target: int | None
) -> Ramp | None:
    """The account's ramp with the figures given changed; one given to an account without a
    ramp starts from the default ramp's."""
    if ramp is None and start is None and step is None and target is None:
        return None
    base = ramp or senders.DEFAULT_RAMP
    return senders.ramp_from(start or base.start, step or base.step, target or base.target)


@senders_app.command("sign-in")
def sign_in(
    ctx: typer.Context,
    email: Annotated[str, typer.Argument(help="The SMTP account to sign in.")],
    provider: Annotated[
        OAuthChoice, typer.Option(help="Whose sign-in: google or microsoft.", case_sensitive=False)
    ],
) -> None:
    """Sign an SMTP account (and its IMAP mailbox) in with Google or Microsoft 365 OAuth
    instead of a password, from a machine without a browser: Microsoft with a code typed at
    microsoft.com/devicelogin, Google by pasting back the address it sends the browser to."""
    with container_for(ctx) as container:
        with transaction(container.sessions) as session:
            account = senders.by_email(session, email)
        try:
            sign_in = container.mail_sign_in(provider.value)
            if provider is OAuthChoice.microsoft:
                refresh_token = _device_sign_in(container, sign_in)
            else:
                refresh_token = _pasted_sign_in(sign_in, account.email)
        except ProviderError as error:
            console.print(f"[red]{error.reason}[/red]", highlight=False)
            raise typer.Exit(1) from error
        with transaction(container.sessions) as session:
            senders.sign_in_with_oauth(
                session,
                account.id,
                provider.value,
                refresh_token,
                secret_key=container.settings.secret_key_value(),
                now=container.clock.now(),
            )
    console.print(
        f"{email} signs in with {sign_in.name} from now on, to send and to read its replies. "
        f"Check it with: outreach senders test {email}",
        highlight=False,
    )


class OAuthChoice(StrEnum):
    google = "google"
    microsoft = "microsoft"


def _device_sign_in(container: Container, sign_in: MailSignIn) -> str:
    """Microsoft's device code flow: the person signs in on any device; we ask until then."""
    device = sign_in.start_device()
    console.print(device.message, highlight=False)
    while container.clock.now() < device.expires_at:
        refresh_token = sign_in.poll_device(device)
        if refresh_token is not None:
            return refresh_token
        time.sleep(device.interval)  # Microsoft says how often it may be asked
    raise AccountError("The code expired before anyone signed in with it: start again.")


def _pasted_sign_in(sign_in: MailSignIn, email: str) -> str:
    """Google has no device flow for mail: the person signs in wherever they have a browser,
    which Google then sends to our callback address; they paste that address back here (the
    page need not load: the code is in the address)."""
    started = sign_in.start(email)
    console.print(
        f"Open this address in a browser and sign in as {email}:\n{started['url']}",
        soft_wrap=True,
        highlight=False,
    )
    pasted = typer.prompt("Then paste the address the browser went to (or the code in it)")
    return sign_in.finish(started, pasted)


@senders_app.command("list")
def list_senders(ctx: typer.Context) -> None:
    """Every sender account with its state, its last 7 days and its limits beyond its cap (a
    hold, its ramp, its tenant, its gap between sends)."""
    with container_for(ctx) as container, transaction(container.sessions) as session:
        accounts = sender_queries.all_senders(session)
        now = container.clock.now()
        week = sender_weeks.of_senders(session, now)
        limits = limits_shown(session, accounts, now)
    # Short columns that never wrap, so an 80-column terminal shows every figure; why an
    # account is not sending (a sentence) follows the table.
    columns = ("email", "kind", "cap/day", "sent", "bounced", "replies", "state")
    table = Table(
        *(Column(name, no_wrap=True) for name in columns),
        caption="sent, bounced and replies: the last 7 days",
    )
    for account in accounts:
        found = week[account.id]
        table.add_row(
            account.email,
            account.kind,
            str(account.daily_cap or "—"),
            str(found.sent),
            found.bounce_summary,
            str(found.replies),
            "held"
            if senders.held(account, now) and account.state == "ok"
            else senders.standing_of(account).label,
        )
    console.print(table)
    for account in accounts:
        for line in limits[account.id]:
            console.print(f"{account.email}: {line}", highlight=False)
        standing = senders.standing_of(account)
        if standing.state is not SenderState.ok:
            console.print(standing.sentence(account.email), highlight=False)
        if account.kind == "smtp" and not senders.signs_in_as(account):
            console.print(f"{account.email} sends without signing in (a relay).", highlight=False)


@senders_app.command("test")
def test_sender(ctx: typer.Context, email: str) -> None:
    """Really connect and sign in, for sending and for reading replies; say what failed. The
    account's state follows what sending found."""
    with container_for(ctx) as container:
        with transaction(container.sessions) as session:
            account = senders.by_email(session, email)
        checks = container.check_account(account)
        with transaction(container.sessions) as session:
            standing = senders.record_test(
                session, account.id, checks[0].error, container.clock.now()
            )
    for check in checks:
        colour = "green" if check.ok else "red"
        console.print(f"[{colour}]{check.part}: {check.text}[/{colour}]", highlight=False)
    if len(checks) == 1 and account.kind == "smtp":
        console.print(
            "No mailbox is read for its replies: set one with "
            f"`outreach senders add imap {account.email} --host ...`.",
            highlight=False,
        )
    if standing.state is not SenderState.ok:
        console.print(standing.sentence(account.email), highlight=False)
    if not all(check.ok for check in checks):
        raise typer.Exit(1)


@senders_app.command("check")
def check_sender(
    ctx: typer.Context,
    email: str,
    selector: Annotated[
        str | None, typer.Option(help="The DKIM selector your provider signs with.")
    ] = None,
    fresh: Annotated[bool, typer.Option(help="Ask DNS again even if checked today.")] = False,
) -> None:
    """Check the account's domain in DNS (MX, SPF, DKIM, DMARC; reverse DNS and STARTTLS of
    a server of your own) and say what to change."""
    from outreach.senders.dns_rules import Verdict  # here: no other command needs the DNS rules

    with container_for(ctx) as container:
        with transaction(container.sessions) as session:
            account_id = senders.by_email(session, email).id
        try:
            check = container.check_sender_domain(account_id, selector, fresh=fresh)
        except ProviderError as error:
            console.print(f"[red]{error.reason}[/red]", highlight=False)
            raise typer.Exit(1) from error
    colours = {Verdict.passed: "green", Verdict.warning: "yellow", Verdict.failed: "red"}
    for finding in check.findings:
        colour = colours[finding.verdict]
        console.print(
            f"[{colour}]{finding.topic} ({finding.verdict.value}): {finding.text}[/{colour}]",
            highlight=False,
        )
    if not check.passed:
        console.print(f"{email}'s domain fails the check: fix what says fail above.")
        raise typer.Exit(1)


@senders_app.command("pause")
def pause_sender(ctx: typer.Context, email: str) -> None:
    """Stop sending from an account; its threads wait."""
    _set_sender_state(ctx, email, SenderState.paused, "paused by a person")


@senders_app.command("resume")
def resume_sender(ctx: typer.Context, email: str) -> None:
    """Send from an account again (after fixing what made it fail)."""
    _set_sender_state(ctx, email, SenderState.ok, None)


@senders_app.command("signature")
def set_signature(
    ctx: typer.Context,
    email: str,
    text: Annotated[str | None, typer.Option(help="The signature; empty: none.")] = None,
    file: Annotated[
        Path | None, typer.Option("--file", exists=True, dir_okay=False, help="Or from a file.")
    ] = None,
) -> None:
    """The text under every answer sent from the account (answers from the inbox)."""
    signature = file.read_text(encoding="utf-8") if file else text
    with container_for(ctx) as container, transaction(container.sessions) as session:
        account = senders.set_signature(session, senders.by_email(session, email).id, signature)
        kept = account.signature
    console.print(f"{email} signs answers with:\n{kept}" if kept else f"{email} signs no answers.")


@senders_app.command("edit")
def edit_sender(
    ctx: typer.Context,
    email: str,
    name: DisplayName = None,
    daily_cap: DailyCap = None,
    no_daily_cap: Annotated[
        bool, typer.Option("--no-daily-cap", help="No daily cap at all.")
    ] = False,
    signature: Annotated[
        str | None, typer.Option(help="The text under every answer; or --signature-file.")
    ] = None,
    signature_file: Annotated[
        Path | None,
        typer.Option(exists=True, dir_okay=False, help="The signature, from a plain-text file."),
    ] = None,
    no_signature: Annotated[
        bool, typer.Option("--no-signature", help="Sign answers with nothing.")
    ] = False,
    max_connections: Annotated[
        int | None, typer.Option(help="Connections at once from a worker.")
    ] = None,
) -> None:
    """Change an account's name, daily cap, signature or connections at once; what is not
    given stays as it is."""
    if daily_cap is not None and no_daily_cap:
        raise ValidationFailed("Either --daily-cap or --no-daily-cap, not both.")
    if sum((signature is not None, signature_file is not None, no_signature)) > 1:
        raise ValidationFailed("One of --signature, --signature-file or --no-signature.")
    if signature_file is not None:
        signature = signature_file.read_text(encoding="utf-8")
    given = {
        field
        for field, on in (
            ("display_name", name is not None),
            ("daily_cap", daily_cap is not None or no_daily_cap),
            ("signature", signature is not None or no_signature),
            ("max_connections", max_connections is not None),
        )
        if on
    }
    if not given:
        raise ValidationFailed(
            "Nothing to change: give --name, --daily-cap, --signature-file (or --signature) "
            "or --max-connections."
        )
    changes = senders.SenderChanges(name, daily_cap, signature, max_connections or 0)
    with container_for(ctx) as container, transaction(container.sessions) as session:
        account = senders.edit(session, senders.by_email(session, email).id, changes, given)
        said = (
            f"Saved {account.email}: "
            + (f"sends as {account.display_name}" if account.display_name else "no name")
            + (f", at most {account.daily_cap} a day" if account.daily_cap else ", no daily cap")
            + f", {senders.connections_of(account)} connections at once; "
            + (
                f"signs answers with:\n{account.signature}"
                if account.signature
                else "signs no answers."
            )
        )
    console.print(escape(said), highlight=False, soft_wrap=True)


def _set_sender_state(
    ctx: typer.Context, email: str, state: SenderState, reason: str | None
) -> None:
    with container_for(ctx) as container, transaction(container.sessions) as session:
        senders.set_state(
            session, senders.by_email(session, email).id, state, reason, container.clock.now()
        )
    console.print(f"{email} is {state.value}.")


# `outreach senders add imap` is `outreach inbox imap`: where an SMTP account's replies arrive.
add_sender_app.command(
    "imap", help="Read an SMTP account's replies from an IMAP mailbox, and check it signs in."
)(imap.set_imap)
