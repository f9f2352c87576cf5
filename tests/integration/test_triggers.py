"""The seed's triggers hold whoever writes the rows: every row here is written with plain SQL."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time

import pytest
import sqlalchemy as sa

from outreach.models import Base
from tests.databases import ALSO_PARTITIONED
from tests.plain_sql import contact, insert, one, sender

pytestmark = ALSO_PARTITIONED
analytics = Base.metadata.tables["email_analytics"]


def day_figures(connection: sa.Connection, day: date) -> tuple[int, int, int, int] | None:
    row = connection.execute(
        sa.select(
            analytics.c.total_drafts_created,
            analytics.c.total_drafts_approved,
            analytics.c.total_emails_sent,
            analytics.c.total_followups_sent,
        ).where(analytics.c.date == day)
    ).one_or_none()
    return tuple(row) if row else None


def test_a_new_campaign_gets_its_settings_with_the_seeds_defaults(connection):
    campaign = insert(connection, "campaigns", name="Spring")
    settings_table = Base.metadata.tables["campaign_settings"]
    row = (
        connection.execute(
            sa.select(settings_table).where(
                sa.cast(settings_table.c.campaign_id, sa.Text) == campaign
            )
        )
        .mappings()
        .one()
    )
    assert (row["send_window_start"], row["send_window_end"]) == (time(9), time(18))
    assert row["send_days"] == ["monday", "tuesday", "wednesday", "thursday", "friday"]
    assert (row["timezone"], row["daily_limit"], row["delay_between_emails_seconds"]) == (
        "UTC",
        50,
        120,
    )


@pytest.mark.parametrize(
    ("status_before", "status_after"),
    [
        ("pending", "replied"),
        ("in_progress", "replied"),
        ("completed", "completed"),
        ("bounced", "bounced"),
    ],
)
def test_a_reply_marks_the_enrollment_replied_only_while_it_is_running(
    connection, status_before, status_after
):
    person = contact(connection)
    campaign = insert(connection, "campaigns", name="Spring")
    enrollment = insert(
        connection,
        "campaign_contacts",
        campaign_id=campaign,
        contact_id=person,
        status=status_before,
    )
    insert(
        connection,
        "email_replies",
        contact_id=person,
        campaign_id=campaign,
        received_at="2026-03-03 08:15:00+00:00",
        subject="Re: hello",
    )
    status, replied_at = one(
        connection, "SELECT status, replied_at FROM campaign_contacts WHERE id = :id", id=enrollment
    )
    assert status == status_after
    assert (replied_at is not None) == (status_after == "replied")


def test_a_reply_stops_only_its_own_campaign(connection):
    person = contact(connection)
    spring, autumn = (
        insert(connection, "campaigns", name="Spring"),
        insert(connection, "campaigns", name="Autumn"),
    )
    insert(connection, "campaign_contacts", campaign_id=spring, contact_id=person)
    other = insert(connection, "campaign_contacts", campaign_id=autumn, contact_id=person)
    insert(connection, "email_replies", contact_id=person, campaign_id=spring)
    assert (
        one(connection, "SELECT status FROM campaign_contacts WHERE id = :id", id=other).status
        == "pending"
    )


def test_the_reply_time_becomes_replied_at(connection):
    person = contact(connection)
    campaign = insert(connection, "campaigns", name="Spring")
    enrollment = insert(connection, "campaign_contacts", campaign_id=campaign, contact_id=person)
    insert(
        connection,
        "email_replies",
        contact_id=person,
        campaign_id=campaign,
        received_at="2026-03-03 08:15:00+00:00",
    )
    enrollments = Base.metadata.tables["campaign_contacts"]
    replied_at = connection.scalar(
        sa.select(enrollments.c.replied_at).where(sa.cast(enrollments.c.id, sa.Text) == enrollment)
    )
    assert replied_at == datetime(2026, 3, 3, 8, 15, tzinfo=UTC)


def replied(connection: sa.Connection) -> set[uuid.UUID]:
    table = Base.metadata.tables["replied_contacts"]
    return set(connection.scalars(sa.select(table.c.contact_id)))


def test_replied_contacts_follow_the_replies_as_they_are_written_moved_and_deleted(connection):
    ada, alan = contact(connection, "ada@example.com"), contact(connection, "alan@example.com")
    first = insert(connection, "email_replies", contact_id=ada)
    second = insert(connection, "email_replies", contact_id=ada)
    assert replied(connection) == {uuid.UUID(ada)}
    connection.execute(sa.text("DELETE FROM email_replies WHERE id = :id"), {"id": first})
    assert replied(connection) == {uuid.UUID(ada)}
    connection.execute(
        sa.text("UPDATE email_replies SET contact_id = :alan WHERE id = :id"),
        {"alan": alan, "id": second},
    )
    assert replied(connection) == {uuid.UUID(alan)}
    connection.execute(sa.text("DELETE FROM email_replies WHERE id = :id"), {"id": second})
    assert replied(connection) == set()


def test_replied_contacts_are_kept_while_an_import_runs(connection):
    person = contact(connection)
    connection.execute(sa.text("INSERT INTO import_guard (id, started_at) VALUES (1, 'now')"))
    insert(connection, "email_replies", contact_id=person)
    assert replied(connection) == {uuid.UUID(person)}


def send(
    connection: sa.Connection, person: str, account: str, draft_type: str, sent_at: str
) -> None:
    insert(
        connection,
        "sent_emails",
        contact_id=person,
        sender_account_id=account,
        draft_type=draft_type,
        subject="Hello",
        body="Hi",
        recipient_email="jane@example.com",
        sent_at=sent_at,
    )


def test_each_sent_email_counts_on_its_day_and_follow_ups_count_too(connection):
    person, account = contact(connection), sender(connection)
    send(connection, person, account, "first_outreach", "2026-03-02 09:00:00+00:00")
    send(connection, person, account, "second_followup", "2026-03-02 17:00:00+00:00")
    send(connection, person, account, "final_followup", "2026-03-02 23:59:59+00:00")
    send(connection, person, account, "first_outreach", "2026-03-03 00:00:01+00:00")
    assert day_figures(connection, date(2026, 3, 2)) == (0, 0, 3, 2)
    assert day_figures(connection, date(2026, 3, 3)) == (0, 0, 1, 0)


def test_the_analytics_day_is_the_utc_day_of_the_send(connection):
    person, account = contact(connection), sender(connection)
    send(connection, person, account, "first_outreach", "2026-03-02 23:30:00-05:00")
    assert day_figures(connection, date(2026, 3, 3)) == (0, 0, 1, 0)


def test_drafts_count_when_written_and_once_when_approved(connection):
    person = contact(connection)
    draft = insert(
        connection,
        "email_drafts",
        contact_id=person,
        draft_type="first_outreach",
        subject="s",
        body="b",
        created_at="2026-03-02 10:00:00+00:00",
    )
    insert(
        connection,
        "email_drafts",
        contact_id=person,
        draft_type="second_followup",
        subject="s",
        body="b",
        created_at="2026-03-02 11:00:00+00:00",
    )
    approve = sa.text(
        "UPDATE email_drafts SET status = 'approved', approved_at = '2026-03-02 12:00:00+00:00' WHERE id = :id"
    )
    connection.execute(approve, {"id": draft})
    connection.execute(
        sa.text("UPDATE email_drafts SET edited_body = 'better' WHERE id = :id"), {"id": draft}
    )
    connection.execute(approve, {"id": draft})
    assert day_figures(connection, date(2026, 3, 2)) == (2, 1, 0, 0)


def test_a_draft_approved_again_after_going_back_to_draft_counts_again(connection):
    person = contact(connection)
    draft = insert(
        connection,
        "email_drafts",
        contact_id=person,
        draft_type="first_outreach",
        subject="s",
        body="b",
    )
    for status in ("approved", "draft", "approved"):
        connection.execute(
            sa.text(
                "UPDATE email_drafts SET status = :s, approved_at = '2026-03-04 12:00:00+00:00' WHERE id = :id"
            ),
            {"s": status, "id": draft},
        )
    assert day_figures(connection, date(2026, 3, 4))[1] == 2


def test_a_draft_whose_status_was_null_counts_when_approved(connection):
    person = contact(connection)
    draft = insert(
        connection,
        "email_drafts",
        contact_id=person,
        draft_type="first_outreach",
        subject="s",
        body="b",
        status=None,
    )
    connection.execute(
        sa.text(
            "UPDATE email_drafts SET status = 'approved', approved_at = '2026-03-05 09:00:00+00:00' WHERE id = :id"
        ),
        {"id": draft},
    )
    assert day_figures(connection, date(2026, 3, 5))[1] == 1


@pytest.mark.parametrize(
    ("table", "values"),
    [
        ("email_templates", {"name": "t", "template_content": "c"}),
        ("contact_lists", {"name": "l"}),
        ("campaigns", {"name": "c"}),
        ("email_drafts", None),
    ],
)
def test_updated_at_follows_every_update(connection, table, values):
    long_ago = "2020-01-01 00:00:00+00:00"
    if values is None:
        values = {
            "contact_id": contact(connection),
            "draft_type": "first_outreach",
            "subject": "s",
            "body": "b",
        }
    row = insert(connection, table, created_at=long_ago, updated_at=long_ago, **values)
    connection.execute(
        sa.text(f"UPDATE {table} SET created_at = created_at WHERE id = :id"), {"id": row}
    )
    model = Base.metadata.tables[table]
    updated_at = connection.scalar(
        sa.select(model.c.updated_at).where(sa.cast(model.c.id, sa.Text) == row)
    )
    assert updated_at > datetime(2025, 1, 1, tzinfo=UTC)


def test_campaign_settings_updated_at_follows_updates(connection):
    campaign = insert(connection, "campaigns", name="c")
    connection.execute(
        sa.text(
            "UPDATE campaign_settings SET updated_at = '2020-01-01 00:00:00+00:00' WHERE campaign_id = :c"
        ),
        {"c": campaign},
    )
    connection.execute(
        sa.text("UPDATE campaign_settings SET daily_limit = 10 WHERE campaign_id = :c"),
        {"c": campaign},
    )
    settings_table = Base.metadata.tables["campaign_settings"]
    updated_at = connection.scalar(
        sa.select(settings_table.c.updated_at).where(
            sa.cast(settings_table.c.campaign_id, sa.Text) == campaign
        )
    )
    assert updated_at > datetime(2025, 1, 1, tzinfo=UTC)


def test_a_writer_that_sets_updated_at_keeps_its_value(connection):
    row = insert(connection, "contact_lists", name="l")
    connection.execute(
        sa.text(
            "UPDATE contact_lists SET name = 'm', updated_at = '2021-06-01 00:00:00+00:00' WHERE id = :id"
        ),
        {"id": row},
    )
    lists = Base.metadata.tables["contact_lists"]
    updated_at = connection.scalar(
        sa.select(lists.c.updated_at).where(sa.cast(lists.c.id, sa.Text) == row)
    )
    assert updated_at == datetime(2021, 6, 1, tzinfo=UTC)


def test_the_same_mailbox_cannot_be_imported_twice_under_two_spellings(connection):
    contact(connection, "Jane.Doe@Example.com")
    with pytest.raises(sa.exc.IntegrityError):
        contact(connection, "jane.doe@example.com")


def test_an_unknown_draft_type_is_refused_by_the_database(connection):
    person = contact(connection)
    with pytest.raises((sa.exc.IntegrityError, sa.exc.DataError)):
        insert(
            connection,
            "email_drafts",
            contact_id=person,
            draft_type="cold_call",
            subject="s",
            body="b",
        )


def test_while_an_import_runs_the_counting_triggers_stand_aside(connection):
    person, account = contact(connection), sender(connection)
    connection.execute(sa.text("INSERT INTO import_guard (id, started_at) VALUES (1, 'now')"))
    send(connection, person, account, "first_outreach", "2026-03-02 09:00:00+00:00")
    insert(connection, "campaigns", name="Imported")
    assert day_figures(connection, date(2026, 3, 2)) is None
    assert one(connection, "SELECT count(*) AS n FROM campaign_settings").n == 0
    connection.execute(sa.text("DELETE FROM import_guard"))
    send(connection, person, account, "first_outreach", "2026-03-02 10:00:00+00:00")
    assert day_figures(connection, date(2026, 3, 2)) == (0, 0, 1, 0)
