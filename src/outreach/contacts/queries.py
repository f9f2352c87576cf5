"""SQL for contacts, upload batches and their problems, saved mappings, lists and suppressions.

One module although it is over 500 lines: a domain's SQL lives in its queries.py (conventions,
7), and the other domains reach the contacts' tables through it under one name
(``contact_queries``). Its sections follow what the statements are about.
"""

from __future__ import annotations

import json
import unicodedata
import uuid
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import QueryableAttribute, Session

from outreach.contacts.models import (
    ColumnMapping,
    Contact,
    ContactList,
    ContactListMember,
    ContactListSize,
    Suppression,
    UploadBatch,
    UploadProblem,
)
from outreach.db import (
    GUID,
    SQLITE_TIMESTAMP_FORMAT,
    Base,
    UtcDateTime,
    json_member_text,
    keyset_page,
    keyset_scalars,
    new_uuid,
)
from outreach.errors import ValidationFailed

contacts = Base.metadata.tables["contacts"]
members = Base.metadata.tables["contact_list_members"]
problems = Base.metadata.tables["upload_problems"]

CONTACT_FIELDS = ("name", "first_name", "last_name", "company", "title", "timezone", "website")


# Upload batches -------------------------------------------------------------------------------


def recent_batches(session: Session, limit: int = 50) -> list[UploadBatch]:
    return list(
        session.scalars(
            sa.select(UploadBatch)
            .order_by(UploadBatch.created_at.desc(), UploadBatch.id)
            .limit(limit)
        )
    )


def batches_page(
    session: Session, after: str | None, limit: int
) -> tuple[list[UploadBatch], str | None]:
    """A page of uploads, newest first."""
    return keyset_scalars(
        session,
        sa.select(UploadBatch),
        UploadBatch.created_at,
        UploadBatch.id,
        after,
        limit,
        descending=True,
    )


def mappings_page(
    session: Session, after: str | None, limit: int
) -> tuple[list[ColumnMapping], str | None]:
    """A page of saved column mappings by name."""
    return keyset_scalars(
        session, sa.select(ColumnMapping), ColumnMapping.name, ColumnMapping.id, after, limit
    )


def claimable_batch(session: Session, stale_before: datetime) -> uuid.UUID | None:
    """The oldest batch waiting for an importer, or one whose importer stopped beating.

    ix_upload_batches_status serves the filter; the claim itself is a conditional UPDATE.
    """
    return session.scalar(
        sa.select(UploadBatch.id)
        .where(
            sa.or_(
                UploadBatch.status == "pending",
                sa.and_(
                    UploadBatch.status == "processing", UploadBatch.heartbeat_at < stale_before
                ),
            )
        )
        .order_by(UploadBatch.created_at)
        .limit(1)
    )


def set_total(session: Session, batch_id: uuid.UUID, total: int) -> None:
    """How many rows the batch's file holds, counted before its first chunk."""
    session.execute(
        sa.update(UploadBatch).where(UploadBatch.id == batch_id).values(total_contacts=total)
    )


def add_progress(
    session: Session, batch_id: uuid.UUID, counts: Mapping[str, int], processed: int, now: datetime
) -> None:
    """Adds one chunk's outcome counts to the batch, in one UPDATE, with a heartbeat."""
    values: dict[str, Any] = {
        f"{outcome}_count": getattr(UploadBatch, f"{outcome}_count") + count
        for outcome, count in counts.items()
    }
    session.execute(
        sa.update(UploadBatch)
        .where(UploadBatch.id == batch_id)
        .values(processed_contacts=processed, heartbeat_at=now, **values)
        .execution_options(synchronize_session=False)
    )


def record_problems(
    session: Session, batch_id: uuid.UUID, rows: Sequence[Mapping[str, Any]]
) -> None:
    if rows:
        session.execute(problems.insert(), [{"upload_batch_id": batch_id, **row} for row in rows])


def problems_of(session: Session, batch_id: uuid.UUID) -> Iterator[UploadProblem]:
    """A batch's problem rows in file order, streamed (the (batch, line) index serves it)."""
    return iter(
        session.scalars(
            sa.select(UploadProblem)
            .where(UploadProblem.upload_batch_id == batch_id)
            .order_by(UploadProblem.line)
            .execution_options(yield_per=1000)
        )
    )


# Contacts -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ExistingContact:
    id: uuid.UUID
    upload_batch_id: uuid.UUID
    fields: dict[str, str | None]
    raw_data: dict[str, Any]


def existing_contacts(session: Session, keys: Sequence[str]) -> dict[str, ExistingContact]:
    """Contacts whose lower-cased address is one of keys (contacts_email_unique serves it)."""
    if not keys:
        return {}
    key = sa.func.lower(Contact.email)
    rows = session.execute(
        sa.select(
            key,
            Contact.id,
            Contact.upload_batch_id,
            Contact.raw_data,
            *(getattr(Contact, field) for field in CONTACT_FIELDS),
        ).where(one_of(session, key, keys))
    )
    return {
        row[0]: ExistingContact(
            id=row[1],
            upload_batch_id=row[2],
            raw_data=row[3] or {},
            fields=dict(zip(CONTACT_FIELDS, row[4:], strict=True)),
        )
        for row in rows
    }


def _dialect_insert(session: Session) -> Any:
    return postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert


NEW_CONTACT_COLUMNS = (
    "id",
    "raw_data",
    "name",
    "email",
    "company",
    "first_name",
    "last_name",
    "title",
    "timezone",
    "website",
    "role_address",
)
"""The per-row values of a new contact, in this order; the batch and the time are shared."""
STORED_COLUMNS = ", ".join(("upload_batch_id", "created_at", *NEW_CONTACT_COLUMNS))


def store_new_contacts(
    session: Session, batch_id: uuid.UUID, now: datetime, rows: Sequence[tuple[Any, ...]]
) -> set[str]:
    """Inserts new contacts (NEW_CONTACT_COLUMNS, with id and raw_data as text), skipping any
    address that another import stored meanwhile; returns the ids of the rows skipped so.

    Bulk paths straight to the driver, one per backend: the ORM's per-row work would cost more
    than the database's. PostgreSQL: COPY into a staging table, then one set-based INSERT.
    SQLite: one executemany; the importer holds the write lock, so no other import can race it.
    Either way the row count says whether any row was skipped, and only then are they looked for.
    """
    if not rows:
        return set()
    if session.get_bind().dialect.name == "postgresql":
        return _copy_contacts(session, batch_id, now, rows)
    return _executemany_contacts(session, batch_id, now, rows)


STAGING = """
CREATE TEMP TABLE IF NOT EXISTS contacts_staging (
  id uuid, raw_data jsonb, name text, email text, company text, first_name text, last_name text,
  title text, timezone text, website text, role_address boolean
) ON COMMIT DELETE ROWS;
TRUNCATE contacts_staging;
"""
FROM_STAGING = f"""
INSERT INTO contacts ({STORED_COLUMNS})
SELECT %(batch)s, %(now)s, {", ".join(NEW_CONTACT_COLUMNS)} FROM contacts_staging
ON CONFLICT (lower(email)) DO NOTHING
"""  # noqa: S608 (a fixed column list, no input)
SKIPPED_IN_STAGING = """
SELECT id::text FROM contacts_staging AS staged
WHERE NOT EXISTS (SELECT FROM contacts WHERE contacts.id = staged.id)
"""


def _copy_contacts(
    session: Session, batch_id: uuid.UUID, now: datetime, rows: Sequence[tuple[Any, ...]]
) -> set[str]:
    driver = session.connection().connection.driver_connection
    with driver.cursor() as cursor:  # type: ignore[union-attr]
        cursor.execute(STAGING)
        columns = ", ".join(NEW_CONTACT_COLUMNS)
        with cursor.copy(f"COPY contacts_staging ({columns}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        cursor.execute(FROM_STAGING, {"batch": batch_id, "now": now})
        if cursor.rowcount == len(rows):
            return set()
        cursor.execute(SKIPPED_IN_STAGING)
        return {contact_id for (contact_id,) in cursor.fetchall()}


PLACEHOLDERS = ", ".join("?" * (len(NEW_CONTACT_COLUMNS) + 2))
INSERT_SQLITE = (
    f"INSERT INTO contacts ({STORED_COLUMNS}) VALUES ({PLACEHOLDERS}) "  # noqa: S608 (fixed columns)
    "ON CONFLICT (lower(email)) DO NOTHING"
)


def _executemany_contacts(
    session: Session, batch_id: uuid.UUID, now: datetime, rows: Sequence[tuple[Any, ...]]
) -> set[str]:
    batch, at = str(batch_id), now.astimezone(UTC).strftime(SQLITE_TIMESTAMP_FORMAT)
    driver = session.connection().connection.driver_connection
    cursor = driver.cursor()  # type: ignore[union-attr]
    cursor.executemany(INSERT_SQLITE, ((batch, at, *row) for row in rows))
    if cursor.rowcount == len(rows):
        return set()
    stored = set(
        session.scalars(
            sa.select(sa.cast(Contact.id, sa.Text)).where(
                one_of(session, Contact.id, (row[0] for row in rows))
            )
        )
    )
    return {row[0] for row in rows if row[0] not in stored}


def update_contacts(session: Session, rows: Sequence[Mapping[str, Any]]) -> None:
    """Sets fields and raw_data of existing contacts; each row has `contact_id` and the values."""
    if rows:
        # Parameters are prefixed: a bind name equal to a column name is reserved in UPDATE.
        statement = (
            sa.update(contacts)
            .where(contacts.c.id == sa.bindparam("contact_id"))
            .values({name: sa.bindparam(f"new_{name}") for name in (*CONTACT_FIELDS, "raw_data")})
        )
        parameters = [
            {
                "contact_id": row["contact_id"],
                **{f"new_{k}": v for k, v in row.items() if k != "contact_id"},
            }
            for row in rows
        ]
        session.connection().execute(statement, parameters)


# Contacts by id, suppression checks, contacts in use ------------------------------------------


def existing_contact_ids(session: Session, contact_ids: Collection[uuid.UUID]) -> set[uuid.UUID]:
    if not contact_ids:
        return set()
    return set(session.scalars(sa.select(Contact.id).where(Contact.id.in_(list(contact_ids)))))


def contacts_by_id(
    session: Session, contact_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, Contact]:
    if not contact_ids:
        return {}
    found = session.scalars(sa.select(Contact).where(Contact.id.in_(list(contact_ids))))
    return {contact.id: contact for contact in found}


def suppressed_among(
    session: Session, keys: Iterable[str], domains: Iterable[str]
) -> tuple[set[str], set[str]]:
    """Which of these addresses and domains are suppressed (the unique indexes serve both)."""
    emails = session.scalars(
        sa.select(Suppression.email).where(one_of(session, Suppression.email, keys))
    )
    whole = session.scalars(
        sa.select(Suppression.domain).where(one_of(session, Suppression.domain, domains))
    )
    return {e for e in emails if e}, {d for d in whole if d}


def one_of(
    session: Session, column: sa.ColumnElement[Any] | QueryableAttribute[Any], values: Iterable[str]
) -> sa.ColumnElement[bool]:
    """column IN values, as one parameter however many values there are: a JSON array, read
    by jsonb_array_elements_text on PostgreSQL and json_each on SQLite. An IN list of thousands
    of parameters costs more to build and parse than the lookup itself, and so does a
    PostgreSQL array, which psycopg builds in Python value by value."""
    listed = sa.bindparam("values", json.dumps(list(values)), type_=sa.Text(), unique=True)
    each: sa.Select[str]
    if session.get_bind().dialect.name == "postgresql":
        each = sa.select(sa.func.jsonb_array_elements_text(sa.cast(listed, postgresql.JSONB)))
    else:
        each = sa.select(sa.column("value", sa.Text())).select_from(sa.func.json_each(listed))
    return column.in_(each)


def contacts_in_use(contact_ids: sa.Select[Any]) -> sa.Select[Any]:
    """Ids among these contacts that campaigns, drafts or sends refer to.

    Reads other domains' tables, and only to protect their rows: campaign_contacts and
    email_drafts would be deleted with the contact (ON DELETE CASCADE) and sent_emails,
    scheduled_emails and email_replies would refuse it.
    """
    tables = [sa.table(name, sa.column("contact_id")) for name in USING_TABLES]
    in_use = sa.union(
        *(sa.select(t.c.contact_id).where(t.c.contact_id.in_(contact_ids)) for t in tables)
    )
    return sa.select(in_use.subquery().c.contact_id)


USING_TABLES = (
    "campaign_contacts",
    "email_drafts",
    "sent_emails",
    "scheduled_emails",
    "email_replies",
)


def delete_unmatched_upload(session: Session, batch_id: uuid.UUID) -> str | None:
    """Deletes the upload if its columns were never matched (status `uploaded`: nothing of it
    was imported, nor can an importer have claimed it meanwhile); its stored file's path, or
    None when it was not deleted."""
    deleted = session.execute(
        sa.delete(UploadBatch)
        .where(UploadBatch.id == batch_id, UploadBatch.status == "uploaded")
        .returning(UploadBatch.stored_path)
        .execution_options(synchronize_session=False)
    ).first()
    return None if deleted is None else deleted[0] or ""


def delete_unused_contacts(session: Session, where: ContactFilter) -> tuple[int, int]:
    """Deletes the matching contacts, except those in use, in one DELETE (their list
    memberships go with them: ON DELETE CASCADE); returns (removed, kept)."""
    matching = sa.select(Contact.id).where(*conditions(where))
    in_use = contacts_in_use(matching)
    kept = session.scalar(sa.select(sa.func.count()).select_from(in_use.subquery())) or 0
    removed = session.execute(
        sa.delete(Contact)
        .where(*conditions(where), Contact.id.not_in(in_use))
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]
    return removed or 0, kept


# Contact search -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ContactFilter:
    """Which contacts: every given condition must hold. `field`/`value` match a raw_data column;
    a field name with a control character names none, and is refused as a mistake."""

    text: str | None = None
    company: str | None = None
    domain: str | None = None
    list_id: uuid.UUID | None = None
    batch_id: uuid.UUID | None = None
    field: str | None = None
    value: str | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None
    lead_status: str | None = None
    """A LeadStatus value (contacts/leads.py); served by ix_contacts_lead_status."""
    ids: tuple[uuid.UUID, ...] | None = None
    """These contacts only (a page's ticked rows): a few, so a plain IN list."""

    def __post_init__(self) -> None:
        if self.field and any(unicodedata.category(c) == "Cc" for c in self.field):
            raise ValidationFailed(
                f"{self.field!r} is not an original column: it holds a control character.",
                field="field",
            )


def email_at_domain(domain: str) -> sa.ColumnElement[bool]:
    """Contacts whose address is at `domain` (any case; "_" and "%" in it are literal)."""
    return sa.func.lower(Contact.email).endswith("@" + domain.lower(), autoescape=True)


def _contains(
    column: QueryableAttribute[Any] | sa.ColumnElement[Any], text: str
) -> sa.ColumnElement[bool]:
    """ILIKE '%text%', the pattern written into the statement (escaped by SQLAlchemy's literal
    rendering) rather than bound: psycopg prepares a statement run five times, and PostgreSQL's
    generic plan for a bound pattern cannot know it is rare, so it walked every contact in
    address order instead of the trigram index on company (3.4 s at a million contacts)."""
    if "\x00" in text:
        # PostgreSQL's text cannot hold a NUL, so no stored text contains one, nor can a literal
        # holding one be written into a statement; the same answer on SQLite.
        return sa.false()
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    pattern = sa.bindparam(None, f"%{escaped}%", sa.Text(), unique=True, literal_execute=True)
    return column.ilike(pattern, escape="\\")


def conditions(where: ContactFilter) -> list[sa.ColumnElement[bool]]:
    found: list[sa.ColumnElement[bool]] = []
    if where.text:
        found.append(
            sa.or_(
                *(
                    _contains(column, where.text)
                    for column in (Contact.email, Contact.name, Contact.company)
                )
            )
        )
    if where.company:
        found.append(_contains(Contact.company, where.company))
    if where.domain:
        found.append(email_at_domain(where.domain.strip().lstrip("@")))
    if where.list_id:
        found.append(
            Contact.id.in_(
                sa.select(ContactListMember.contact_id).where(
                    ContactListMember.list_id == where.list_id
                )
            )
        )
    if where.batch_id:
        found.append(Contact.upload_batch_id == where.batch_id)
    if where.field:
        found.append(json_member_text(Contact.raw_data, where.field) == (where.value or ""))
    if where.created_from:
        found.append(Contact.created_at >= where.created_from)
    if where.created_to:
        found.append(Contact.created_at < where.created_to)
    if where.lead_status:
        found.append(Contact.lead_status == where.lead_status)
    if where.ids is not None:
        found.append(Contact.id.in_(where.ids))
    return found


def insertable(where: ContactFilter) -> list[sa.ColumnElement[bool]]:
    """The filter's conditions for an INSERT … SELECT … ON CONFLICT: never none, because SQLite
    reads the ON after a bare FROM as a join's and refuses the statement ("WHERE true" parses)."""
    return conditions(where) or [sa.true()]


def count_matching(session: Session, where: ContactFilter, most: int | None = None) -> int:
    """How many contacts match (what a bulk action confirms), or, given `most`, most + 1 when
    more do: a page that only says "more than 10,000" stops counting there, where counting a
    search or a list of a million took a second on PostgreSQL."""
    matching = sa.select(Contact.id).where(*conditions(where))
    if most is not None:
        matching = matching.limit(most + 1)
    return session.scalar(sa.select(sa.func.count()).select_from(matching.subquery())) or 0


def lists_of_contacts(
    session: Session, contact_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, list[ContactList]]:
    """The lists each of a page's contacts is in, by name, in one query (the members' unique
    key leads with contact_id)."""
    found: dict[uuid.UUID, list[ContactList]] = {}
    if not contact_ids:
        return found
    rows = session.execute(
        sa.select(ContactListMember.contact_id, ContactList)
        .join(ContactList, ContactList.id == ContactListMember.list_id)
        .where(ContactListMember.contact_id.in_(contact_ids))
        .order_by(ContactList.name)
    )
    for contact_id, contact_list in rows:
        found.setdefault(contact_id, []).append(contact_list)
    return found


def contacts_page(
    session: Session, where: ContactFilter, after: str | None, limit: int
) -> tuple[list[Contact], str | None]:
    """A page of contacts in address order, and the key to ask for the next page (keyset: the
    unique index on lower(email) serves both the order and the jump)."""
    key = sa.func.lower(Contact.email)
    statement = sa.select(Contact).where(*conditions(where)).order_by(key).limit(limit + 1)
    if after:
        statement = statement.where(key > after)
    page = list(session.scalars(statement))
    more = len(page) > limit
    page = page[:limit]
    return page, (page[-1].email.lower() if more and page else None)


def first_matching(session: Session, where: ContactFilter) -> Contact | None:
    """The first matching contact in address order (a preview's example).

    Walks the index on lower(email) and stops at the first match: list membership as EXISTS,
    which the members' (list, contact) key answers per contact. As IN (conditions()), both
    backends read every member and sort them for one row: 150 ms for a list of 30,000 on
    SQLite, on each view of a campaign's page."""
    member = (
        sa.exists()
        .where(ContactListMember.list_id == where.list_id)
        .where(ContactListMember.contact_id == Contact.id)
    )
    others = conditions(replace(where, list_id=None))
    return session.scalar(
        sa.select(Contact)
        .where(*others, *([member] if where.list_id else []))
        .order_by(sa.func.lower(Contact.email))
        .limit(1)
    )


def _exported(where: ContactFilter) -> sa.Select[Any]:
    """The contacts an export writes: a list's members joined from the list's side, so that a
    list's export reads its members and not every contact."""
    statement = sa.select(Contact).where(*conditions(replace(where, list_id=None)))
    if where.list_id:
        statement = statement.join(
            ContactListMember,
            sa.and_(
                ContactListMember.contact_id == Contact.id,
                ContactListMember.list_id == where.list_id,
            ),
        )
    return statement


def whole_result_plans(session: Session) -> None:
    """Plans this transaction's streamed reads for their whole result.

    PostgreSQL plans a cursor for its first tenth of rows (cursor_tuple_fraction): for an
    export in address order that is a walk of every contact along lower(email), even for a
    list of a hundred. Planned for all rows, a list's export reads its members and sorts them.
    Other databases plan every statement for its whole result already."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(sa.text("SET LOCAL cursor_tuple_fraction = 1"))


def matching_contacts(session: Session, where: ContactFilter) -> Iterator[Contact]:
    """Every matching contact in address order, streamed in slices."""
    statement = (
        _exported(where).order_by(sa.func.lower(Contact.email)).execution_options(yield_per=2000)
    )
    return iter(session.scalars(statement))


def list_members(session: Session, list_id: uuid.UUID) -> Iterator[Contact]:
    """Every member of the list, streamed in slices, in the order the database reads them: for
    a check that stops at the first member that passes, which a sort of every member by address
    would keep waiting (0.8 s for a list of 100,000 on SQLite)."""
    statement = _exported(ContactFilter(list_id=list_id)).execution_options(yield_per=100)
    return iter(session.scalars(statement))


def matching_rows(
    session: Session, where: ContactFilter, columns: Sequence[QueryableAttribute[Any]]
) -> Iterator[Sequence[Any]]:
    """`columns` of every matching contact in address order, streamed in slices (for exports:
    plain rows cost a fraction of what contacts as objects do; an export calls
    whole_result_plans first in its transaction)."""
    statement = (
        _exported(where)
        .with_only_columns(*columns)
        .order_by(sa.func.lower(Contact.email))
        .execution_options(yield_per=2000)
    )
    return iter(session.execute(statement))


def raw_columns(session: Session, where: ContactFilter) -> list[str]:
    """Every raw_data column among matching contacts, in first-seen order."""
    seen: dict[str, None] = {}
    for (raw,) in matching_rows(session, where, [Contact.raw_data]):
        seen.update(dict.fromkeys(raw or {}))
    return list(seen)


def lists_of(session: Session, contact_id: uuid.UUID) -> list[ContactList]:
    return list(
        session.scalars(
            sa.select(ContactList)
            .join(ContactListMember, ContactListMember.list_id == ContactList.id)
            .where(ContactListMember.contact_id == contact_id)
            .order_by(ContactList.name)
        )
    )


# Lists ----------------------------------------------------------------------------------------


def lists_with_sizes(session: Session) -> list[tuple[ContactList, int]]:
    """Every list by name with its number of members."""
    rows = session.execute(_with_sizes().order_by(ContactList.name, ContactList.id))
    return [(row[0], row[1]) for row in rows]


def lists_page(
    session: Session, after: str | None, limit: int
) -> tuple[list[tuple[ContactList, int]], str | None]:
    """A page of lists by name, each with its number of members: a page costs its lists."""
    rows, cursor = keyset_page(
        session, _with_sizes(), ContactList.name, ContactList.id, after, limit
    )
    return [(row[0], row[1]) for row in rows], cursor


def _with_sizes() -> sa.Select[ContactList, int]:
    # The sizes kept by migration 0034's triggers: exact, and one row a list to read however
    # many members it has (counting them read 300,000 memberships for the first page at ten
    # times the seed's volume). A list that never had a member has no row.
    return sa.select(ContactList, sa.func.coalesce(ContactListSize.members, 0)).outerjoin(
        ContactListSize, ContactListSize.list_id == ContactList.id
    )


def rebuild_list_sizes(connection: sa.Connection) -> None:
    """Counts every list's members again, for writes the triggers did not see (a fill with
    triggers off, a TRUNCATE): what an import ends with, as the analytics rollups."""
    sizes: sa.Table = ContactListSize.__table__  # type: ignore[assignment]
    connection.execute(sa.delete(sizes))
    connection.execute(
        sa.insert(sizes).from_select(
            ["list_id", "members"],
            sa.select(ContactListMember.list_id, sa.func.count()).group_by(
                ContactListMember.list_id
            ),
        )
    )


@dataclass(frozen=True)
class ListSizeDifference:
    """A list whose kept number of members is not what its memberships say."""

    name: str
    kept: int
    counted: int

    def describe(self) -> str:
        return f"list {self.name!r}: {self.kept} members (rows say {self.counted})"


def list_size_differences(connection: sa.Connection) -> list[ListSizeDifference]:
    """Every list whose kept size differs from a count of its members, by name."""
    counted = (
        sa.select(ContactListMember.list_id, sa.func.count().label("members"))
        .group_by(ContactListMember.list_id)
        .subquery()
    )
    kept = sa.func.coalesce(ContactListSize.members, 0)
    members = sa.func.coalesce(counted.c.members, 0)
    found = connection.execute(
        sa.select(ContactList.name, kept, members)
        .outerjoin(ContactListSize, ContactListSize.list_id == ContactList.id)
        .outerjoin(counted, counted.c.list_id == ContactList.id)
        .where(kept != members)
        .order_by(ContactList.name, ContactList.id)
    )
    return [ListSizeDifference(name, kept, members) for name, kept, members in found]


LIST_CHOICES = 50


def list_choices(
    session: Session,
    text: str | None,
    chosen: uuid.UUID | None,
    limit: int | None = LIST_CHOICES,
) -> list[tuple[uuid.UUID, str]]:
    """(id, name) of the first lists by name whose name contains `text`, and the chosen list
    whatever its name: what a list menu offers, without counting anyone."""
    statement = sa.select(ContactList.id, ContactList.name).order_by(
        ContactList.name, ContactList.id
    )
    if text and text.strip():
        statement = statement.where(_contains(ContactList.name, text.strip()))
    found = [(row[0], row[1]) for row in session.execute(statement.limit(limit))]
    if chosen and all(list_id != chosen for list_id, _ in found):
        kept = session.execute(
            sa.select(ContactList.id, ContactList.name).where(ContactList.id == chosen)
        ).first()
        found = [(kept[0], kept[1]), *found] if kept else found
    return found


def list_size(session: Session, list_id: uuid.UUID) -> int:
    size = sa.select(ContactListSize.members).where(ContactListSize.list_id == list_id)
    return session.scalar(size) or 0


def list_named(session: Session, name: str) -> ContactList | None:
    return session.scalar(
        sa.select(ContactList).where(sa.func.lower(ContactList.name) == name.strip().lower())
    )


def add_members(
    session: Session, list_id: uuid.UUID, contact_ids: Sequence[uuid.UUID], now: datetime
) -> int:
    """Adds contacts to a list; those already in it stay once (unique_contact_list_member)."""
    if not contact_ids:
        return 0
    # RETURNING counts the rows added: psycopg's executemany gives no row count (-1).
    statement = (
        _dialect_insert(session)(members)
        .on_conflict_do_nothing(index_elements=["contact_id", "list_id"])
        .returning(members.c.id)
    )
    rows = [
        {"id": uuid.uuid4(), "contact_id": cid, "list_id": list_id, "added_at": now}
        for cid in dict.fromkeys(contact_ids)
    ]
    added = len(session.connection().execute(statement, rows).all())
    _members_added(session, list_id, added)
    return added


def add_matching_members(
    session: Session, list_id: uuid.UUID, where: ContactFilter, now: datetime
) -> int:
    """Adds every contact matching a filter, set-based, in one INSERT … SELECT. Each row's id is
    made by the database: the column's Python default would be one value for all of them."""
    chosen = sa.select(
        new_uuid(), sa.literal(list_id, GUID()), Contact.id, sa.literal(now, UtcDateTime())
    ).where(*insertable(where))
    statement = (
        _dialect_insert(session)(members)
        .from_select(["id", "list_id", "contact_id", "added_at"], chosen)
        .on_conflict_do_nothing(index_elements=["contact_id", "list_id"])
        .returning(members.c.id)
    )
    added = len(session.connection().execute(statement).all())
    _members_added(session, list_id, added)
    return added


def _members_added(session: Session, list_id: uuid.UUID, added: int) -> None:
    """Raises the list's members_version, in the transaction that added them, so that its
    campaigns look for them on their next pass (and only then)."""
    if added:
        session.execute(
            sa.update(ContactList)
            .where(ContactList.id == list_id)
            .values(members_version=ContactList.members_version + 1)
        )


def members_version(session: Session, list_id: uuid.UUID) -> int:
    version = sa.select(ContactList.members_version).where(ContactList.id == list_id)
    return session.scalar(version) or 0


def remove_members(session: Session, list_id: uuid.UUID, contact_ids: Sequence[uuid.UUID]) -> int:
    result = session.execute(
        sa.delete(ContactListMember).where(
            ContactListMember.list_id == list_id, ContactListMember.contact_id.in_(contact_ids)
        )
    )
    return result.rowcount or 0  # type: ignore[attr-defined]


# Suppressions ---------------------------------------------------------------------------------


def suppress_matching(
    session: Session, where: ContactFilter, reason: str, source: str, now: datetime
) -> int:
    """Suppresses every matching contact's address (lower-cased, as suppressions.parsed keys
    them) in one INSERT … SELECT; those already suppressed stay as they were. Returns how many
    were added."""
    chosen = sa.select(
        new_uuid(),
        sa.func.lower(Contact.email),
        sa.literal(reason),
        sa.literal(source),
        sa.literal(now, UtcDateTime()),
    ).where(*insertable(where))
    suppressions = Suppression.__table__
    statement = (
        _dialect_insert(session)(suppressions)
        .from_select(["id", "email", "reason", "source", "created_at"], chosen)
        .on_conflict_do_nothing(index_elements=["email"])
        .returning(suppressions.c.id)
    )
    return len(session.connection().execute(statement).all())


def contact_by_email(session: Session, email: str) -> Contact | None:
    """Compared as contacts_email_unique compares (lower-cased), which serves it."""
    return session.scalar(sa.select(Contact).where(sa.func.lower(Contact.email) == email.lower()))


def suppression_of(session: Session, email: str | None, domain: str | None) -> Suppression | None:
    if email:
        return session.scalar(sa.select(Suppression).where(Suppression.email == email))
    return session.scalar(sa.select(Suppression).where(Suppression.domain == domain))


def suppressions_page(
    session: Session, text: str | None, after: str | None, limit: int
) -> tuple[list[Suppression], str | None]:
    """Suppressions in order of their address or domain, keyset-paginated."""
    key = sa.func.coalesce(Suppression.email, Suppression.domain)
    statement = sa.select(Suppression).order_by(key).limit(limit + 1)
    if text:
        statement = statement.where(_contains(key, text))
    if after:
        statement = statement.where(key > after)
    page = list(session.scalars(statement))
    more = len(page) > limit
    page = page[:limit]
    return page, ((page[-1].email or page[-1].domain) if more and page else None)
