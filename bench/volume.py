"""Databases for the benchmarks: made and dropped, and filled at a multiple of the seed's
year-one volume, the way a year of use leaves them.

At `scale` 1 (the seed's year one): 100,000 contacts in 10 uploads; 500 lists holding 110,000
memberships; 500 campaigns (3 steps, 2 of 40 sender accounts each, 57 running, the rest
finished, paused or drafts) with 75,000 enrollments (10,000 in the first, 5,000 in each of the
next four, about 90 in each of the others), most of them finished; about 190,000 sent emails
over the 12 months before the fill, each with its approved draft and its delivery; 3% of the
enrolled replied (an inbox message in a conversation, some of them categorized); 300,000
drafts in all, 30,000 of them awaiting review in 30 draft batches. Everything but the number
of campaigns and lists grows with `scale`.

Rows are written by COPY on PostgreSQL with the triggers off (at 10x they would take hours),
and what they keep is then filled set-based (`rebuild_kept_figures`: the analytics rollups,
implicit approvals, lists' sizes and draft batches' tallies); `copy_to_sqlite` then copies the
filled tables into a migrated SQLite database and rebuilds those there too.
"""

from __future__ import annotations

import json
import os
import random
import sqlite3
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from datetime import time as dt_time
from pathlib import Path
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from outreach.analytics import approvals, rollups
from outreach.config import Settings
from outreach.contacts import queries as contact_queries
from outreach.db import SQLITE_TIMESTAMP_FORMAT, create_engine, time_ordered_uuid
from outreach.drafts import queries as draft_queries
from outreach.schema import upgrade

PG_URL = os.environ.get("OUTREACH_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")

FIRST = ["Ada", "Alan", "Grace", "Linus", "Margaret", "Ken", "Zoë", "José", "Dennis", "Søren"]
LAST = ["Lovelace", "Turing", "Hopper", "Torvalds", "Hamilton", "Thompson", "Müller", "Ritchie"]
TITLES = ["CEO", "CTO", "Head of Sales", "VP Marketing", "Founder", "Engineer", None]
CITIES = ["London", "Berlin", "Paris", "Lisbon", "Austin", "Toronto", "Sydney"]
ZONES = ["Europe/London", "Europe/Berlin", "America/Chicago", "Australia/Sydney", None, None]
CONTACT_COLUMNS = (
    "id", "upload_batch_id", "raw_data", "name", "email", "company", "enriched_data",
    "created_at", "first_name", "last_name", "title", "timezone", "website", "role_address",
)  # fmt: skip


# Databases ----------------------------------------------------------------------------------


def pg_url(name: str) -> str:
    return PG_URL.rsplit("/", 1)[0] + "/" + name


def create_pg_database(name: str | None = None) -> tuple[str, str]:
    """(url, name) of a new empty PostgreSQL database."""
    name = name or f"outreach_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    return pg_url(name), name


def pg_database_exists(name: str) -> bool:
    with psycopg.connect(PG_URL, autocommit=True) as admin:
        found = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
    return found is not None


def drop_pg_database(name: str | None) -> None:
    if name:
        with psycopg.connect(PG_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def database(backend: str, folder: Path, prefix: str = "bench") -> tuple[str, str | None]:
    """(url, name to drop) of a new empty database: a file in `folder`, or on the server."""
    if backend == "sqlite":
        return f"sqlite:///{folder / f'{prefix}-{uuid.uuid4().hex}.db'}", None
    return create_pg_database()


def settings(url: str, folder: Path) -> Settings:
    """The app's settings for a benchmark's database, its data in `folder`."""
    return Settings(
        _env_file=None,
        DATABASE_URL=url,
        OUTREACH_DATA_DIR=folder,  # type: ignore[call-arg]
        OUTREACH_SECRET_KEY="bench-" + "k7Q2xL9pR4mZ8vN3wB6tY1cD5",
    )


def migrated(url: str) -> None:
    engine = create_engine(url)
    try:
        upgrade(engine)
    finally:
        engine.dispose()


def sqlite_value(value: Any) -> Any:
    """A value as our SQLite columns store it (UtcDateTime, GUID, JSON)."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime(SQLITE_TIMESTAMP_FORMAT)
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, Jsonb):
        return json.dumps(value.obj)
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    return value


# Contacts -----------------------------------------------------------------------------------


def contact_rows(
    count: int, batches: list[uuid.UUID], start: datetime, seed: int = 7
) -> Iterator[tuple[Any, ...]]:
    """`count` contacts as an import stores them (CONTACT_COLUMNS): realistic values (some
    non-ASCII names, some NULL title, timezone and website, enriched_data on 5%), raw_data with
    the 8 keys of a CSV line, time-ordered ids, created one millisecond apart; contact n is at
    company n % 5000 and came in upload n * len(batches) // count."""
    chooser = random.Random(seed)
    for n in range(count):
        first, last = chooser.choice(FIRST), chooser.choice(LAST)
        email = f"{first}.{last}.{n}@company{n % 5000}.example".lower()
        company = f"Company {n % 5000}"
        title = chooser.choice(TITLES)
        city = chooser.choice(CITIES)
        website = f"https://company{n % 5000}.example" if n % 3 else None
        created = start + timedelta(milliseconds=n)
        raw = {
            "Email": email,
            "First Name": first,
            "Last Name": last,
            "Company": company,
            "Title": title or "",
            "City": city,
            "Phone": f"+44 20 {n:08d}",
            "Website": website or "",
        }
        enriched = (
            Jsonb({"employees": 10 + n % 900, "industry": "Software", "city": city})
            if n % 20 == 0
            else None
        )
        yield (
            time_ordered_uuid(created),
            batches[n * len(batches) // count],
            Jsonb(raw),
            f"{first} {last}",
            email,
            company,
            enriched,
            created,
            first,
            last,
            title,
            chooser.choice(ZONES),
            website,
            False,
        )


# A year of use ------------------------------------------------------------------------------

CAMPAIGNS = 500
RUNNING = 57
SENDERS = 40
UPLOADS = 10
STEP_TYPES = ("first_outreach", "second_followup", "final_followup")
STEP_TEXT = (
    ("Hello from {{ company | default('us') }}, {{ first_name }}", "Hi {{ first_name }},\n\n"
     "Ten minutes next week about {{ company | default('your team') }}?\n\nGrace", 0),
    ("", "Hi {{ first_name }}, just following up.", 3),
    ("", "Last note, {{ first_name }}.", 4),
)  # fmt: skip


@dataclass(frozen=True)
class Volume:
    """What was filled, and the ids a benchmark needs to name things."""

    scale: int
    contacts: int
    big_campaign: uuid.UUID
    big_list: uuid.UUID
    contact: uuid.UUID
    upload: uuid.UUID
    draft_batch: uuid.UUID
    draft: uuid.UUID
    enrollment: uuid.UUID
    conversation: uuid.UUID
    sender: uuid.UUID


def enrollments_of(campaign: int, scale: int) -> int:
    if campaign == 0:
        return 10_000 * scale
    if campaign < 5:
        return 5_000 * scale
    # 45,000 per scale over the 495 others, the remainder on the first of them.
    share, rest = divmod(45_000 * scale, CAMPAIGNS - 5)
    return share + (rest if campaign == 5 else 0)


def campaign_status(campaign: int) -> str:
    if campaign < RUNNING:
        return "active"
    if campaign < 470:
        return "completed"
    return ("paused", "draft", "archived")[campaign % 3]


class Writer:
    """COPY into the tables of one PostgreSQL connection, one table at a time, in order."""

    def __init__(self, connection: psycopg.Connection[Any]) -> None:
        self.connection = connection
        self.counts: dict[str, int] = {}

    def write(self, table: str, columns: tuple[str, ...], rows: Iterator[tuple[Any, ...]]) -> None:
        written = 0
        with (
            self.connection.cursor() as cursor,
            cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy,
        ):
            for row in rows:
                copy.write_row(row)
                written += 1
        self.counts[table] = self.counts.get(table, 0) + written


def fill(url: str, scale: int, now: datetime, log: Any = print) -> Volume:
    """Fills the migrated PostgreSQL database at `url` with `scale` times the seed's year one,
    ending at `now`. Deterministic but for the ids."""
    chance = random.Random(scale)
    year_start = now - timedelta(days=365)
    contacts = 100_000 * scale
    started = time.perf_counter()
    with psycopg.connect(url) as connection:
        out = Writer(connection)
        uploads = [uuid.uuid4() for _ in range(UPLOADS)]
        out.write(
            "upload_batches",
            ("id", "file_name", "status", "created_at", "total_contacts", "processed_contacts",
             "imported_count"),
            (
                (u, f"contacts-{n + 1:02}.csv", "completed", year_start + timedelta(days=30 * n),
                 contacts // UPLOADS, contacts // UPLOADS, contacts // UPLOADS)
                for n, u in enumerate(uploads)
            ),
        )  # fmt: skip
        contact_ids: list[uuid.UUID] = []
        emails: list[str] = []

        def contacts_kept() -> Iterator[tuple[Any, ...]]:
            for row in contact_rows(contacts, uploads, year_start):
                contact_ids.append(row[0])
                emails.append(row[4])
                yield row

        out.write("contacts", CONTACT_COLUMNS, contacts_kept())
        out.write(
            "recipient_domains",
            ("domain", "provider", "resolved_at"),
            ((f"company{n}.example", "other", year_start) for n in range(5000)),
        )
        log(f"  contacts: {contacts:,} ({time.perf_counter() - started:.0f} s)")

        senders = [uuid.uuid4() for _ in range(SENDERS)]
        out.write(
            "sender_accounts",
            ("id", "email", "display_name", "kind", "created_at"),
            (
                (s, f"sender{n}@ourco.example", f"Sender {n}", "outbox", year_start)
                for n, s in enumerate(senders)
            ),
        )
        lists = [uuid.uuid4() for _ in range(CAMPAIGNS)]
        campaigns = [uuid.uuid4() for _ in range(CAMPAIGNS)]
        out.write(
            "contact_lists",
            ("id", "name", "created_at"),
            (
                (lists[n], f"List {n:03}", year_start + timedelta(hours=17 * n))
                for n in range(CAMPAIGNS)
            ),
        )
        out.write(
            "campaigns",
            ("id", "name", "status", "list_id", "created_at", "enrolled_list_version"),
            (
                (campaigns[n], f"Campaign {n:03}", campaign_status(n), lists[n],
                 year_start + timedelta(hours=17 * n),
                 None if campaign_status(n) == "draft" else 0)
                for n in range(CAMPAIGNS)
            ),
        )  # fmt: skip
        out.write(
            "campaign_sequences",
            ("campaign_id", "sequence_order", "name", "subject_template", "body_template",
             "delay_days"),
            (
                (c, order + 1, f"Step {order + 1}", *STEP_TEXT[order])
                for c in campaigns
                for order in range(3)
            ),
        )  # fmt: skip
        out.write(
            "campaign_senders",
            ("campaign_id", "sender_account_id", "position"),
            (
                (c, senders[(2 * n + k) % SENDERS], k)
                for n, c in enumerate(campaigns)
                for k in range(2)
            ),
        )
        # The seed's triggers fire per row (a daily email_analytics row updated by each draft
        # and send, the analytics rollups): at 10x hours of COPY. They are off for the rest of
        # the fill, which then fills what they would have, set-based (email_analytics below,
        # analytics_rollups, implicit_approvals, contact_list_sizes and draft_batch_tallies by
        # their own rebuilds).
        # Foreign keys go unchecked too.
        connection.execute("SET session_replication_role = replica")
        connection.execute(
            "UPDATE campaign_settings SET send_days = ARRAY['monday','tuesday','wednesday',"
            "'thursday','friday','saturday','sunday'], daily_limit = 1000"
        )

        # Enrollments, their sends and replies; list k holds campaign k's enrolled contacts.
        stride = 7919  # prime, so consecutive enrollments of a campaign are distinct contacts
        plan: list[tuple[Any, ...]] = []
        members: list[tuple[Any, ...]] = []
        enrolled_in: list[set[int]] = [set() for _ in range(CAMPAIGNS)]
        j = 0
        for c in range(CAMPAIGNS):
            status_of_campaign = campaign_status(c)
            begins = year_start + timedelta(days=c * 330 // CAMPAIGNS)
            if c < RUNNING:
                # Running campaigns began weeks or months ago (the big ones at a daily limit
                # take months), and their first emails went out over the time since.
                begins = now - timedelta(
                    days=chance.randint(100, 150) if c < 5 else chance.randint(20, 90)
                )
            for _ in range(enrollments_of(c, scale) if status_of_campaign != "draft" else 0):
                contact = (j * stride) % contacts
                j += 1
                enrolled_in[c].add(contact)
                members.append((lists[c], contact_ids[contact], begins))
                plan.append((c, contact, begins, chance.random(), chance.random()))
        extra = 110_000 * scale - len(members)
        # The rest of the memberships: a few lists built by hand from searches, beside their
        # campaign's (finished) enrollments.
        for n in range(extra):
            c = 57 + (n % 40)
            contact = (n * 104729 + 13) % contacts
            if contact in enrolled_in[c]:
                continue
            enrolled_in[c].add(contact)
            members.append((lists[c], contact_ids[contact], year_start + timedelta(days=200)))
        out.write("contact_list_members", ("list_id", "contact_id", "added_at"), iter(members))
        log(f"  memberships: {len(members):,} ({time.perf_counter() - started:.0f} s)")
        del members, enrolled_in

        enrollment_rows: list[tuple[Any, ...]] = []
        sends: list[tuple[Any, ...]] = []  # (enrollment, campaign, contact, step, at, sender)
        replies: list[tuple[Any, ...]] = []
        for c, contact, begins, roll, when in plan:
            running = c < RUNNING
            enrollment = uuid.uuid4()
            sender = senders[(2 * c + contact % 2) % SENDERS]
            spread = (now - begins).days - 8 if running else 25
            first_at = begins + timedelta(days=int(when * spread), seconds=int(when * 86_399))
            if roll < 0.03:
                status, steps = "replied", 1 + int(when * 2)
            elif roll < 0.08:
                status, steps = ("bounced", "unsubscribed", "stopped")[int(when * 3)], 1
            elif running and roll < 0.18:
                status, steps = "in_progress", 1 + int(when * 2)
            elif running and roll < 0.23:
                status, steps = "pending", 0
            else:
                status, steps = "completed", 3
            last = first_at + timedelta(days=4 * (steps - 1)) if steps else None
            if last is not None and last > now:
                last = now - timedelta(hours=1 + contact % 20)
            next_send = (
                now + timedelta(hours=2 + contact % 70)
                if status in ("in_progress", "pending")
                else None
            )
            enrollment_rows.append(
                (enrollment, campaigns[c], contact_ids[contact], status, steps, begins,
                 last if status in ("completed", "replied", "bounced", "unsubscribed", "stopped")
                 else None,
                 last + timedelta(hours=5) if status == "replied" and last else None,
                 last, next_send, sender)
            )  # fmt: skip
            for step in range(steps):
                at = min(first_at + timedelta(days=4 * step), last or now)
                sends.append((enrollment, campaigns[c], contact, step, at, sender))
            if status == "replied" and last is not None:
                replies.append((enrollment, campaigns[c], contact, last, sender))
        del plan
        out.write(
            "campaign_contacts",
            ("id", "campaign_id", "contact_id", "status", "current_sequence_step", "enrolled_at",
             "completed_at", "replied_at", "last_email_sent_at", "next_send_at",
             "sender_account_id"),
            iter(enrollment_rows),
        )  # fmt: skip
        log(f"  enrollments: {len(enrollment_rows):,} ({time.perf_counter() - started:.0f} s)")
        del enrollment_rows

        # Drafts: one per send (sent), 30,000 awaiting review, the rest approved or rejected.
        sent_drafts = [uuid.uuid4() for _ in sends]
        reviewing = 30_000 * scale
        others = 300_000 * scale - len(sends) - reviewing
        review_drafts: list[tuple[uuid.UUID, int, datetime]] = []

        def draft_rows() -> Iterator[tuple[Any, ...]]:
            for draft, (_, _, contact, step, at, _) in zip(sent_drafts, sends, strict=True):
                yield (draft, contact_ids[contact], STEP_TYPES[step], "Hello", "Hi there.",
                       "sent", at - timedelta(hours=1), at - timedelta(hours=2))  # fmt: skip
            for n in range(reviewing + others):
                contact = (n * 31 + 5) % contacts
                draft = uuid.uuid4()
                if n < reviewing:
                    created = now - timedelta(days=14) + timedelta(seconds=n * 40 // scale)
                    review_drafts.append((draft, contact, created))
                    yield (draft, contact_ids[contact], "first_outreach", "Quick question",
                           "Hi, a quick question.", "draft", None, created)  # fmt: skip
                else:
                    created = year_start + timedelta(seconds=n * 97 // scale)
                    yield (draft, contact_ids[contact], "first_outreach", "Quick question",
                           "Hi, a quick question.", "approved" if n % 3 else "failed",
                           created + timedelta(hours=3) if n % 3 else None, created)  # fmt: skip

        out.write(
            "email_drafts",
            ("id", "contact_id", "draft_type", "subject", "body", "status", "approved_at",
             "created_at"),
            draft_rows(),
        )  # fmt: skip
        log(f"  drafts: {out.counts['email_drafts']:,} ({time.perf_counter() - started:.0f} s)")
        batches = [uuid.uuid4() for _ in range(30)]
        per_batch = reviewing // len(batches)
        out.write(
            "draft_batches",
            ("id", "label", "source", "list_id", "draft_types", "status", "created_at",
             "finished_at"),
            (
                (b, f"Review batch {n + 1}", "list", lists[n], ["first_outreach"],
                 "completed", review_drafts[n * per_batch][2],
                 review_drafts[n * per_batch][2] + timedelta(minutes=20))
                for n, b in enumerate(batches)
            ),
        )  # fmt: skip
        out.write(
            "draft_jobs",
            ("batch_id", "contact_id", "draft_type", "position", "status", "draft_id",
             "created_at", "finished_at"),
            (
                (batches[min(n // per_batch, len(batches) - 1)], contact_ids[contact],
                 "first_outreach", n, "written", draft, created, created)
                for n, (draft, contact, created) in enumerate(review_drafts)
            ),
        )  # fmt: skip

        sent_ids = [uuid.uuid4() for _ in sends]
        out.write(
            "sent_emails",
            ("id", "draft_id", "contact_id", "sender_account_id", "campaign_id", "draft_type",
             "subject", "body", "recipient_email", "sent_at", "message_id", "status",
             "sequence_step"),
            (
                (sent, draft, contact_ids[contact], sender, campaign, STEP_TYPES[step],
                 "Hello", "Hi,\n\nTen minutes next week?\n\nGrace", emails[contact],
                 at, f"<{sent}@ourco.example>", "sent", step + 1)
                for sent, draft, (_, campaign, contact, step, at, sender) in zip(
                    sent_ids, sent_drafts, sends, strict=True
                )
            ),
        )  # fmt: skip
        log(f"  sent emails: {len(sends):,} ({time.perf_counter() - started:.0f} s)")
        out.write(
            "deliveries",
            ("campaign_contact_id", "sequence_step", "campaign_id", "contact_id", "draft_id",
             "sender_account_id", "message_id", "status", "attempts", "next_attempt_at",
             "claimed_at", "sent_at", "sent_email_id", "created_at"),
            (
                (enrollment, step + 1, campaign, contact_ids[contact], draft, sender,
                 f"<{sent}@ourco.example>", "sent", 1, at, at, at, sent,
                 at - timedelta(minutes=5))
                for sent, draft, (enrollment, campaign, contact, step, at, sender) in zip(
                    sent_ids, sent_drafts, sends, strict=True
                )
            ),
        )  # fmt: skip
        log(f"  deliveries: {len(sends):,} ({time.perf_counter() - started:.0f} s)")
        last_send = {(e, c): s for s, (e, _, c, _, _, _) in zip(sent_ids, sends, strict=True)}

        # (conversation, enrollment, campaign, contact, replied at, sender, category)
        threads = [
            (uuid.uuid4(), enrollment, campaign, contact, at + timedelta(hours=5), sender,
             ("interested", "meeting_request", "not_interested", None)[n % 4])
            for n, (enrollment, campaign, contact, at, sender) in enumerate(replies)
        ]  # fmt: skip
        out.write(
            "conversations",
            ("id", "contact_id", "sender_account_id", "last_message_at", "last_inbound_at",
             "unread", "needs_answer", "created_at", "category"),
            (
                (conversation, contact_ids[contact], sender, at, at, n % 4 == 0, n % 3 == 0,
                 at - timedelta(hours=5), category)
                for n, (conversation, _, _, contact, at, sender, category) in enumerate(threads)
            ),
        )  # fmt: skip
        out.write(
            "inbox_messages",
            ("sender_account_id", "provider_id", "kind", "reason", "received_at", "contact_id",
             "campaign_id", "campaign_contact_id", "sent_email_id", "matched_by", "subject",
             "snippet", "conversation_id", "body_text", "category"),
            (
                (sender, f"imap:{n}", "human_reply", "a reply from a person", at,
                 contact_ids[contact], campaign, enrollment, last_send[(enrollment, contact)],
                 "in_reply_to", "Re: Hello", "Thanks, let's talk next week.", conversation,
                 "Thanks, let's talk next week.\n\n> Hi,", category)
                for n, (conversation, enrollment, campaign, contact, at, sender, category)
                in enumerate(threads)
            ),
        )  # fmt: skip
        out.write(
            "replied_contacts",
            ("contact_id",),
            ((contact_ids[c],) for c in sorted({r[2] for r in replies})),
        )
        log(f"  replies: {len(replies):,} ({time.perf_counter() - started:.0f} s)")
        connection.execute(EMAIL_ANALYTICS)
        connection.commit()
    rolled = rebuild_kept_figures(url)
    log(f"  analytics rollups: {rolled:,} ({time.perf_counter() - started:.0f} s)")
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute("VACUUM ANALYZE")
    log(f"  vacuum analyze ({time.perf_counter() - started:.0f} s)")
    return volume_of(url, scale)


EMAIL_ANALYTICS = """
INSERT INTO email_analytics (date, total_drafts_created, total_drafts_approved,
                             total_emails_sent, total_followups_sent)
SELECT day, sum(created), sum(approved), sum(sent), sum(followups) FROM (
  SELECT (created_at AT TIME ZONE 'UTC')::date AS day, 1 AS created,
         0 AS approved, 0 AS sent, 0 AS followups FROM email_drafts
  UNION ALL
  SELECT (approved_at AT TIME ZONE 'UTC')::date, 0, 1, 0, 0 FROM email_drafts
  WHERE approved_at IS NOT NULL
  UNION ALL
  SELECT (sent_at AT TIME ZONE 'UTC')::date, 0, 0, 1,
         CASE WHEN draft_type = 'first_outreach' THEN 0 ELSE 1 END FROM sent_emails
) AS counted GROUP BY day
"""
"""What the seed's email_analytics triggers count, for the rows filled with them off."""


def volume_of(url: str, scale: int) -> Volume:
    """The ids a benchmark names, read from a filled database (PostgreSQL or SQLite)."""
    engine = create_engine(url)
    try:
        with engine.connect() as connection:

            def one(sql: str) -> uuid.UUID:
                found = connection.exec_driver_sql(sql).scalar()
                assert found is not None, sql
                return uuid.UUID(str(found))

            return Volume(
                scale=scale,
                contacts=int(
                    connection.exec_driver_sql("SELECT count(*) FROM contacts").scalar() or 0
                ),
                big_campaign=one("SELECT id FROM campaigns WHERE name = 'Campaign 000'"),
                big_list=one(
                    "SELECT list_id FROM contact_list_members GROUP BY list_id"
                    " ORDER BY count(*) DESC LIMIT 1"
                ),
                contact=one("SELECT contact_id FROM conversations ORDER BY contact_id LIMIT 1"),
                upload=one("SELECT id FROM upload_batches ORDER BY created_at LIMIT 1"),
                draft_batch=one("SELECT id FROM draft_batches ORDER BY created_at LIMIT 1"),
                draft=one(
                    "SELECT draft_id FROM draft_jobs WHERE draft_id IS NOT NULL"
                    " ORDER BY position LIMIT 1"
                ),
                enrollment=one(
                    "SELECT campaign_contact_id FROM inbox_messages"
                    " ORDER BY campaign_contact_id LIMIT 1"
                ),
                conversation=one("SELECT id FROM conversations ORDER BY id LIMIT 1"),
                sender=one("SELECT id FROM sender_accounts ORDER BY email LIMIT 1"),
            )
    finally:
        engine.dispose()


FILLED = (
    "upload_batches", "contacts", "recipient_domains", "sender_accounts", "contact_lists", "campaigns",
    "campaign_settings", "campaign_sequences", "campaign_senders", "contact_list_members",
    "campaign_contacts", "email_drafts", "draft_batches", "draft_jobs", "sent_emails",
    "deliveries", "conversations", "inbox_messages", "replied_contacts",
)  # fmt: skip


def rebuild_kept_figures(url: str) -> int:
    """What `outreach analytics rebuild` does: every figure triggers keep, from the rows (a fill
    with the triggers off, or rows copied in an order no app writes them in, leaves them
    otherwise); the number of rollup rows."""
    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            rolled = rollups.rebuild(connection)
            approvals.rebuild(connection)
            contact_queries.rebuild_list_sizes(connection)
            draft_queries.rebuild_batch_tallies(connection)
    finally:
        engine.dispose()
    return rolled


def copy_to_sqlite(source: str, target: Path, log: Any = print) -> str:
    """Copies the filled tables of the PostgreSQL database at `source` into a new migrated
    SQLite database at `target`, then rebuilds the figures its triggers keep: they fire as the
    rows go in, but table after table (an unsubscription before the email it answers)."""
    url = f"sqlite:///{target}"
    migrated(url)
    started = time.perf_counter()
    into = sqlite3.connect(target)
    into.execute("PRAGMA foreign_keys = OFF")
    # campaign_settings comes from the source: the trigger made a row per campaign here too.
    with psycopg.connect(source) as connection:
        for table in FILLED:
            cursor = connection.cursor(name=f"copy_{table}")
            cursor.execute(f"SELECT * FROM {table}")
            if table == "campaign_settings":
                into.execute("DELETE FROM campaign_settings")
            columns = [c.name for c in cursor.description or ()]
            marks = ", ".join("?" for _ in columns)
            insert = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})"
            while rows := cursor.fetchmany(20_000):
                into.executemany(insert, [tuple(map(_sqlite_cell, row)) for row in rows])
            cursor.close()
            into.commit()
    into.close()
    rebuild_kept_figures(url)
    into = sqlite3.connect(target)
    into.execute("ANALYZE")
    into.commit()
    into.close()
    log(f"  copied into SQLite ({time.perf_counter() - started:.0f} s)")
    return url


def _sqlite_cell(value: Any) -> Any:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return json.dumps(value)
    if isinstance(value, dt_time):
        return value.strftime("%H:%M:%S.%f")
    return sqlite_value(value)
