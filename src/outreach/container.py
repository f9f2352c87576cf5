"""Composition root: the one place that turns Settings into the things the app runs on, and
that hands them to the passes every entry point may start (sending, drafting, polling)."""

from __future__ import annotations

import random
import secrets
import ssl
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial
from pathlib import Path
from types import EllipsisType
from typing import TYPE_CHECKING, Any

from outreach.clock import Clock, SystemClock
from outreach.config import LaunchDnsCheck, Settings
from outreach.db import create_engine, session_factory, transaction
from outreach.errors import ValidationFailed
from outreach.leases import Worker
from outreach.providers.errors import AccountError, ProviderError

# The passes, the writers and the providers are imported where they are built: a command
# that reads a table (`outreach senders list`) would otherwise pay for MSAL, the HTTP clients,
# argon2 and every domain's sending and drafting code before doing anything.
if TYPE_CHECKING:
    from sqlalchemy.engine import Engine
    from sqlalchemy.orm import Session, sessionmaker

    from outreach.delivery.dispatch import Links, PassReport
    from outreach.drafts.writers.base import DraftWriter
    from outreach.drafts.writing import WritingReport
    from outreach.events.delivering import HookReport
    from outreach.inbox import categories
    from outreach.inbox.categorizers import Categorizer
    from outreach.inbox.polling import PollReport
    from outreach.providers.base import SignedIn, Transport
    from outreach.providers.dns import Resolver
    from outreach.providers.graph.delegated import DelegatedTokens
    from outreach.providers.graph.session import TokenSource
    from outreach.providers.graph.settings import GraphSettings
    from outreach.providers.graph.tokens import GraphTokens
    from outreach.providers.hooks import Answer, Poster
    from outreach.providers.imap import ImapSettings
    from outreach.providers.inbox import InboxReader
    from outreach.providers.llm import LanguageModel
    from outreach.providers.mail_oauth import DeviceSignIn, MailTokens, OAuthApp, OAuthClient
    from outreach.providers.throttle import SendingPace
    from outreach.senders import dns_check
    from outreach.senders.models import SenderAccount


@dataclass(frozen=True)
class AccountCheck:
    """How one side of a sender account answered a real connection."""

    part: str
    """"sending" or "reading replies"."""
    ok: bool
    text: str
    error: ProviderError | None = None
    """What failed, for the account's state (senders.record_test)."""


@dataclass(frozen=True)
class GraphSignIn:
    """A mailbox's owner signing in to Microsoft through an Azure app, the app's settings
    resolved as the sender account will keep them (providers/graph/delegated.py)."""

    settings: GraphSettings
    tokens: GraphTokens

    @property
    def tenant_id(self) -> str:
        return self.settings.tenant_id

    @property
    def client_id(self) -> str:
        return self.settings.client_id

    @property
    def client_secret(self) -> str:
        return self.settings.client_secret

    def start(self, redirect_uri: str) -> dict[str, Any]:
        """The flow to keep until Microsoft redirects back (it holds the PKCE verifier: keep
        it secret); its "auth_uri" is where to send the person."""
        from outreach.providers.graph.delegated import start_sign_in

        return start_sign_in(self.settings, self.tokens, redirect_uri)

    def finish(self, flow: Mapping[str, Any], answer: Mapping[str, str]) -> SignedIn:
        """The person's sign-in from Microsoft's answer (the callback's query), or
        ProviderError saying why it did not complete."""
        from outreach.providers.graph.delegated import finish_sign_in

        return finish_sign_in(self.settings, self.tokens, flow, answer)


@dataclass(frozen=True)
class MailSignIn:
    """A mailbox's owner signing in with Google or Microsoft so that its SMTP account sends
    and reads over XOAUTH2 (providers/mail_oauth.py); each way ends in the refresh token to
    seal on the account."""

    app: OAuthApp
    client: OAuthClient
    redirect_uri: str

    @property
    def name(self) -> str:
        return self.app.name

    def start(self, mailbox: str) -> dict[str, str]:
        """What to keep until the browser comes back (its PKCE verifier: keep it secret),
        and under "url" where to send the person, hinted at `mailbox`."""
        from outreach.providers.mail_oauth import Pkce, authorization_url

        pkce, state = Pkce.new(), secrets.token_urlsafe(16)
        url = authorization_url(
            self.app, redirect_uri=self.redirect_uri, state=state, pkce=pkce, login_hint=mailbox
        )
        return {"url": url, "state": state, "verifier": pkce.verifier}

    def finish(self, started: Mapping[str, str], answer: str | Mapping[str, str]) -> str:
        """The refresh token for the provider's answer: the callback's query, or the address
        (or code) a person pasted. ProviderError saying why when there is none."""
        from outreach.providers.mail_oauth import Pkce, answered_code, pasted_code

        state = started["state"]
        code = (
            pasted_code(answer, state) if isinstance(answer, str) else answered_code(answer, state)
        )
        grant = self.client.exchange_code(
            self.app, code, self.redirect_uri, Pkce(started["verifier"])
        )
        assert grant.refresh_token is not None  # exchange_code insists on one
        return grant.refresh_token

    def start_device(self) -> DeviceSignIn:
        """Microsoft's device code: the words to show the person, and how long it lasts."""
        return self.client.start_device(self.app)

    def poll_device(self, device: DeviceSignIn) -> str | None:
        """The refresh token once the person signed in with the device code, else None."""
        grant = self.client.poll_device(self.app, device)
        return None if grant is None else grant.refresh_token


@dataclass
class Container:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    clock: Clock = field(default_factory=SystemClock)
    tls_context: ssl.SSLContext | None = None
    """Which certificates provider APIs (Graph) must present: None is the system's trust
    store; a corporate proxy's CA (or a test's) otherwise."""
    worker: Worker = field(default_factory=Worker.this_process)
    """Who this process's passes claim work as, and whose lease they hold."""
    _graph_tokens: GraphTokens | None = field(default=None, init=False, repr=False)
    _paces: dict[str, SendingPace] = field(default_factory=dict, init=False, repr=False)
    _delegated: dict[uuid.UUID, DelegatedTokens] = field(
        default_factory=dict, init=False, repr=False
    )
    _oauth_client: OAuthClient | None = field(default=None, init=False, repr=False)
    _mail_tokens: dict[uuid.UUID, MailTokens] = field(default_factory=dict, init=False, repr=False)

    @property
    def session_lifetime(self) -> timedelta:
        return timedelta(days=self.settings.session_days)

    @property
    def links(self) -> Links:
        """What writing unsubscribe links needs: sending, and previews of what is sent."""
        from outreach.delivery.dispatch import Links

        return Links(self.settings.secret_key_value(), self.settings.base_url)

    @property
    def outbox_folder(self) -> Path:
        return self.settings.data_dir / "outbox"

    def transport_for(self, account: SenderAccount) -> Transport:
        """The transport a sender account sends through: the only place transports are built."""
        from outreach.providers.graph.transport import GraphTransport
        from outreach.providers.outbox import OutboxTransport
        from outreach.providers.smtp import SmtpTransport
        from outreach.sealing import unseal

        if account.kind == "smtp":
            settings = account.settings or {}
            secrets = unseal(self.settings.secret_key_value(), account.secret)
            return SmtpTransport(
                settings["host"],
                int(settings.get("port", 587)),
                security=settings.get("security", "starttls"),
                username=settings.get("username"),
                password=secrets.get("password"),
                pace=self.pace_of(account) if "per_minute" in settings else None,
                oauth=self.mail_tokens_for(account),
            )
        if account.kind == "graph":
            return GraphTransport(
                self.graph_settings(account),
                self.tokens_for(account),
                clock=self.clock,
                ssl_context=self.tls_context,
                pace=self.pace_of(account),
            )
        return OutboxTransport(self.outbox_folder / account.email)

    def pace_of(self, account: SenderAccount) -> SendingPace:
        """The one pace every connection of this process to the account shares."""
        from outreach.providers.throttle import SendingPace
        from outreach.senders import service as senders

        per_minute = senders.per_minute_of(account)
        pace = self._paces.get(account.email)
        if pace is None or pace.per_minute != per_minute:
            pace = self._paces[account.email] = SendingPace(per_minute)
        return pace

    def graph_settings(self, account: SenderAccount) -> GraphSettings:
        """A Graph account's own tenant and app, else the original system's OUTLOOK_* ones."""
        from outreach.sealing import unseal

        stored = account.settings or {}
        return self.graph_app_settings(
            account.email,
            tenant_id=stored.get("tenant_id"),
            client_id=stored.get("client_id"),
            client_secret=unseal(self.settings.secret_key_value(), account.secret).get("password"),
            delegated=stored.get("auth") == "delegated",
            one_click_unsubscribe=stored.get("one_click_unsubscribe", True),
            graph_url=stored.get("graph_url"),
            authority_url=stored.get("authority_url"),
        )

    def graph_app_settings(
        self,
        mailbox: str,
        *,
        tenant_id: str | None = None,
        client_id: str | None = None,
        client_secret: str | None = None,
        delegated: bool = False,
        one_click_unsubscribe: bool = True,
        graph_url: str | None = None,
        authority_url: str | None = None,
    ) -> GraphSettings:
        """GraphSettings from what is given, the rest from OUTLOOK_* and OUTREACH_GRAPH_*; a
        person's sign-in without a tenant goes through the multi-tenant "common" authority."""
        from outreach.providers.graph.settings import GraphSettings

        own = self.settings
        fallback = own.outlook_client_secret.get_secret_value() if own.outlook_client_secret else ""
        try:
            return GraphSettings(
                tenant_id=tenant_id or own.outlook_tenant_id or ("common" if delegated else ""),
                client_id=client_id or own.outlook_client_id or "",
                client_secret=client_secret or fallback,
                mailbox=mailbox,
                graph_url=graph_url or own.graph_url,
                authority_url=authority_url or own.graph_authority_url,
                one_click_unsubscribe=one_click_unsubscribe,
                delegated=delegated,
            )
        except ValueError as error:
            raise AccountError(
                f"{error}: set it on the account, or OUTLOOK_TENANT_ID, OUTLOOK_CLIENT_ID and "
                "OUTLOOK_CLIENT_SECRET for every Graph account"
            ) from error

    def graph_sign_in(
        self, mailbox: str, *, tenant_id: str, client_id: str, client_secret: str
    ) -> GraphSignIn:
        """A person's sign-in to their own mailbox (`mailbox` is a hint; empty: "me"), through
        the app given, the rest from OUTLOOK_* (AccountError when nothing names one)."""
        settings = self.graph_app_settings(
            mailbox or "me",
            tenant_id=tenant_id,
            client_id=client_id,
            client_secret=client_secret,
            delegated=True,
        )
        return GraphSignIn(settings, self.graph_tokens)

    def tokens_for(self, account: SenderAccount) -> TokenSource:
        """The app's own tokens, or the sign-in of the mailbox's owner, kept sealed on the
        account and sealed again whenever MSAL refreshes it."""
        from outreach.providers.graph.delegated import DelegatedTokens
        from outreach.sealing import unseal

        if (account.settings or {}).get("auth") != "delegated":
            return self.graph_tokens
        stored = unseal(self.settings.secret_key_value(), account.secret).get("token_cache", "")
        kept = self._delegated.get(account.id)
        if kept is None or kept.loaded_from != stored:
            kept = DelegatedTokens(stored, self.graph_tokens, partial(self._keep, account.id))
            self._delegated[account.id] = kept
        return kept

    def _keep(self, sender_id: uuid.UUID, token_cache: str) -> None:
        from outreach.senders import service as senders

        with transaction(self.sessions) as session:
            senders.keep_token_cache(
                session, sender_id, token_cache, secret_key=self.settings.secret_key_value()
            )

    def oauth_app(self, provider: str) -> OAuthApp:
        """The app SMTP and IMAP mailboxes of `provider` sign in through: GOOGLE_CLIENT_* for
        Google, OUTLOOK_* for Microsoft (its tenant, else "common": any work or personal
        account), at OUTREACH_GRAPH_AUTHORITY_URL. AccountError when it is not configured."""
        from outreach.providers.mail_oauth import GOOGLE_SCOPES, MICROSOFT_SCOPES, OAuthApp

        own = self.settings
        if provider == "google":
            secret = own.google_client_secret
            return OAuthApp(
                "google",
                own.google_client_id or "",
                secret.get_secret_value() if secret else "",
                own.google_authorize_url,
                own.google_token_url,
                None,
                GOOGLE_SCOPES,
            )
        secret = own.outlook_client_secret
        base = f"{own.graph_authority_url.rstrip('/')}/{own.outlook_tenant_id or 'common'}"
        return OAuthApp(
            "microsoft",
            own.outlook_client_id or "",
            secret.get_secret_value() if secret else "",
            f"{base}/oauth2/v2.0/authorize",
            f"{base}/oauth2/v2.0/token",
            f"{base}/oauth2/v2.0/devicecode",
            MICROSOFT_SCOPES,
        )

    def mail_sign_in(self, provider: str) -> MailSignIn:
        """A mailbox's sign-in with `provider` ("google" or "microsoft") for SMTP and IMAP,
        coming back to the senders page's callback."""
        from outreach.providers.mail_oauth import oauth_callback_url

        return MailSignIn(
            self.oauth_app(provider), self.oauth_client, oauth_callback_url(self.settings.base_url)
        )

    @property
    def oauth_client(self) -> OAuthClient:
        """Google's and Microsoft's token endpoints for mailbox sign-ins, shared by all
        threads: the only place it is built."""
        from outreach.providers.mail_oauth import OAuthClient

        if self._oauth_client is None:
            self._oauth_client = OAuthClient(self.clock, ssl_context=self.tls_context)
        return self._oauth_client

    def mail_tokens_for(self, account: SenderAccount) -> MailTokens | None:
        """The access tokens an SMTP account signed in with OAuth sends and reads with (None
        for a password), from its sealed refresh token, sealed again when it rotates."""
        from outreach.providers.mail_oauth import MailTokens
        from outreach.sealing import unseal
        from outreach.senders import service as senders

        provider = senders.oauth_provider_of(account)
        if provider is None:
            return None
        key = self.settings.secret_key_value()
        stored = str(unseal(key, account.secret).get("refresh_token", ""))
        kept = self._mail_tokens.get(account.id)
        if kept is None or kept.loaded_from != stored:
            kept = MailTokens(
                self.oauth_app(provider),
                self.oauth_client,
                stored,
                account.email,
                clock=self.clock,
                save=partial(self._keep_refresh_token, account.id),
            )
            self._mail_tokens[account.id] = kept
        return kept

    def _keep_refresh_token(self, sender_id: uuid.UUID, refresh_token: str) -> None:
        from outreach.senders import service as senders

        with transaction(self.sessions) as session:
            senders.keep_refresh_token(
                session, sender_id, refresh_token, secret_key=self.settings.secret_key_value()
            )

    @property
    def graph_tokens(self) -> GraphTokens:
        """One token cache for every Graph account, shared by all threads."""
        from outreach.providers.graph.tokens import GraphTokens

        if self._graph_tokens is None:
            self._graph_tokens = GraphTokens(ssl_context=self.tls_context)
        return self._graph_tokens

    def inbox_reader_for(self, account: SenderAccount) -> InboxReader | None:
        """The reader of the mailbox an account's replies arrive in: the only place inbox
        readers are built. Graph accounts read their own mailbox; SMTP accounts the IMAP
        mailbox set on them (senders/mailboxes.py); None when there is nothing to read."""
        from outreach.providers.graph.reader import GraphInboxReader
        from outreach.providers.imap import ImapReader

        if account.kind == "graph":
            return GraphInboxReader(
                self.graph_settings(account),
                self.tokens_for(account),
                clock=self.clock,
                ssl_context=self.tls_context,
                lookback=self.inbox_lookback,
            )
        imap = self.imap_settings(account)
        if imap is None:
            return None
        return ImapReader(
            imap,
            ssl_context=self.tls_context,
            clock=self.clock,
            lookback=self.inbox_lookback,
            oauth=self.mail_tokens_for(account),
        )

    @property
    def recent_email(self) -> timedelta:
        """How long an email we sent keeps a one-off first email to its recipient waiting for
        a person's confirmation (delivery/contacted.py)."""
        return timedelta(days=self.settings.recent_email_days)

    @property
    def inbox_lookback(self) -> timedelta:
        return timedelta(days=self.settings.inbox_lookback_days)

    def imap_settings(self, account: SenderAccount) -> ImapSettings | None:
        """How to read an SMTP account's replies (senders/mailboxes.py stores them), or None
        when it has no IMAP mailbox."""
        from outreach.providers.imap import ImapSettings
        from outreach.sealing import unseal
        from outreach.senders import service as senders
        from outreach.senders.mailboxes import SECURITIES

        stored = (account.settings or {}).get("imap")
        if account.kind != senders.SenderKind.smtp.value or not isinstance(stored, dict):
            return None
        secrets = unseal(self.settings.secret_key_value(), account.secret)
        security = stored.get("security", "tls")
        return ImapSettings(
            host=str(stored["host"]),
            port=int(stored.get("port", 993)),
            security=security if security in SECURITIES else "tls",
            username=str(stored.get("username") or account.email),
            password=str(secrets.get("imap_password") or secrets.get("password") or ""),
            folder=str(stored.get("folder") or "INBOX"),
        )

    def check_account(self, account: SenderAccount) -> list[AccountCheck]:
        """Really connects to what the account sends through and, when it has one, the mailbox
        its replies are read from, and says how each went in plain words."""
        checks = []
        try:
            transport = self.transport_for(account)
            try:
                checks.append(AccountCheck("sending", True, transport.check()))
            finally:
                transport.close()
        except ProviderError as error:
            checks.append(AccountCheck("sending", False, error.reason, error))
        try:
            reader = self.inbox_reader_for(account)
            if reader is not None:
                try:
                    checks.append(AccountCheck("reading replies", True, reader.check()))
                finally:
                    reader.close()
        except ProviderError as error:
            checks.append(AccountCheck("reading replies", False, error.reason))
        return checks

    def check_sender_domain(
        self, sender_id: uuid.UUID, selector: str | None = None, *, fresh: bool = False
    ) -> dns_check.DomainCheck:
        """The DNS check of a sender's domain: the one kept from the last day (unless `fresh`),
        else asked of DNS (and of a custom SMTP server) with no transaction open, and kept."""
        from outreach.providers.smtp import offers_starttls
        from outreach.senders import dns_check
        from outreach.senders import service as senders

        selector = dns_check.checked_selector(selector)
        with transaction(self.sessions) as session:
            account = senders.get(session, sender_id)
            kept = None if fresh else dns_check.kept(session, account, self.clock.now(), selector)
        if kept is not None:
            return kept
        check = dns_check.fetch(
            self.resolver(), account, selector, offers_starttls, self.clock.now()
        )
        with transaction(self.sessions) as session:
            dns_check.keep(session, sender_id, check)
        return check

    def launch_warnings(self, campaign_id: uuid.UUID) -> list[str]:
        """What a campaign's launch tells a person about how its emails will be received: no
        one-click unsubscribe (an http OUTREACH_BASE_URL, a Graph mailbox that cannot carry
        List-Unsubscribe-Post), and senders whose domains fail the DNS check or could not be
        checked (OUTREACH_LAUNCH_DNS_CHECK; set to refuse, ValidationFailed while one fails).
        Asks DNS, for senders not checked today, with no transaction open."""
        from outreach.campaigns import queries as campaign_queries
        from outreach.delivery.unsubscribe import no_one_click_from, one_click_warning

        with transaction(self.sessions) as session:
            accounts = campaign_queries.senders_of(session, campaign_id)
        warnings = [one_click_warning(self.settings.base_url)] + [
            no_one_click_from(account.email)
            for account in accounts
            if not (account.settings or {}).get("one_click_unsubscribe", True)
        ]
        checked = [(a.id, a.email) for a in accounts if a.kind != "outbox"]
        return [text for text in warnings if text] + self._domain_warnings(checked)

    def _domain_warnings(self, accounts: list[tuple[uuid.UUID, str]]) -> list[str]:
        if self.settings.launch_dns_check is LaunchDnsCheck.off:
            return []
        warnings, failing = [], []
        for account_id, email in accounts:
            try:
                check = self.check_sender_domain(account_id)
            except ProviderError as error:
                warnings.append(f"{email}'s domain could not be checked in DNS: {error.reason}")
                continue
            if not check.passed:
                topics = ", ".join(finding.topic for finding in check.failures)
                failing.append(f"{email}'s domain fails the DNS check ({topics})")
        if failing and self.settings.launch_dns_check is LaunchDnsCheck.refuse:
            raise ValidationFailed(
                "The campaign cannot start: " + "; ".join(failing) + ". See what to change "
                "with Check DNS on the senders page (`outreach senders check EMAIL`).",
                problems=failing,
            )
        return [f"{text}: see Check DNS on the senders page." for text in failing] + warnings

    def resolver(self) -> Resolver:
        # Imported here: dnspython costs every command's start 30 ms, and only a check uses it.
        from outreach.providers.dns_python import DnsPythonResolver

        server = self.settings.dns_server_address
        if server is None:
            return DnsPythonResolver()
        return DnsPythonResolver([server[0]], server[1])

    def _language_model(self) -> LanguageModel | None:
        """The Anthropic API when ANTHROPIC_API_KEY is set, else None."""
        key = self.settings.anthropic_api_key
        if key is None or not key.get_secret_value().strip():
            return None
        # Imported here: the SDK takes seconds to import, which every CLI command and worker
        # start would pay even without a key.
        from outreach.providers.anthropic import AnthropicMessages

        return AnthropicMessages(
            api_key=key.get_secret_value().strip(),
            base_url=self.settings.anthropic_base_url,
            timeout_seconds=self.settings.draft_timeout_seconds,
            clock=self.clock,
        )

    def reply_categorizer(self) -> Categorizer:
        """Claude when ANTHROPIC_API_KEY is set, else the phrase rules: the only place reply
        categorizers are built."""
        from outreach.inbox.categorizers import ClaudeCategorizer, RuleCategorizer

        messages = self._language_model()
        if messages is None:
            return RuleCategorizer()
        return ClaudeCategorizer(messages, model=self.settings.category_model)

    def categorizing_pass(self) -> categories.CategorizingReport:
        """Categorizes the replies waiting for it (inbox/categories.py)."""
        from outreach.inbox import categories

        return categories.categorizing_pass(
            self.sessions,
            self.clock,
            self.reply_categorizer,
            concurrency=self.settings.category_concurrency,
        )

    def draft_writer(self) -> DraftWriter:
        """Claude when ANTHROPIC_API_KEY is set, else the template filled in: the only place
        draft writers are built."""
        from outreach.drafts.writers.anthropic import AnthropicWriter
        from outreach.drafts.writers.template import TemplateWriter

        messages = self._language_model()
        if messages is None:
            return TemplateWriter()
        return AnthropicWriter(messages, model=self.settings.draft_model)

    def sending_pass(
        self, *, dry_run: bool = False, rng: random.Random | None = None
    ) -> PassReport:
        """A sending pass (delivery/dispatch.py) as this process, through the container's
        transports."""
        from outreach.delivery import dispatch

        return dispatch.sending_pass(
            self.sessions,
            self.clock,
            self.links,
            self.transport_for,
            worker=self.worker,
            dry_run=dry_run,
            rng=rng,
        )

    def settle_lapsed(self) -> list[str]:
        """Sends left `sending` by a worker that is gone become unknown now (or what their
        provider says of them): what anyone does before showing sends in doubt."""
        from outreach.delivery import dispatch

        return dispatch.settle_lapsed(self.sessions, self.clock, self.transport_for, me=self.worker)

    def drafting_pass(
        self,
        *,
        batch_id: uuid.UUID | None = None,
        budget_seconds: float | EllipsisType | None = ...,
        linger: bool = False,
    ) -> WritingReport:
        """A drafting pass (drafts/drafting.py) as this process, with the container's writer
        and the settings' concurrency and deadline; `budget_seconds` left out is the pass's
        own (drafting.PASS_SECONDS)."""
        from outreach.drafts import drafting

        return drafting.drafting_pass(
            self.sessions,
            self.draft_writer,
            self.clock,
            concurrency=self.settings.draft_concurrency,
            deadline_seconds=self.settings.draft_deadline_seconds,
            worker=self.worker.name,
            batch_id=batch_id,
            budget_seconds=drafting.PASS_SECONDS if budget_seconds is ... else budget_seconds,
            linger=linger,
        )

    def poll_mailboxes(self, sender: str | None = None, *, force: bool = False) -> PollReport:
        """An inbox poll (inbox/polling.py) of every account's mailbox that is due (or only
        `sender`'s), with the container's readers; `force` reads them whenever they were last
        read (a person asked)."""
        from outreach.inbox import polling
        from outreach.inbox import service as inbox

        every = timedelta(seconds=0 if force else self.settings.inbox_poll_seconds)
        return polling.poll_mailboxes(
            self.sessions,
            self.clock,
            self.inbox_reader_for,
            every=every,
            options=inbox.IngestOptions(
                postpone_auto_replies=self.settings.inbox_postpone_on_auto_reply,
                keep_attachments_up_to=self.settings.inbox_attachment_max_bytes,
            ),
            sender=sender,
        )

    def webhook_poster(self) -> Poster:
        """The HTTP client webhooks are POSTed with: the only place it is built."""
        from outreach.events import delivering
        from outreach.providers.http_hooks import HttpPoster

        return HttpPoster(timeout=delivering.TIMEOUT_SECONDS, ssl_context=self.tls_context)

    def webhook_pass(self) -> HookReport:
        """A webhook pass (events/delivering.py): events numbered, due deliveries POSTed."""
        from outreach.events import delivering

        poster = self.webhook_poster()
        try:
            return delivering.delivery_pass(
                self.sessions, self.clock, poster, self.settings.secret_key_value()
            )
        finally:
            poster.close()

    def send_webhook_now(self, delivery_id: uuid.UUID) -> Answer | str:
        """One webhook delivery POSTed at once (a person's test): the answer, or why none."""
        from outreach.events import delivering

        poster = self.webhook_poster()
        try:
            return delivering.send_now(
                self.sessions, self.clock, poster, self.settings.secret_key_value(), delivery_id
            )
        finally:
            poster.close()

    def close(self) -> None:
        if self._graph_tokens is not None:
            self._graph_tokens.close()
        if self._oauth_client is not None:
            self._oauth_client.close()
        self.engine.dispose()


def build_container(settings: Settings, clock: Clock | None = None) -> Container:
    engine = create_engine(settings.database_url)
    return Container(
        settings=settings,
        engine=engine,
        sessions=session_factory(engine),
        clock=clock or SystemClock(),
    )
