"""Storing what the inbox readers find: each message parsed, classified, matched to the email
of ours it is about, and acted on.

- A human reply becomes an email_replies row (the seed's trigger stops the enrollment).
- A request to be removed: the contact's running enrollments become unsubscribed, the address
  is suppressed, and the reply is stored too (after the enrollments moved, so the trigger
  finds nothing left to mark replied).
- A hard bounce ends the enrollment as bounced, with the reason; the address is suppressed
  (and the contact's other running enrollments bounced) only when the refusal is about the
  address itself. A soft bounce is recorded only.
- An auto-reply is recorded, never as an email_replies row (that would stop the sequence);
  when it says when its author is back, the next step waits until that day (a setting).
- Anything else (mailing lists, receipts) and anything about no email of ours is counted and
  left alone.

Every message acted on gets an inbox_messages row with its content (text, HTML as it arrived,
attachments: outreach.inbox.content) in the conversation between the contact and the mailbox
that read it; a person's reply or request to be removed makes the conversation unread, and a
person's reply also makes it need an answer. Each row is unique by Message-ID (and by the provider's
id within the mailbox): a message already there is skipped, so reading a page twice (a poll
that died before its cursor was stored, Graph restarting its delta round, the same reply in
two of our mailboxes) acts once. The page's cursor is stored in the same transaction, after
its rows. Services flush; the caller commits.
"""

from __future__ import annotations

import logging
import uuid
from collections import Counter
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime, time

from sqlalchemy.orm import Session

from outreach.campaigns import enrollments
from outreach.campaigns.models import CampaignContact
from outreach.campaigns.states import EnrollmentStatus
from outreach.contacts import leads, suppressions
from outreach.contacts.leads import ChangedBy, LeadStatus
from outreach.delivery import queries as delivery_queries
from outreach.errors import Conflict, ValidationFailed
from outreach.events import recording as events
from outreach.events.kinds import EventKind
from outreach.inbox import categories, queries
from outreach.inbox.classify import Classification, Kind, classify
from outreach.inbox.content import MessageContent, read_content
from outreach.inbox.match import Match, lookups, match
from outreach.inbox.models import EmailReply, InboxAttachment, InboxMessage
from outreach.inbox.parse import ParsedMessage, parse
from outreach.providers.errors import AccountError
from outreach.providers.inbox import InboundMessage, InboxPage
from outreach.senders import service as senders
from outreach.senders.models import SenderAccount

log = logging.getLogger("outreach.inbox")

SNIPPET_LENGTH = 200


@dataclass
class IngestReport:
    acted: Counter[str] = field(default_factory=Counter)
    """Messages acted on, by kind (human_reply, unsubscribe_request, auto_reply, bounce)."""
    ignored: int = 0
    """Messages that are none of those (mailing lists, read receipts, delivery notices)."""
    unmatched: int = 0
    """Replies, auto-replies and bounces about no email of ours."""
    duplicates: int = 0
    """Messages acted on before (a page read again)."""
    lines: list[str] = field(default_factory=list)

    @property
    def read(self) -> int:
        return sum(self.acted.values()) + self.ignored + self.unmatched + self.duplicates

    def add(self, other: IngestReport) -> None:
        self.acted.update(other.acted)
        self.ignored += other.ignored
        self.unmatched += other.unmatched
        self.duplicates += other.duplicates
        self.lines.extend(other.lines)

    def summary(self) -> str:
        kinds = ", ".join(f"{n} {kind.replace('_', ' ')}" for kind, n in sorted(self.acted.items()))
        return (
            f"{self.read} read: {kinds or 'nothing acted on'}; {self.ignored} ignored, "
            f"{self.unmatched} unmatched, {self.duplicates} seen before"
        )


@dataclass(frozen=True)
class IngestOptions:
    """What the settings change about acting on inbound messages."""

    postpone_auto_replies: bool = True
    """An out-of-office that says when its author is back holds the next step until then."""
    keep_attachments_up_to: int = 5_000_000
    """Bytes of an attachment kept; a larger one is only listed."""


def snippet_of(parsed: ParsedMessage) -> str | None:
    """The first ~200 characters of the author's own words, on one line."""
    text = " ".join((parsed.reply_text or parsed.text).split())
    return text[:SNIPPET_LENGTH] or None


def ingest(
    session: Session,
    account: SenderAccount,
    page: InboxPage,
    now: datetime,
    options: IngestOptions = IngestOptions(),
) -> IngestReport:
    """Acts on one page read from `account`'s mailbox, then stores the page's cursor (see the
    module's docstring). Looks up our emails with one query per kind of key for the page."""
    report = IngestReport()
    parsed = [(message, parse(message.raw)) for message in page.messages]
    keys = [lookups(p, message.conversation_id) for message, p in parsed]
    known, targets = queries.known_emails(
        session,
        {key for k in keys for key in k.message_ids},
        {key for k in keys for key in k.conversation_ids},
        {key for k in keys for key in k.addresses},
    )
    seen_ids = queries.stored_message_ids(
        session, {p.message_id for _, p in parsed if p.message_id}
    )
    seen_providers = queries.stored_provider_ids(
        session, account.id, {message.provider_id for message in page.messages}
    )
    for message, p in parsed:
        if (p.message_id and p.message_id in seen_ids) or message.provider_id in seen_providers:
            report.duplicates += 1
            continue
        found = classify(p, now)
        if found.kind is Kind.other:
            report.ignored += 1
            continue
        matched = match(p, message.conversation_id, known)
        if matched is None:
            report.unmatched += 1
            log.info(
                "inbox.unmatched",
                extra={"sender_account_id": str(account.id), "kind": found.kind.value},
            )
            continue
        target = targets[matched.sent_email.id]
        done = _act(session, target, message, p, found, now, options.postpone_auto_replies)
        if found.bounce is not None and found.bounce.tenant_limit:
            done = _held(session, account.id, found.reason, now)
        if found.bounce is not None and found.bounce.our_domain:
            done = _refused_our_domain(session, account.id, found.reason, now)
        content = read_content(message.raw, keep_attachments_up_to=options.keep_attachments_up_to)
        stored = _record(session, account, target, message, p, found, matched, done, content)
        categories.queue(session, stored)
        _note_lead_status(session, found, target.contact_id, stored.id, now)
        if p.message_id:
            seen_ids.add(p.message_id)
        seen_providers.add(message.provider_id)
        report.acted[found.kind.value] += 1
        report.lines.append(
            f"{found.kind.value.replace('_', ' ')} from {p.sender or 'an unknown sender'} "
            f"({matched.evidence}): {done.text}"
        )
        log.info(
            f"inbox.{found.kind.value}_matched",
            extra={
                "sender_account_id": str(account.id),
                "contact_id": str(target.contact_id),
                "campaign_id": str(target.campaign_id or ""),
                "by": matched.by.value,
            },
        )
    queries.store_cursor(session, account.id, page.cursor, now)
    session.flush()
    return report


@dataclass(frozen=True)
class _Done:
    text: str
    reply_id: uuid.UUID | None = None


def _held(session: Session, sender_id: uuid.UUID, reason: str, now: datetime) -> _Done:
    """Exchange reported our tenant's external recipient limit used up (Graph accepts an email
    and says so only in this report): every account of the tenant waits, as after a 5.7.233
    over SMTP. The email itself did not go; nobody is suppressed."""
    held = senders.hold_tenant(session, sender_id, reason, now)
    return _Done(f"not sent: {held.email} is {senders.hold_words(held)}")


def _refused_our_domain(
    session: Session, sender_id: uuid.UUID, reason: str, now: datetime
) -> _Done:
    """A receiving server refused the email for how our domain is authenticated, reported after
    our own server took it (Graph, Microsoft 365 or Gmail relaying): every later email from the
    domain would be refused too, so the account waits for a person, as when the refusal comes
    during the send. Nobody is suppressed and the enrollment goes on once the account does."""
    error = AccountError(
        "a receiving server refused an email because it does not accept how this account's "
        f"domain is authenticated (SPF, DKIM, DMARC): {reason}. Run Check DNS on the senders "
        "page (or `outreach senders check`), fix what it says, then resume the account; its "
        "emails wait meanwhile."
    )
    standing = senders.record_failure(session, sender_id, error, now)
    return _Done(f"not delivered; the sender account {standing.describe()}")


def _act(
    session: Session,
    target: queries.Target,
    message: InboundMessage,
    parsed: ParsedMessage,
    found: Classification,
    now: datetime,
    postpone: bool,
) -> _Done:
    source = f"inbox {parsed.message_id or message.provider_id}"
    if found.kind is Kind.human_reply:
        reply_id = _store_reply(session, target, message, parsed, now)
        events.record(
            session,
            EventKind.reply_received,
            now,
            reply_id=reply_id,
            contact_id=target.contact_id,
            email=target.recipient,
            campaign_id=target.campaign_id,
            sent_email_id=target.sent_email_id,
            subject=parsed.subject or None,
            snippet=snippet_of(parsed),
            received_at=message.received_at,
        )
        if target.campaign_id is None:
            return _Done("the sequence stops", reply_id)
        colleagues = enrollments.stop_colleagues_of(
            session, target.campaign_id, target.contact_id, target.recipient
        )
        also = {0: "", 1: "; a colleague's sequence stops too"}.get(
            colleagues, f"; {colleagues} colleagues' sequences stop too"
        )
        return _Done(f"the sequence stops{also}", reply_id)
    if found.kind is Kind.unsubscribe_request:
        stopped = enrollments.stop_contact_everywhere(
            session, target.contact_id, EnrollmentStatus.unsubscribed, "asked in a reply"
        )
        if _suppress(session, target.recipient, suppressions.Reason.unsubscribed, source, now):
            events.record(
                session,
                EventKind.contact_unsubscribed,
                now,
                contact_id=target.contact_id,
                email=target.recipient,
                campaign_id=target.campaign_id,
                source="reply",
            )
        reply_id = _store_reply(session, target, message, parsed, now)
        return _Done(f"suppressed, {stopped} enrollments unsubscribed", reply_id)
    if found.kind is Kind.bounce:
        bounce = found.bounce
        if bounce is None or not bounce.hard:
            return _Done("a soft bounce: recorded only")
        delivery_queries.mark_bounced(session, target.delivery_id, target.sent_email_id, now)
        if target.enrollment_id is not None:
            enrollments.record_stopped(
                session, target.enrollment_id, EnrollmentStatus.bounced, found.reason
            )
        _expire_enrollment(session, target.enrollment_id)
        if not bounce.address_rejected:
            _bounced(session, target, found.reason, now, suppressed=False)
            return _Done("enrollment bounced; the address is kept (not refused as such)")
        address = bounce.address or target.recipient
        _bounced(session, target, found.reason, now, suppressed=True)
        _suppress(session, address, suppressions.Reason.bounced, source, now)
        enrollments.stop_contact_everywhere(
            session, target.contact_id, EnrollmentStatus.bounced, found.reason
        )
        return _Done(f"enrollment bounced, {address} suppressed")
    # An auto-reply.
    if found.returns_on is None:
        return _Done("recorded; the sequence goes on")
    if not postpone or target.enrollment_id is None:
        return _Done(f"recorded (back on {found.returns_on}); the sequence goes on")
    until = datetime.combine(found.returns_on, time(0), UTC)
    moved = queries.postpone_until(
        session, target.enrollment_id, until, f"out of office until {found.returns_on}"
    )
    moved |= bool(delivery_queries.hold_queued(session, target.enrollment_id, until))
    _expire_enrollment(session, target.enrollment_id)
    if moved:
        return _Done(f"the next step waits until {found.returns_on}")
    return _Done(f"recorded (back on {found.returns_on}); nothing due before then")


def _store_reply(
    session: Session,
    target: queries.Target,
    message: InboundMessage,
    parsed: ParsedMessage,
    now: datetime,
) -> uuid.UUID:
    reply = EmailReply(
        sent_email_id=target.sent_email_id,
        campaign_id=target.campaign_id,
        contact_id=target.contact_id,
        message_id=parsed.message_id,
        received_at=message.received_at,
        subject=parsed.subject or None,
        snippet=snippet_of(parsed),
        created_at=now,
    )
    session.add(reply)
    session.flush()
    # The seed's trigger changed the enrollment behind the session's back.
    _expire_enrollment(session, target.enrollment_id)
    return reply.id


def _expire_enrollment(session: Session, enrollment_id: uuid.UUID | None) -> None:
    if enrollment_id is None:
        return
    loaded = session.identity_map.get(session.identity_key(CampaignContact, enrollment_id))
    if loaded is not None:
        session.expire(loaded)


def _suppress(
    session: Session, address: str, reason: suppressions.Reason, source: str, now: datetime
) -> bool:
    """Suppresses the address; False when it was already (or cannot be)."""
    with suppress(Conflict, ValidationFailed):
        suppressions.add(session, address, reason, source[:500], now)
        return True
    return False


def _bounced(
    session: Session, target: queries.Target, reason: str, now: datetime, *, suppressed: bool
) -> None:
    events.record(
        session,
        EventKind.email_bounced,
        now,
        delivery_id=target.delivery_id,
        contact_id=target.contact_id,
        recipient=target.recipient,
        campaign_id=target.campaign_id,
        reason=reason,
        address_suppressed=suppressed,
    )


def _record(
    session: Session,
    account: SenderAccount,
    target: queries.Target,
    message: InboundMessage,
    parsed: ParsedMessage,
    found: Classification,
    matched: Match,
    done: _Done,
    content: MessageContent,
) -> InboxMessage:
    conversation = queries.conversation_with(
        session, target.contact_id, account.id, message.received_at
    )
    if found.kind in (Kind.human_reply, Kind.unsubscribe_request):
        conversation.unread = True
        conversation.needs_answer = found.kind is Kind.human_reply
    session.flush()
    stored = InboxMessage(
        sender_account_id=account.id,
        provider_id=message.provider_id,
        message_id=parsed.message_id,
        kind=found.kind.value,
        reason=f"{found.reason}; {done.text}",
        received_at=message.received_at,
        contact_id=target.contact_id,
        campaign_id=target.campaign_id,
        campaign_contact_id=target.enrollment_id,
        delivery_id=target.delivery_id,
        sent_email_id=target.sent_email_id,
        email_reply_id=done.reply_id,
        matched_by=matched.by.value,
        subject=parsed.subject or None,
        snippet=snippet_of(parsed),
        returns_on=found.returns_on,
        conversation_id=conversation.id,
        body_text=content.text or None,
        body_html=content.html or None,
        body_truncated=content.truncated,
    )
    session.add(stored)
    session.flush()
    session.add_all(
        InboxAttachment(
            inbox_message_id=stored.id,
            position=position,
            filename=attachment.filename,
            content_type=attachment.content_type,
            size_bytes=attachment.size,
            content_id=attachment.content_id,
            data=attachment.data,
        )
        for position, attachment in enumerate(content.attachments)
    )
    session.flush()
    return stored


_LEAD_STATUS_OF_KIND = {
    Kind.human_reply: (LeadStatus.replied, "a reply"),
    Kind.unsubscribe_request: (LeadStatus.unsubscribed, "a request to be removed"),
    Kind.bounce: (LeadStatus.bounced, "a bounce"),
}


def _note_lead_status(
    session: Session,
    found: Classification,
    contact_id: uuid.UUID,
    message_id: uuid.UUID,
    now: datetime,
) -> None:
    """A reply makes the contact replied, a request to be removed unsubscribed, a hard bounce
    bounced (contacts/leads.py says when an event may change a status)."""
    event = _LEAD_STATUS_OF_KIND.get(found.kind)
    soft = found.kind is Kind.bounce and (found.bounce is None or not found.bounce.hard)
    if event is None or soft:
        return
    status, words = event
    leads.change(session, [contact_id], status, ChangedBy(words), now, inbox_message_id=message_id)
