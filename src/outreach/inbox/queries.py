"""SQL for the inbox: what our sent emails look like to matching, what was already stored, the
mailbox cursors, and the inbox page."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from outreach.campaigns.models import Campaign, CampaignContact
from outreach.campaigns.states import RUNNING_VALUES
from outreach.contacts.models import Contact
from outreach.db import keyset_page
from outreach.delivery.models import Answer, Delivery
from outreach.delivery.models import SentEmail as SentEmailRow
from outreach.inbox.kinds import Kind
from outreach.inbox.match import KnownEmails, SentEmail
from outreach.inbox.models import Conversation, EmailReply, InboxCursor, InboxMessage
from outreach.senders.models import SenderAccount

WENT_OUT = ("sent", "unknown")
"""Deliveries a message can answer: sent, or left unknown by a crash (a reply says it went)."""


@dataclass(frozen=True)
class Target:
    """Everything acting on a matched message needs about our email."""

    key: uuid.UUID
    """The delivery's id; the sent email's for one sent before outreach (brought from the
    original system, which kept no deliveries)."""
    delivery_id: uuid.UUID | None
    sent_email_id: uuid.UUID | None
    contact_id: uuid.UUID
    campaign_id: uuid.UUID | None
    enrollment_id: uuid.UUID | None
    recipient: str


def _targets(session: Session, *where: sa.ColumnElement[bool]) -> list[tuple[Target, str, str]]:
    """(target, message id, conversation id or "") of deliveries that went out, newest first."""
    rows = session.execute(
        sa.select(
            Delivery.id,
            Delivery.sent_email_id,
            Delivery.contact_id,
            Delivery.campaign_id,
            Delivery.campaign_contact_id,
            sa.func.lower(Contact.email),
            Delivery.message_id,
            Delivery.conversation_id,
        )
        .join(Contact, Contact.id == Delivery.contact_id)
        .where(Delivery.status.in_(WENT_OUT), *where)
        .order_by(Delivery.sent_at.desc(), Delivery.id)
    )
    return [
        (Target(row[0], row[0], row[1], row[2], row[3], row[4], row[5]), row[6], row[7] or "")
        for row in rows
    ]


def _imported_targets(session: Session, *where: sa.ColumnElement[bool]) -> list[tuple[Target, str]]:
    """(target, message id) of sent emails no delivery of ours made (the original system's),
    newest first; the enrollment is the contact's in the email's campaign."""
    ours = sa.select(Delivery.id).where(Delivery.sent_email_id == SentEmailRow.id)
    rows = session.execute(
        sa.select(
            SentEmailRow.id,
            SentEmailRow.contact_id,
            SentEmailRow.campaign_id,
            CampaignContact.id,
            sa.func.lower(Contact.email),
            SentEmailRow.message_id,
        )
        .join(Contact, Contact.id == SentEmailRow.contact_id)
        .outerjoin(
            CampaignContact,
            sa.and_(
                CampaignContact.campaign_id == SentEmailRow.campaign_id,
                CampaignContact.contact_id == SentEmailRow.contact_id,
            ),
        )
        .where(SentEmailRow.message_id.is_not(None), ~ours.exists(), *where)
        .order_by(SentEmailRow.sent_at.desc(), SentEmailRow.id)
    )
    return [(Target(row[0], None, row[0], row[1], row[2], row[3], row[4]), row[5]) for row in rows]


def known_emails(
    session: Session,
    message_ids: Collection[str],
    conversation_ids: Collection[str],
    addresses: Collection[str],
) -> tuple[KnownEmails, dict[uuid.UUID, Target]]:
    """What matching may ask about a whole page of messages, in one query per kind of key and
    table (deliveries' unique message_id index and sent_emails' message_id index serve the
    first; contacts_email_unique the third), and each found email's target by its key. Emails
    the original system sent, which have no delivery, are matched by Message-ID and address."""
    targets: dict[uuid.UUID, Target] = {}

    def sent(target: Target, message_id: str) -> SentEmail:
        targets[target.key] = target
        return SentEmail(target.key, message_id, target.recipient)

    by_message_id: dict[str, SentEmail] = {}
    if message_ids:
        for target, message_id, _ in _targets(session, Delivery.message_id.in_(message_ids)):
            by_message_id.setdefault(message_id, sent(target, message_id))
        imported = _imported_targets(session, SentEmailRow.message_id.in_(message_ids))
        for target, message_id in imported:
            by_message_id.setdefault(message_id, sent(target, message_id))
    by_conversation: dict[str, list[SentEmail]] = {}
    if conversation_ids:
        for target, message_id, conversation in _targets(
            session, Delivery.conversation_id.in_(conversation_ids)
        ):
            by_conversation.setdefault(conversation, []).append(sent(target, message_id))
    by_address: dict[str, SentEmail] = {}
    if addresses:
        # The latest email of a running enrollment to the address.
        running = sa.select(CampaignContact.id).where(
            CampaignContact.id == Delivery.campaign_contact_id,
            CampaignContact.status.in_(RUNNING_VALUES),
        )
        lowered = sa.func.lower(Contact.email).in_([a.lower() for a in addresses])
        for target, message_id, _ in _targets(session, lowered, running.exists()):
            by_address.setdefault(target.recipient, sent(target, message_id))
        imported_running = CampaignContact.status.in_(RUNNING_VALUES)
        for target, message_id in _imported_targets(session, lowered, imported_running):
            by_address.setdefault(target.recipient, sent(target, message_id))
    known = KnownEmails(by_message_id, by_conversation, by_address)
    return known, targets


def stored_message_ids(session: Session, message_ids: Collection[str]) -> set[str]:
    """Which of these Message-IDs were acted on already (ours, or a reply row from elsewhere:
    the original system, a person)."""
    if not message_ids:
        return set()
    ours = session.scalars(
        sa.select(InboxMessage.message_id).where(InboxMessage.message_id.in_(message_ids))
    )
    replies = session.scalars(
        sa.select(EmailReply.message_id).where(EmailReply.message_id.in_(message_ids))
    )
    return {m for m in [*ours, *replies] if m}


def stored_provider_ids(
    session: Session, sender_account_id: uuid.UUID, provider_ids: Collection[str]
) -> set[str]:
    if not provider_ids:
        return set()
    return set(
        session.scalars(
            sa.select(InboxMessage.provider_id).where(
                InboxMessage.sender_account_id == sender_account_id,
                InboxMessage.provider_id.in_(provider_ids),
            )
        )
    )


def postpone_until(
    session: Session, enrollment_id: uuid.UUID, until: datetime, reason: str
) -> bool:
    """Holds a running enrollment's next step until `until`, unless it is due later anyway or
    has nothing scheduled (it waits for something else). True when it moved."""
    result = session.execute(
        sa.update(CampaignContact)
        .where(
            CampaignContact.id == enrollment_id,
            CampaignContact.status.in_(RUNNING_VALUES),
            CampaignContact.next_send_at.is_not(None),
            CampaignContact.next_send_at < until,
        )
        .values(next_send_at=until, waiting_reason=reason)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


# Cursors ---------------------------------------------------------------------------------------


def cursor_of(session: Session, sender_account_id: uuid.UUID) -> InboxCursor | None:
    return session.scalar(
        sa.select(InboxCursor).where(InboxCursor.sender_account_id == sender_account_id)
    )


def _ensure_cursor(session: Session, sender_account_id: uuid.UUID, now: datetime) -> None:
    if cursor_of(session, sender_account_id) is None:
        session.add(InboxCursor(sender_account_id=sender_account_id, created_at=now))
        session.flush()


def claim_poll(
    session: Session, sender_account_id: uuid.UUID, now: datetime, due_before: datetime
) -> InboxCursor | None:
    """Takes the mailbox for one poll: one conditional UPDATE of polled_at, so two workers never
    read it at once and nobody reads it again while its last poll is later than `due_before`.
    None when it is not due."""
    _ensure_cursor(session, sender_account_id, now)
    claimed = session.execute(
        sa.update(InboxCursor)
        .where(
            InboxCursor.sender_account_id == sender_account_id,
            sa.or_(InboxCursor.polled_at.is_(None), InboxCursor.polled_at <= due_before),
        )
        .values(polled_at=now)
        .execution_options(synchronize_session=False)
    )
    if not claimed.rowcount:  # type: ignore[attr-defined]
        return None
    found = cursor_of(session, sender_account_id)
    if found is not None:
        session.refresh(found)
    return found


def store_cursor(
    session: Session, sender_account_id: uuid.UUID, cursor: str, now: datetime
) -> None:
    """The page up to `cursor` is stored: the next read starts there, and the poll worked."""
    _ensure_cursor(session, sender_account_id, now)
    session.execute(
        sa.update(InboxCursor)
        .where(InboxCursor.sender_account_id == sender_account_id)
        .values(cursor=cursor, last_error=None)
        .execution_options(synchronize_session=False)
    )


def record_error(session: Session, sender_account_id: uuid.UUID, error: str, now: datetime) -> None:
    """Why the last poll failed, on the account's cursor row (made when it has none yet)."""
    _ensure_cursor(session, sender_account_id, now)
    session.execute(
        sa.update(InboxCursor)
        .where(InboxCursor.sender_account_id == sender_account_id)
        .values(last_error=error[:2000])
        .execution_options(synchronize_session=False)
    )


def mailbox_accounts(session: Session, email: str | None = None) -> list[SenderAccount]:
    """Sender accounts that may have a mailbox to read (active; of kind graph or smtp)."""
    statement = sa.select(SenderAccount).where(
        SenderAccount.kind.in_(("graph", "smtp")),
        sa.or_(SenderAccount.is_active.is_(None), SenderAccount.is_active.is_(True)),
    )
    if email is not None:
        statement = statement.where(sa.func.lower(SenderAccount.email) == email.strip().lower())
    return list(session.scalars(statement.order_by(SenderAccount.email)))


# The inbox page --------------------------------------------------------------------------------


@dataclass(frozen=True)
class InboxRow:
    message: InboxMessage
    contact_email: str
    campaign_name: str | None


def inbox_messages(
    session: Session,
    *,
    campaign_id: uuid.UUID | None = None,
    kinds: Sequence[str] = (),
    limit: int = 200,
) -> list[InboxRow]:
    """The newest messages acted on, optionally one campaign's and some kinds."""
    return inbox_messages_page(session, campaign_id, kinds, None, limit)[0]


def inbox_messages_page(
    session: Session,
    campaign_id: uuid.UUID | None,
    kinds: Sequence[str],
    after: str | None,
    limit: int,
) -> tuple[list[InboxRow], str | None]:
    """A page of the messages acted on, newest first, optionally one campaign's and some kinds
    (ix_inbox_messages_campaign_id_received_at, or ix_inbox_messages_received_at)."""
    statement = (
        sa.select(InboxMessage, Contact.email, Campaign.name)
        .join(Contact, Contact.id == InboxMessage.contact_id)
        .outerjoin(Campaign, Campaign.id == InboxMessage.campaign_id)
    )
    if campaign_id is not None:
        statement = statement.where(InboxMessage.campaign_id == campaign_id)
    if kinds:
        statement = statement.where(InboxMessage.kind.in_(list(kinds)))
    rows, cursor = keyset_page(
        session,
        statement,
        InboxMessage.received_at,
        InboxMessage.id,
        after,
        limit,
        descending=True,
    )
    return [InboxRow(row[0], row[1], row[2]) for row in rows], cursor


def sender_account(session: Session, sender_account_id: uuid.UUID) -> SenderAccount | None:
    return session.get(SenderAccount, sender_account_id)


def replies_by_sender(session: Session, since: datetime) -> dict[uuid.UUID, int]:
    """Replies (and requests to be removed, which are replies too) received since `since`, per
    sender account whose mailbox they arrived in."""
    rows = session.execute(
        sa.select(InboxMessage.sender_account_id, sa.func.count())
        .where(
            InboxMessage.received_at >= since,
            InboxMessage.kind.in_((Kind.human_reply.value, Kind.unsubscribe_request.value)),
        )
        .group_by(InboxMessage.sender_account_id)
    )
    return dict(rows.all())


def messages_of_enrollment(session: Session, enrollment_id: uuid.UUID) -> list[InboxMessage]:
    """What the mailboxes received about the enrollment's emails, oldest first."""
    return list(
        session.scalars(
            sa.select(InboxMessage)
            .where(InboxMessage.campaign_contact_id == enrollment_id)
            .order_by(InboxMessage.received_at, InboxMessage.id)
        )
    )


def conversation_with(
    session: Session, contact_id: uuid.UUID, sender_account_id: uuid.UUID, received_at: datetime
) -> Conversation:
    """The conversation between the contact and the sender account, made when this is the first
    message of theirs; its last-message times moved to `received_at` when that is later."""
    conversation = session.scalars(
        sa.select(Conversation).where(
            Conversation.contact_id == contact_id,
            Conversation.sender_account_id == sender_account_id,
        )
    ).one_or_none()
    if conversation is None:
        # One poll at a time reads a mailbox (claim_poll), and a conversation belongs to one
        # mailbox, so no other writer makes this row meanwhile.
        conversation = Conversation(
            contact_id=contact_id,
            sender_account_id=sender_account_id,
            last_message_at=received_at,
            last_inbound_at=received_at,
        )
        session.add(conversation)
    else:
        conversation.last_message_at = max(conversation.last_message_at, received_at)
        conversation.last_inbound_at = max(conversation.last_inbound_at or received_at, received_at)
    return conversation


def answered_conversations(
    session: Session, scheduled_ids: Collection[uuid.UUID | None]
) -> dict[uuid.UUID | None, uuid.UUID]:
    """The conversation each answer among these one-off emails answers, by scheduled email
    (answers' unique scheduled_email_id; conversations' unique contact and sender account).
    Other one-off emails are not answers: left out (None keys too, so that a delivery's
    scheduled_email_id looks it up as it is)."""
    wanted = [found for found in scheduled_ids if found is not None]
    if not wanted:
        return {}
    rows = session.execute(
        sa.select(Answer.scheduled_email_id, Conversation.id)
        .join(
            Conversation,
            sa.and_(
                Conversation.contact_id == Answer.contact_id,
                Conversation.sender_account_id == Answer.sender_account_id,
            ),
        )
        .where(Answer.scheduled_email_id.in_(wanted))
    )
    return {scheduled: conversation for scheduled, conversation in rows if scheduled}
