"""Signed unsubscribe tokens: only the recipient's own link can unsubscribe them.

A token names the contact and the campaign that sent the email, and carries an HMAC made with
the app's secret key, so nobody can forge a token for somebody else's address.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from outreach.access.credentials import same, signature
from outreach.campaigns import enrollments
from outreach.campaigns.states import EnrollmentStatus
from outreach.contacts import leads, suppressions
from outreach.contacts.leads import ChangedBy, LeadStatus
from outreach.contacts.models import Contact
from outreach.errors import Conflict
from outreach.events import recording as events
from outreach.events.kinds import EventKind

PURPOSE = "unsubscribe"
SIGNATURE_LENGTH = 32


@dataclass(frozen=True)
class UnsubscribeToken:
    contact_id: uuid.UUID
    campaign_id: uuid.UUID | None


def make_token(secret_key: str, contact_id: uuid.UUID, campaign_id: uuid.UUID | None) -> str:
    payload = contact_id.bytes + (campaign_id.bytes if campaign_id else b"")
    text = base64.urlsafe_b64encode(payload).decode().rstrip("=")
    return f"{text}.{signature(secret_key, PURPOSE, text)[:SIGNATURE_LENGTH]}"


def read_token(secret_key: str, token: str) -> UnsubscribeToken | None:
    """The token's contact and campaign, or None when it is not one of ours."""
    text, _, signed = token.partition(".")
    if not signed or not same(signed, signature(secret_key, PURPOSE, text)[:SIGNATURE_LENGTH]):
        return None
    try:
        payload = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        return None
    if len(payload) not in (16, 32):
        return None
    campaign = uuid.UUID(bytes=payload[16:]) if len(payload) == 32 else None
    return UnsubscribeToken(contact_id=uuid.UUID(bytes=payload[:16]), campaign_id=campaign)


def unsubscribe_url(base_url: str, token: str) -> str:
    return f"{base_url.rstrip('/')}/unsubscribe/{token}"


def unsubscribe(
    session: Session, token: UnsubscribeToken, source: str, now: datetime
) -> Contact | None:
    """Suppresses the token's contact and stops every enrollment of theirs. Clicking twice is
    harmless. None when the contact no longer exists."""
    contact = session.get(Contact, token.contact_id)
    if contact is None:
        return None
    with suppress(Conflict):
        suppressions.add(session, contact.email, suppressions.Reason.unsubscribed, source, now)
        events.record(
            session,
            EventKind.contact_unsubscribed,
            now,
            contact_id=contact.id,
            email=contact.email,
            campaign_id=token.campaign_id,
            source="link",
        )
    enrollments.stop_contact_everywhere(
        session, contact.id, EnrollmentStatus.unsubscribed, "unsubscribed with the link in an email"
    )
    by = ChangedBy("the unsubscribe link")
    leads.change(session, [contact.id], LeadStatus.unsubscribed, by, now)
    session.flush()
    return contact


def no_one_click_from(email: str) -> str:
    """What to tell a person about a Microsoft 365 mailbox set not to carry
    List-Unsubscribe-Post (Graph accepts it only as an internet-header property some tenants
    drop): its emails offer an unsubscribe link, not one-click unsubscribe."""
    return (
        f"{email} sends without one-click unsubscribe (List-Unsubscribe-Post is off for this "
        'Microsoft 365 mailbox): Gmail and Yahoo expect it of bulk senders. Tick "Offer '
        'one-click unsubscribe" for it on the senders page if your tenant keeps the header, '
        "or send from it over SMTP."
    )


def one_click_warning(base_url: str) -> str | None:
    """What to tell a person when emails cannot offer one-click unsubscribe (RFC 8058): its
    POST must go to an https address (providers/compose.py), and the links are made from
    OUTREACH_BASE_URL. None when they can."""
    if base_url.startswith("https://"):
        return None
    return (
        f"OUTREACH_BASE_URL is {base_url}, not https: emails carry an unsubscribe link but no "
        "one-click unsubscribe (RFC 8058), which Gmail and Yahoo expect of bulk senders. "
        "Set it to the https address recipients reach this server at."
    )
