"""Send me a test: a campaign step, written for one contact of its list, sent once to the person
writing the campaign through one of the campaign's sender accounts.

Like every email, it has its row before the transport is called (test_sends, keyed by the
one-time key of the form that asked for it), in three steps the caller runs: `begin` (write the
row and the message, then commit), the transport's send with no transaction open, `finish`.
A second click, or the form sent again, finds the row and sends nothing.

A test is not a campaign send, so it is kept out of deliveries and sent_emails: it counts in
no analytics, no daily limit or sender cap, and the contact whose fields filled it in is not
marked as contacted (the never-twice ledger). Its unsubscribe line shows where the contact's
link goes without the link itself: a click in a test must not unsubscribe the contact.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from outreach.campaigns import queries as campaign_queries
from outreach.campaigns import service as campaigns
from outreach.contacts import queries as contact_queries
from outreach.contacts.models import Contact
from outreach.delivery.models import SentTest
from outreach.delivery.planning import UNSUBSCRIBE_LINE
from outreach.errors import Conflict, ValidationFailed
from outreach.providers.compose import new_message_id
from outreach.providers.message import Mailbox, OutgoingMessage
from outreach.senders.models import SenderAccount

SUBJECT_MARK = "[Test] "
FOOTER_LINK = "(the contact's own unsubscribe link)"


@dataclass(frozen=True)
class PreparedTest:
    key: uuid.UUID
    account: SenderAccount
    message: OutgoingMessage


def begin(
    session: Session,
    key: uuid.UUID,
    campaign_id: uuid.UUID,
    step_id: uuid.UUID,
    sender_id: uuid.UUID | None,
    contact: Contact | None,
    to: str,
    now: datetime,
) -> PreparedTest:
    """Writes the test's row (flushed) and gives the message to send: step `step_id` of the
    campaign as `contact` would get it (the list's first contact when None), from `sender_id`
    (one of the campaign's accounts; its first when None) to `to`. Conflict when the form's
    `key` was used already; ValidationFailed when there is nothing to send or no one to send it
    from."""
    if session.get(SentTest, key) is not None:
        raise Conflict("This test was sent already: reload the page to send another.")
    steps = campaign_queries.steps_of(session, campaign_id)
    index = next((i for i, step in enumerate(steps) if step.id == step_id), None)
    if index is None:
        raise ValidationFailed("That step is no longer in the campaign: reload the page.")
    accounts = campaign_queries.senders_of(session, campaign_id)
    account = next((a for a in accounts if sender_id in (None, a.id)), None)
    if account is None:
        raise ValidationFailed(
            "Choose the account to send from on the campaign's Schedule & senders tab first."
        )
    found = campaigns.get(session, campaign_id)
    if contact is None and found.list_id is not None:
        contact = contact_queries.first_matching(
            session, contact_queries.ContactFilter(list_id=found.list_id)
        )
    if contact is None:
        raise ValidationFailed("The campaign's list has no contact to write the test for.")
    settings = campaign_queries.settings_of(session, campaign_id)
    footer = UNSUBSCRIBE_LINE.format(url=FOOTER_LINK) if settings.unsubscribe_line else ""
    shown = campaigns.preview_step(steps, index, campaigns.fields_of(contact), footer)
    if shown.problems:
        raise ValidationFailed(
            f"Step {index + 1} cannot be written for {contact.email}: " + "; ".join(shown.problems)
        )
    message_id = new_message_id(account.email.rpartition("@")[2], now)
    try:
        with session.begin_nested():
            session.add(
                SentTest(
                    id=key,
                    campaign_id=campaign_id,
                    step_id=step_id,
                    sender_account_id=account.id,
                    recipient_email=to,
                    message_id=message_id,
                    created_at=now,
                )
            )
    except IntegrityError as error:  # the same form sent twice at once
        raise Conflict("This test was sent already: reload the page to send another.") from error
    message = OutgoingMessage(
        message_id=message_id,
        sender=Mailbox(account.email, account.display_name),
        recipient=Mailbox(to),
        subject=SUBJECT_MARK + shown.subject,
        text=shown.text,
        html=shown.html,
        date=now,
    )
    return PreparedTest(key, account, message)


def finish(session: Session, key: uuid.UUID, now: datetime, error: str | None = None) -> None:
    """Records how the test went: sent at `now`, or the provider's `error`."""
    session.execute(
        sa.update(SentTest)
        .where(SentTest.id == key)
        .values(sent_at=None if error else now, error=error)
    )
