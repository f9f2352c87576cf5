"""Sender health: when an email bounced for good; and finding a sent email by its Message-ID.

`ix_sent_emails_message_id` lets a reply to an email the original system sent (a sent_emails
row without a delivery of ours) be matched by its In-Reply-To;
`ix_inbox_messages_campaign_contact_id` serves an enrollment's timeline.

`deliveries.bounced_at` is set when the recipient's server refused the address, at once (SMTP
5xx on RCPT) or later (a delivery status notification read from the mailbox). A sender
account's hard-bounce rate over the last 7 days is the share of the emails it sent in that time
with a bounced_at (a partial index holds only those, so
the worker's check costs nothing while nothing bounces); past a threshold the account is paused (delivery/health.py). The seed has no
such column: its sent_emails.status is set to 'bounced' as well, so a user's own queries over
the original tables see it too.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from outreach.db import UtcDateTime

revision: str = "0010"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("deliveries", sa.Column("bounced_at", UtcDateTime(), nullable=True))
    op.create_index("ix_sent_emails_message_id", "sent_emails", ["message_id"])
    op.create_index(
        "ix_inbox_messages_campaign_contact_id", "inbox_messages", ["campaign_contact_id"]
    )
    op.create_index(
        "ix_deliveries_bounced",
        "deliveries",
        ["sender_account_id", "bounced_at"],
        postgresql_where=sa.text("bounced_at IS NOT NULL"),
        sqlite_where=sa.text("bounced_at IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_deliveries_bounced", table_name="deliveries")
    op.drop_index("ix_sent_emails_message_id", table_name="sent_emails")
    op.drop_index("ix_inbox_messages_campaign_contact_id", table_name="inbox_messages")
    with op.batch_alter_table("deliveries") as table:
        table.drop_column("bounced_at")
