"""Composition root: the one place that turns Settings into the things the app runs on."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from outreach.clock import Clock, SystemClock
from outreach.config import Settings
from outreach.db import create_engine, session_factory
from outreach.delivery.models import SenderAccount
from outreach.delivery.transports.base import Transport
from outreach.delivery.transports.outbox import OutboxTransport
from outreach.delivery.transports.smtp import SmtpTransport
from outreach.drafts.writers.base import DraftWriter
from outreach.drafts.writers.template import TemplateWriter
from outreach.sealing import unseal


@dataclass
class Container:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    clock: Clock = field(default_factory=SystemClock)

    @property
    def session_lifetime(self) -> timedelta:
        return timedelta(days=self.settings.session_days)

    @property
    def outbox_folder(self) -> Path:
        return self.settings.data_dir / "outbox"

    def transport_for(self, account: SenderAccount) -> Transport:
        """The transport a sender account sends through: the only place transports are built."""
        if account.kind == "smtp":
            settings = account.settings or {}
            secrets = unseal(self.settings.secret_key_value(), account.secret)
            return SmtpTransport(
                settings["host"],
                int(settings.get("port", 587)),
                security=settings.get("security", "starttls"),
                username=settings.get("username"),
                password=secrets.get("password"),
            )
        return OutboxTransport(self.outbox_folder / account.email)

    def draft_writer(self) -> DraftWriter:
        """Claude when ANTHROPIC_API_KEY is set, else the template filled in: the only place
        draft writers are built."""
        key = self.settings.anthropic_api_key
        if key is None or not key.get_secret_value().strip():
            return TemplateWriter()
        # Imported here: the SDK takes seconds to import, which every CLI command and worker
        # start would pay even without a key.
        from outreach.drafts.writers.anthropic import AnthropicWriter

        return AnthropicWriter(
            api_key=key.get_secret_value().strip(),
            model=self.settings.draft_model,
            base_url=self.settings.anthropic_base_url,
            timeout_seconds=self.settings.draft_timeout_seconds,
            clock=self.clock,
        )

    def close(self) -> None:
        self.engine.dispose()


def build_container(settings: Settings, clock: Clock | None = None) -> Container:
    engine = create_engine(settings.database_url)
    return Container(
        settings=settings,
        engine=engine,
        sessions=session_factory(engine),
        clock=clock or SystemClock(),
    )
