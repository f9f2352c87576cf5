"""Each sender account's last 7 days: emails sent and hard bounces (delivery), replies (inbox).

Read here because analytics sits above both; the rule that pauses an account on these figures
is the senders' own (senders/health.py), and the worker's bounce check brings the two together.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.orm import Session

from outreach.delivery import queries as delivery_queries
from outreach.inbox import queries as inbox_queries
from outreach.senders import queries as sender_queries
from outreach.senders.health import WINDOW, SenderHealth


def of_senders(session: Session, now: datetime) -> dict[uuid.UUID, SenderHealth]:
    """Every sender account's last 7 days, for the pages."""
    since = now - WINDOW
    ids = [account.id for account in sender_queries.all_senders(session)]
    sent = delivery_queries.sent_since(session, ids, since)
    bounces = delivery_queries.bounces_since(session, since)
    replies = inbox_queries.replies_by_sender(session, since)
    return {
        sender_id: SenderHealth(
            sent.get(sender_id, 0), bounces.get(sender_id, 0), replies.get(sender_id, 0)
        )
        for sender_id in ids
    }


def bouncing(session: Session, now: datetime) -> dict[uuid.UUID, SenderHealth]:
    """The last 7 days of the accounts with a hard bounce in them, replies not counted: what
    the bounce check needs, so that a quiet week costs one index lookup."""
    since = now - WINDOW
    bounces = delivery_queries.bounces_since(session, since)
    sent = delivery_queries.sent_since(session, list(bounces), since)
    return {
        sender_id: SenderHealth(sent.get(sender_id, 0), hard_bounces)
        for sender_id, hard_bounces in bounces.items()
    }
