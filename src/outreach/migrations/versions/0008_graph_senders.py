"""Graph senders: the provider's thread id of each email.

`deliveries.provider_id` (0004) already holds a provider's own id for an email; a sender of
kind graph now fills it before the send (the draft's immutable id), so a crash is resolved by
asking Graph. `deliveries.conversation_id` keeps Graph's conversationId, which matching replies
uses as a hint (confirmed by headers or the sender's address, never alone). The graph kind's
settings (tenant, app, mailbox) live in sender_accounts.settings and its client secret in the
sealed sender_accounts.secret, as the SMTP kind's do: no new columns there.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("deliveries", sa.Column("conversation_id", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("deliveries") as table:
        table.drop_column("conversation_id")
