"""Tables of our own for moving data in and out."""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from outreach.db import GUID, Base


class ImportGuard(Base):
    """One row while an import runs, inside the importing transaction only: the seed's counting
    triggers see it and stand aside (migration 0005)."""

    __tablename__ = "import_guard"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    started_at: Mapped[str] = mapped_column(sa.Text)


class BackupChange(Base):
    """Which rows of the tables that hourly backups cover (contacts, sent_emails, email_drafts)
    were inserted, updated or deleted, written by triggers (migration 0029) in the changing
    transaction itself, whoever changes them (the app, an import, psql). An hourly backup reads
    the ids logged since the backup before it, writes those rows as they are now and the ids
    that are gone as deletions, then forgets the entries it covered: the table holds about an
    hour of changes.

    Why a log rather than updated_at or key sets: sent_emails has no updated_at, updates that
    forget to set it would be lost, and a deletion leaves no row to read a time from; comparing
    every id with the base's key set would read the whole table each hour, the cost that
    incremental backups are there to avoid."""

    __tablename__ = "backup_changes"
    # AUTOINCREMENT on SQLite: a seq is never reused once the entries below it are forgotten,
    # so "after the last backup's seq" stays exact.
    __table_args__ = {"sqlite_autoincrement": True}

    seq: Mapped[int] = mapped_column(
        sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True
    )
    table_name: Mapped[str] = mapped_column(sa.Text)
    row_id: Mapped[uuid.UUID] = mapped_column(GUID())
    xid: Mapped[int | None] = mapped_column(sa.BigInteger)
    """PostgreSQL: the writing transaction (pg_current_xact_id), so that a backup can tell the
    entries its snapshot saw from those of transactions still running (a seq is handed out
    before commit, so seq order is not commit order there). NULL on SQLite, whose one writer at
    a time commits in seq order."""
