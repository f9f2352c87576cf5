"""A database with realistic rows in every table, made the way users make them."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.orm import Session

from outreach.access import queries as access_queries
from outreach.access import service as access
from outreach.access.models import Role
from outreach.campaigns import service as campaigns
from outreach.campaigns.states import DraftType
from outreach.clock import FixedClock
from outreach.contacts import importing, notes, suppressions
from outreach.contacts.models import Contact
from outreach.container import Container, build_container
from outreach.db import transaction
from outreach.delivery import contacted, scheduled
from outreach.delivery.models import Delivery
from outreach.drafts import batches, templates
from outreach.drafts import queries as drafts
from outreach.drafts.models import EmailTemplate
from outreach.events import feed, retention, webhooks
from outreach.inbox import answers as inbox_answers
from outreach.inbox import conversations as conversation_service
from outreach.inbox import queries as inbox_queries
from outreach.inbox import service as inbox
from outreach.inbox.models import Conversation
from outreach.portability import exporting
from outreach.portability.tables import export_order
from outreach.providers.inbox import InboundMessage, InboxPage
from outreach.senders import service as senders
from outreach.senders.models import SenderAccount
from tests.app_settings import isolated_settings
from tests.campaign_setup import PEOPLE, outbox_sender, three_step_campaign
from tests.inbox_messages import Thread, outlook_auto_reply, plain_reply, with_attachment
from tests.plain_sql import insert

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def container_on(url: str, folder: Path, **settings: object) -> Container:
    """A container of our own on the database at `url`, its data in `folder`, at START."""
    folder.mkdir(parents=True, exist_ok=True)
    return build_container(
        isolated_settings(folder, DATABASE_URL=url, **settings), FixedClock(START)
    )


def checksums(folder: Path) -> dict[str, tuple[int, str]]:
    """(rows, sha256) per table, as an export's manifest records them."""
    manifest = json.loads((folder / exporting.MANIFEST).read_text())
    return {entry["table"]: (entry["rows"], entry["sha256"]) for entry in manifest["tables"]}


def counts(engine: sa.Engine) -> dict[str, int]:
    with engine.connect() as connection:
        return {
            t.name: connection.scalar(sa.select(sa.func.count()).select_from(t)) or 0
            for t in export_order()
        }


def fill_every_table(container: Container, folder) -> None:  # type: ignore[no-untyped-def]
    """Contacts from a file, a campaign sent over the local outbox for two steps, a reply, a
    one-off email, an answer to the out-of-office, a template, a suppression, a saved mapping, users and an API token, an
    out-of-office read from the inbox, and a batch of drafts written for the list."""
    clock = container.clock
    assert isinstance(clock, FixedClock)
    clock.advance(START - clock.now())
    with transaction(container.sessions) as session:
        outbox = outbox_sender(session, container)
        found = three_step_campaign(
            session,
            clock,
            folder,
            [str(outbox.id)],
            people=PEOPLE
            + "zoe@ümlaut.example,Zoë Ümlaut,Café Zoë,Zürich\nnot-an-address,Nobody,,\n",
        )
        campaigns.launch(session, found.id, clock.now())
        importing.save_mapping(session, "CRM", {"email": "email", "name": "name"})
        suppressions.add(
            session, "@blocked.example", suppressions.Reason.manual, "tests", clock.now()
        )
        admin = access.create_user(
            session, "ada@ourco.example", "correct horse battery", Role.admin
        )
        access.issue_api_token(session, admin, "sync", clock.now())
        webhooks.add(
            session,
            "https://crm.example/hooks",
            ["reply.received"],
            secret_key=container.settings.secret_key_value(),
            now=clock.now(),
        )
        session.add(
            EmailTemplate(
                name="Intro", template_content="Write to {{ first_name }} about {{ company }}."
            )
        )
    container.sending_pass()
    with transaction(container.sessions) as session:
        # The first email's event forgotten, as after OUTREACH_EVENTS_KEEP_DAYS
        # (events_forgotten); the events after it are numbered when read, as in use.
        feed.number_committed(session, clock.now())
        retention.forget_before(session, clock.now() + timedelta(seconds=1), clock.now(), batch=1)
    clock.advance(timedelta(days=2))
    container.sending_pass()
    with transaction(container.sessions) as session:
        _reply_and_one_off(session, container, found.id, outbox.id)
    container.sending_pass()
    with transaction(container.sessions) as session:
        _out_of_office(session, container, outbox.id)
        _answered(session, container, outbox.id)
        _assigned_and_noted(session, container)
    container.sending_pass()
    with transaction(container.sessions) as session:
        _referral(session, container, outbox.id)
    container.categorizing_pass()  # reply_categorizations, referrals, contact_changes
    _drafts_for_the_list(container, found.list_id)


def _assigned_and_noted(session: Session, container: Container) -> None:
    """The admin answers the first conversation and wrote a note on its contact
    (conversations.assigned_to, contact_notes)."""
    admin = access_queries.user_by_email(session, "ada@ourco.example")
    assert admin is not None
    first = session.scalars(sa.select(Conversation).order_by(Conversation.created_at)).first()
    assert first is not None
    conversation_service.assign(session, first.id, admin.id)
    notes.add(
        session,
        first.contact_id,
        admin.id,
        "Prefers calls — ask for a number.",
        container.clock.now(),
    )


def _drafts_for_the_list(container: Container, list_id: uuid.UUID) -> None:
    """First emails written for the campaign's list by the template writer (draft_batches,
    draft_jobs, and drafts to review)."""
    with transaction(container.sessions) as session:
        welcome = templates.create(
            session,
            "Welcome",
            "Subject: A route for {{ company }}\nHi {{ first_name }}, a note from us.",
            container.clock.now(),
        )
        batch = batches.for_list(
            session,
            list_id,
            batches.instructions([DraftType.first_outreach], welcome.id),
            container.clock.now(),
            held=contacted.holds(session, container.clock.now(), container.recent_email),
        )
    container.drafting_pass(batch_id=batch.id, budget_seconds=None)


def _out_of_office(session: Session, container: Container, sender_id: uuid.UUID) -> None:
    """An out-of-office with a logo attached read from the sender's mailbox (inbox_cursors,
    conversations, inbox_messages, inbox_attachments); its return date is past, so no
    enrollment changes."""
    now = container.clock.now()
    delivery = session.scalars(
        sa.select(Delivery).where(Delivery.status == "sent").order_by(Delivery.message_id).limit(1)
    ).one()
    to = session.get(Contact, delivery.contact_id)
    assert to is not None
    raw = with_attachment(
        outlook_auto_reply(
            Thread(delivery.message_id, "Hello", "me@ourco.example", to.email),
            back="1 March 2026",
        ),
        "logo.png",
        "image/png",
        b"\x89PNG\r\n\x1a\n\x00\xff",
    )
    account = session.get(SenderAccount, sender_id)
    assert account is not None
    inbox_queries.claim_poll(session, sender_id, now, now)
    page = InboxPage((InboundMessage("1:1", raw, now),), "1:1", more=False)
    assert inbox.ingest(session, account, page, now).acted == {"auto_reply": 1}


def _referral(session: Session, container: Container, sender_id: uuid.UUID) -> None:
    """A reply from the last contact emailed that points to a colleague."""
    now = container.clock.now()
    delivery = session.scalars(
        sa.select(Delivery)
        .where(Delivery.status == "sent")
        .order_by(Delivery.message_id.desc())
        .limit(1)
    ).one()
    to = session.get(Contact, delivery.contact_id)
    account = session.get(SenderAccount, sender_id)
    assert to is not None
    assert account is not None
    raw = plain_reply(
        "I'm not the right person, please contact lin@elsewhere.example.",
        Thread(delivery.message_id, "Hello", "me@ourco.example", to.email),
    )
    page = InboxPage((InboundMessage("1:2", raw, now),), "1:2", more=False)
    assert inbox.ingest(session, account, page, now).acted == {"human_reply": 1}


def _answered(session: Session, container: Container, sender_id: uuid.UUID) -> None:
    """The out-of-office's conversation answered from the app (answers, a signature)."""
    now = container.clock.now()
    senders.set_signature(session, sender_id, "Me\nOurco")
    conversation = session.scalars(sa.select(Conversation)).one()
    inbox_answers.send(session, conversation.id, "Welcome back, {{ first_name }}.", now, now, None)


def _reply_and_one_off(
    session: Session, container: Container, campaign_id: uuid.UUID, sender_id: uuid.UUID
) -> None:
    clock = container.clock
    contact_id = session.execute(
        __import__("sqlalchemy").text(
            "SELECT contact_id FROM campaign_contacts WHERE campaign_id = :c ORDER BY contact_id LIMIT 1"
        ),
        {"c": str(campaign_id)},
    ).scalar_one()
    insert(
        session.connection(),
        "email_replies",
        contact_id=str(contact_id),
        campaign_id=str(campaign_id),
        subject="Re: Hello",
        snippet="Sounds good!",
        received_at=clock.now().isoformat(),
    )
    draft = drafts.add_written(
        session,
        contact_id=uuid.UUID(str(contact_id)),
        draft_type=DraftType.first_outreach,
        subject="Thanks",
        body="Thanks for your reply.",
        at=clock.now(),
    )
    drafts.approve(session, draft.id, clock.now())
    # A thank-you to someone who answered our campaign: the person confirmed it.
    scheduled.schedule(
        session,
        draft.id,
        sender_id,
        clock.now(),
        clock.now(),
        recent=container.recent_email,
        anyway=True,
    )
