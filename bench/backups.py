"""The disk and time the seed's backup schedule needs, incremental against hourly full copies.

    .venv/bin/python bench/backups.py [--contacts 20000]

PostgreSQL only. The seed's schedule: a full backup daily, kept 30 days; contacts hourly, kept
7 days; sent_emails hourly, kept 30 days; email_drafts every 6 hours, kept 14 days.

Setup, not timed: a fresh migrated database with N contacts (COPY, bench/export_import.py's
realistic rows) and, in the year-one proportions of issue 17 (1x: 100,000 contacts, 300,000
drafts, 190,000 sent emails, 75,000 enrollments), 3N drafts, 1.9N sent emails and 0.75N
enrollments over 5 campaigns, written by SQL: templated subjects and bodies of about 600
characters (a Claude-written draft repeats itself less, so real per-row sizes are likely
somewhat larger).

Measured, on real backup files:
- the daily full backup (`backups.take(..., KINDS["full"])`): time and size; bytes per row of
  each table from its JSON Lines file gzipped alone;
- a full copy of each hourly kind (what the schedule did before incrementals): time and size;
- one busy hour of changes at ten times the year-one volume, then the incremental backup of
  each kind: its time, size, and the rows it wrote. The hour: 809 sends (1.9M sends a year
  over 261 weekdays of 9 sending hours), each an insert into sent_emails and its draft marked
  sent; 1,000 new drafts and 745 approved (3M drafts a year, written and reviewed in working
  hours, about 2,550 draft changes an hour); 426 contacts imported in a new upload batch (1M a
  year), 50 edited and 10 deleted.

Extrapolated (said so in the output): the full backup's size at 1x and 10x from the bytes per
row above times each table's rows; a full copy's time from its rows per second here. An
incremental's size and time depend on the hour's changes, not the table's size (the log is
read by its key, the rows by their primary key; one count(*) per table is the part that
grows). Disk: the schedule's backups kept at once (30 daily fulls, 168 contacts, 720
sent_emails and 56 email_drafts backups), every hour as busy as the measured one (an upper
bound: a week has 45 sending hours of 168; the yearly average is printed beside it), against
the same schedule with full copies.
"""

from __future__ import annotations

import argparse
import gzip
import sys
import tarfile
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "src"))

from bench.export_import import drop_database, fill, fresh_database
from outreach.db import create_engine
from outreach.portability import backups
from outreach.portability.schedule import KINDS

YEAR_ONE = {  # issue 17's 1x; 10x is ten times each
    "contacts": 100_000,
    "email_drafts": 300_000,
    "sent_emails": 190_000,
    "campaign_contacts": 75_000,
}
KEPT = {"full": 30, "contacts": 7 * 24, "sent_emails": 30 * 24, "email_drafts": 14 * 4}
HOURS_PER = {"contacts": 1, "sent_emails": 1, "email_drafts": 6}
HOUR = {
    "sends": 809,
    "new_drafts": 1000,
    "approved": 745,
    "imported": 426,
    "edited": 50,
    "deleted": 10,
}
BODY = (
    "I noticed {company} has been growing its team, and wanted to reach out. "
    "We help companies like yours cut the time spent on outbound by half, "
    "without losing the personal touch that gets replies. "
    "Would a 15-minute call next week be useful? "
    "Either way, congratulations on the recent launch; it looked great. "
    "Best regards, Sam"
)


def fill_the_rest(url: str, contacts: int) -> None:
    """Drafts, sends and enrollments for the contacts, in year one's proportions."""
    with psycopg.connect(url) as connection:
        connection.execute(
            "INSERT INTO sender_accounts (email, display_name) VALUES ('sam@ourco.example', 'Sam')"
        )
        connection.execute("INSERT INTO contact_lists (name) VALUES ('Everyone')")
        connection.execute(
            "INSERT INTO campaigns (name, status, list_id, sender_account_id)"
            " SELECT 'Campaign ' || n, 'active', (SELECT id FROM contact_lists),"
            " (SELECT id FROM sender_accounts) FROM generate_series(1, 5) n"
        )
        connection.execute(
            "INSERT INTO email_drafts (contact_id, draft_type, subject, body, status,"
            " model, prompt_version, input_sha256, input_tokens, output_tokens, created_at)"
            " SELECT c.id, (ARRAY['first_outreach','second_followup','final_followup']"
            "   ::draft_type[])[k], 'Quick question for ' || c.company,"
            " 'Hi ' || c.first_name || ', ' || replace(%s, '{company}', c.company)"
            "   || ' (' || k || ')', 'approved', 'claude-sonnet-4', 'v3', md5(c.email || k),"
            " 900 + k, 250 + k, c.created_at + k * interval '1 day'"
            " FROM contacts c, generate_series(1, 3) k",
            (BODY,),
        )
        connection.execute(
            "INSERT INTO sent_emails (draft_id, contact_id, sender_account_id, campaign_id,"
            " draft_type, subject, body, recipient_email, sent_at, message_id, sequence_step)"
            " SELECT d.id, d.contact_id, (SELECT id FROM sender_accounts),"
            " (SELECT id FROM campaigns ORDER BY id LIMIT 1), d.draft_type, d.subject, d.body,"
            " c.email, d.created_at + interval '2 hours', '<' || d.id || '@ourco.example>', 1"
            " FROM (SELECT *, row_number() OVER (ORDER BY id) AS n FROM email_drafts) d"
            " JOIN contacts c ON c.id = d.contact_id WHERE d.n <= %s",
            (int(contacts * 1.9),),
        )
        connection.execute(
            "UPDATE email_drafts SET status = 'sent' WHERE id IN (SELECT draft_id FROM sent_emails)"
        )
        connection.execute(
            "INSERT INTO campaign_contacts (campaign_id, contact_id, status,"
            " current_sequence_step) SELECT (SELECT id FROM campaigns ORDER BY id LIMIT 1),"
            " c.id, 'completed', 3 FROM contacts c ORDER BY c.id LIMIT %s",
            (int(contacts * 0.75),),
        )
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute("VACUUM ANALYZE")


def a_busy_hour(url: str) -> None:
    """One sending hour's changes at ten times year one's volume (see the docstring)."""
    with psycopg.connect(url) as connection:
        connection.execute(
            "WITH due AS (SELECT d.id, d.contact_id, d.draft_type, d.subject, d.body"
            "  FROM email_drafts d WHERE status = 'approved' ORDER BY id LIMIT %s),"
            " sent AS (INSERT INTO sent_emails (draft_id, contact_id, sender_account_id,"
            "  campaign_id, draft_type, subject, body, recipient_email, sent_at, message_id)"
            "  SELECT due.id, due.contact_id, (SELECT id FROM sender_accounts),"
            "  (SELECT id FROM campaigns ORDER BY id LIMIT 1), due.draft_type, due.subject,"
            "  due.body, c.email, now(), '<' || due.id || '@ourco.example>'"
            "  FROM due JOIN contacts c ON c.id = due.contact_id RETURNING draft_id)"
            " UPDATE email_drafts SET status = 'sent', updated_at = now()"
            " WHERE id IN (SELECT draft_id FROM sent)",
            (HOUR["sends"],),
        )
        connection.execute(
            "UPDATE email_drafts SET status = 'approved', approved_at = now(), updated_at = now()"
            " WHERE id IN (SELECT id FROM email_drafts WHERE status = 'approved'"
            " ORDER BY id DESC LIMIT %s)",
            (HOUR["approved"],),
        )
        connection.execute(
            "INSERT INTO upload_batches (file_name, status) VALUES ('this-hour.csv', 'completed')"
        )
        connection.execute(
            "INSERT INTO contacts (upload_batch_id, raw_data, name, email, company, first_name)"
            " SELECT (SELECT id FROM upload_batches WHERE file_name = 'this-hour.csv'),"
            " jsonb_build_object('Email', 'new' || n || '@example.com', 'Company', 'New Co'),"
            " 'New Person ' || n, 'new' || n || '@example.com', 'New Co', 'New'"
            " FROM generate_series(1, %s) n",
            (HOUR["imported"],),
        )
        connection.execute(
            "INSERT INTO email_drafts (contact_id, draft_type, subject, body, model)"
            " SELECT id, 'first_outreach', 'Quick question for New Co',"
            " 'Hi New, ' || replace(%s, '{company}', 'New Co'), 'claude-sonnet-4'"
            " FROM contacts WHERE company = 'New Co' LIMIT %s",
            (BODY, HOUR["new_drafts"]),
        )
        connection.execute(
            "UPDATE contacts SET title = 'VP Sales' WHERE id IN"
            " (SELECT id FROM contacts ORDER BY id LIMIT %s)",
            (HOUR["edited"],),
        )
        connection.execute(  # their drafts go with them (ON DELETE CASCADE)
            "DELETE FROM contacts WHERE email IN (SELECT 'new' || n || '@example.com'"
            " FROM generate_series(1, %s) n)",
            (HOUR["deleted"],),
        )


TRIGGERED = (  # (table, event, statement)
    (
        "contacts",
        "insert",
        "INSERT INTO contacts (upload_batch_id, raw_data, email, name)"
        " SELECT (SELECT id FROM upload_batches LIMIT 1), '{}', 'bulk' || n || '@example.com',"
        " 'Bulk' FROM generate_series(1, 20000) n",
    ),
    (
        "email_drafts",
        "update",
        "UPDATE email_drafts SET updated_at = now() WHERE id IN"
        " (SELECT id FROM email_drafts ORDER BY id LIMIT 20000)",
    ),
)


def trigger_cost(url: str) -> list[tuple[str, float, float]]:
    """What the change log costs a bulk write of 20,000 rows: each statement with the log's
    trigger and with it disabled, alternately, three times each, rolled back; medians."""
    results = []
    with psycopg.connect(url) as connection:
        for table, event, statement in TRIGGERED:
            times: dict[bool, list[float]] = {True: [], False: []}
            for logged in (True, False) * 3:
                if not logged:  # rolled back with the statement: the next round has it again
                    connection.execute(
                        f"ALTER TABLE {table} DISABLE TRIGGER backup_changes_{table}_{event}"
                    )
                started = time.perf_counter()
                connection.execute(statement)
                times[logged].append(time.perf_counter() - started)
                connection.rollback()
            results.append((f"{event} {table}", sorted(times[True])[1], sorted(times[False])[1]))
    return results


def per_row_bytes(backup: backups.Backup) -> dict[str, float]:
    """Each table's JSON Lines file gzipped alone, per row."""
    sizes = {}
    with tarfile.open(backup.path, "r:gz") as archive:
        for member in archive.getmembers():
            table = member.name.removesuffix(".jsonl")
            if member.name.endswith(".jsonl") and backup.rows.get(table):
                data = archive.extractfile(member).read()  # type: ignore[union-attr]
                sizes[table] = len(gzip.compress(data)) / backup.rows[table]
    return sizes


def timed_take(engine, folder: Path, kind: str, at: datetime) -> tuple[backups.Backup, float]:  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    taken = backups.take(engine, folder, KINDS[kind], at)
    return taken, time.perf_counter() - started


def mb(size: float) -> str:
    return f"{size / 1e6:,.1f} MB"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--contacts", type=int, default=20_000)
    arguments = parser.parse_args()
    n = arguments.contacts
    url, name = fresh_database()
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    at = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
    try:
        fill(url, n)
        fill_the_rest(url, n)
        with tempfile.TemporaryDirectory() as scratch:
            incremental, copies = Path(scratch) / "incremental", Path(scratch) / "copies"
            full, full_seconds = timed_take(engine, incremental, "full", at)
            rows = dict(full.rows)
            print(f"filled: {', '.join(f'{t} {rows[t]:,}' for t in YEAR_ONE)}")
            print(f"full backup here: {mb(full.size)}, {full_seconds:.1f} s")
            per_row = per_row_bytes(full)
            other = full.size - sum(per_row[t] * rows[t] for t in per_row)
            copy: dict[str, tuple[backups.Backup, float]] = {}
            for kind in HOURS_PER:
                copy[kind] = timed_take(engine, copies, kind, at)
            a_busy_hour(url)
            hourly: dict[str, tuple[backups.Backup, float]] = {}
            for kind in HOURS_PER:
                hourly[kind] = timed_take(engine, incremental, kind, at + timedelta(hours=1))
        for what, logged, unlogged in trigger_cost(url):
            print(f"{what}, 20,000 rows: {logged:.2f} s logged, {unlogged:.2f} s without the log")
            print(f"ratio log_{what.replace(' ', '_')}: {logged / unlogged:.2f}")
        for kind, (taken, seconds) in hourly.items():
            assert taken.base == full.path.name, taken
            print(
                f"incremental {kind}: {taken.rows_label} (parents included), "
                f"{taken.size / 1e3:,.1f} kB, {seconds:.2f} s; "
                f"full copy here: {mb(copy[kind][0].size)}, {copy[kind][1]:.2f} s"
            )
        for scale in (1, 10):
            volume = {
                t: YEAR_ONE.get(t, rows[t] / n * YEAR_ONE["contacts"]) * scale for t in per_row
            }
            full_size = other + sum(per_row[t] * volume[t] for t in per_row)
            disk_full = KEPT["full"] * full_size
            incremental_disk = copies_disk = average_disk = 0.0
            print(f"\n{scale}x (extrapolated from bytes per row): full backup {mb(full_size)}")
            for kind, (taken, seconds) in hourly.items():
                # Changes are those of ten times year one; at 1x a tenth of them.
                changes = taken.size * HOURS_PER[kind] * scale / 10
                kind_copy = per_row[kind] * volume[kind]
                incremental_disk += KEPT[kind] * changes
                average_disk += KEPT[kind] * changes * 45 / 168
                copies_disk += KEPT[kind] * kind_copy
                copy_seconds = copy[kind][1] * volume[kind] / rows[kind]
                print(
                    f"  {kind}: incremental {changes / 1e3:,.0f} kB, {seconds:.2f} s (measured "
                    f"with 10x's changes) vs full copy {mb(kind_copy)}, {copy_seconds:.1f} s "
                    f"(extrapolated); {KEPT[kind]} kept"
                )
                print(f"ratio {kind}_time_{scale}x: {seconds / copy_seconds:.4f}")
            total_incremental = disk_full + incremental_disk
            total_copies = disk_full + copies_disk
            print(
                f"  schedule's disk: {mb(total_incremental)} incremental (busy-hour bound; "
                f"{mb(disk_full + average_disk)} at the yearly average) vs {mb(total_copies)} "
                f"with hourly full copies ({mb(disk_full)} of it the 30 daily fulls)"
            )
            print(f"ratio disk_{scale}x: {total_incremental / total_copies:.3f}")
            print(f"ratio hourly_disk_{scale}x: {incremental_disk / copies_disk:.4f}")
    finally:
        engine.dispose()
        drop_database(name)


if __name__ == "__main__":
    main()
