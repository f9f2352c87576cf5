"""Drafts in tests as a user makes them: a list of people, a template, a container whose
writer is the template writer or Claude on a fake Anthropic API."""

from __future__ import annotations

import random
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.orm import Session

from outreach.campaigns.states import DraftType
from outreach.clock import Clock, FixedClock
from outreach.config import Settings
from outreach.contacts import lists
from outreach.contacts.models import Contact, ContactList
from outreach.container import Container
from outreach.db import session_factory
from outreach.drafts import queries as drafts
from outreach.drafts import templates
from outreach.drafts.models import EmailDraft, EmailTemplate
from tests.app_settings import isolated_settings
from tests.campaign_setup import PEOPLE
from tests.contact_files import import_text
from tests.fakes.anthropic_server import API_KEY, FakeAnthropic

RECENT = timedelta(days=30)
"""OUTREACH_RECENT_EMAIL_DAYS as by default, for calls to the domain that take it."""

FIRST_EMAIL = (
    "Subject: Routes for {{ company }}\n"
    "Hi {{ first_name }},\n\nHow are the roads in {{ city }} this spring?\n\nBest,\nMe"
)
FOLLOW_UP = "Hi {{ first_name }}, just checking you saw my note about {{ city }}."
BRIEF = "Pitch our route-planning tool to {{ company }} in {{ city }}. Under 100 words."


def people(
    session: Session, clock: Clock, folder: Path, text: str = PEOPLE, name: str = "Pioneers"
) -> ContactList:
    audience = lists.create(session, name, None, clock.now())
    import_text(session, clock, folder, text, list_id=audience.id)
    return audience


def template(
    session: Session, clock: Clock, content: str = FIRST_EMAIL, name: str = "First email"
) -> EmailTemplate:
    return templates.create(session, name, content, clock.now())


def contact(session: Session, email: str) -> Contact:
    found = session.scalar(sa.select(Contact).where(Contact.email == email))
    assert found is not None
    return found


def approved_one_off(session: Session, clock: Clock, email: str) -> EmailDraft:
    """A one-off first email to a contact, written and approved by a person (committed)."""
    draft = drafts.add_written(
        session,
        contact_id=contact(session, email).id,
        draft_type=DraftType.first_outreach,
        subject="Quick one",
        body="Hi, a short note.",
        at=clock.now(),
    )
    drafts.approve(session, draft.id, clock.now())
    session.commit()
    return draft


def claude_settings(folder: Path, api: FakeAnthropic, **values: object) -> Settings:
    return isolated_settings(
        folder,
        ANTHROPIC_API_KEY=API_KEY,
        ANTHROPIC_BASE_URL=api.base_url,
        OUTREACH_DRAFT_MODEL="claude-sonnet-5-5",
        **values,
    )


def claude_container(
    folder: Path,
    api: FakeAnthropic,
    engine: sa.Engine,
    connection: sa.Connection,
    clock: FixedClock,
    **values: object,
) -> Container:
    """The app's container with Claude on the fake API, joined to the test's transaction."""
    return Container(
        settings=claude_settings(folder, api, **values),
        engine=engine,
        sessions=session_factory(connection),
        clock=clock,
    )


class NoJitter(random.Random):
    """Retries exactly when asked, so tests can say when."""

    def random(self) -> float:
        return 0.0
