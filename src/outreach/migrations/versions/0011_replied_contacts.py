"""replied_contacts: every contact with a row in email_replies, kept by triggers on that table.

A campaign that keeps one conversation per company (skip_replied_companies) skips, when it
enrolls, the contacts whose company someone replied from. The replies are the inbox's table,
and the inbox sits above campaigns; so campaigns read this table of their own instead, which
the database keeps equal to `SELECT DISTINCT contact_id FROM email_replies` whoever writes the
replies: the inbox, an import (these triggers do not stand aside for the import guard, and the
table is not exported: every import fills it again), or a psql session. The upgrade fills it
from the replies already there.

The company is still read from the contact's address when the campaign enrolls, so a contact
whose address changes is judged by the new one, as before.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from outreach.db import GUID

revision: str = "0011"
down_revision: str | Sequence[str] | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

POSTGRESQL = """
CREATE FUNCTION keep_replied_contacts() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP IN ('INSERT', 'UPDATE') THEN
    INSERT INTO replied_contacts (contact_id) VALUES (NEW.contact_id) ON CONFLICT DO NOTHING;
  END IF;
  IF TG_OP IN ('UPDATE', 'DELETE') THEN
    DELETE FROM replied_contacts
    WHERE contact_id = OLD.contact_id
      AND NOT EXISTS (SELECT 1 FROM email_replies WHERE contact_id = OLD.contact_id);
  END IF;
  RETURN NULL;
END $$;

CREATE TRIGGER keep_replied_contacts_trigger
  AFTER INSERT OR DELETE OR UPDATE OF contact_id ON email_replies
  FOR EACH ROW EXECUTE FUNCTION keep_replied_contacts();
"""

SQLITE_NOTE = """
  INSERT INTO replied_contacts (contact_id)
  SELECT NEW.contact_id
  WHERE NOT EXISTS (SELECT 1 FROM replied_contacts WHERE contact_id = NEW.contact_id);
"""
SQLITE_FORGET = """
  DELETE FROM replied_contacts
  WHERE contact_id = OLD.contact_id
    AND NOT EXISTS (SELECT 1 FROM email_replies WHERE contact_id = OLD.contact_id);
"""
SQLITE_TRIGGERS = {
    "note_replied_contact_trigger": f"AFTER INSERT ON email_replies BEGIN{SQLITE_NOTE}END",
    "forget_replied_contact_trigger": f"AFTER DELETE ON email_replies BEGIN{SQLITE_FORGET}END",
    "move_replied_contact_trigger": (
        f"AFTER UPDATE OF contact_id ON email_replies BEGIN{SQLITE_FORGET}{SQLITE_NOTE}END"
    ),
}


def upgrade() -> None:
    op.create_table(
        "replied_contacts",
        sa.Column(
            "contact_id",
            GUID(),
            sa.ForeignKey("contacts.id", ondelete="CASCADE"),
            primary_key=True,
        ),
    )
    op.execute(
        "INSERT INTO replied_contacts (contact_id) SELECT DISTINCT contact_id FROM email_replies"
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(POSTGRESQL)
        return
    for name, body in SQLITE_TRIGGERS.items():
        op.execute(f"CREATE TRIGGER {name} {body}")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER keep_replied_contacts_trigger ON email_replies")
        op.execute("DROP FUNCTION keep_replied_contacts()")
    else:
        for name in SQLITE_TRIGGERS:
            op.execute(f"DROP TRIGGER {name}")
    op.drop_table("replied_contacts")
