"""Importing contact files: every row gets exactly one outcome, and nothing is lost."""

from __future__ import annotations

import io
import uuid

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session, sessionmaker

from outreach.campaigns.templates.fields import merge_fields
from outreach.campaigns.templates.rendering import render
from outreach.contacts import importing, lists, service, suppressions
from outreach.contacts.models import Contact, UploadBatch
from outreach.contacts.states import Outcome, UploadStatus
from outreach.errors import Conflict, InvalidTransition, ValidationFailed
from outreach.runner import Runner
from tests.contact_files import import_text
from tests.plain_sql import insert

CRM_EXPORT = (
    "E-mail Address,Full Name,Organization,Job Title,City\n"
    "ada@analytical.example,Ada Lovelace,Analytical Engines,Countess,London\n"
    "alan@bletchley.example,Dr. Alan Turing,Bletchley Park,Cryptanalyst,Bletchley\n"
    "grace@navy.example,Grace Hopper,US Navy,Rear Admiral,Arlington\n"
)


def contact_by_email(session: Session, email: str) -> Contact:
    return session.scalars(
        sa.select(Contact).where(sa.func.lower(Contact.email) == email.lower())
    ).one()


def problems(session: Session, batch_id: uuid.UUID) -> list[list[str]]:
    target = io.StringIO()
    importing.write_report(session, batch_id, target)
    return [line.split(",", 3) for line in target.getvalue().splitlines()[1:]]


def test_a_crm_export_is_imported_with_every_column_kept(session, clock, tmp_path):
    report = import_text(session, clock, tmp_path, CRM_EXPORT)
    assert report.status is UploadStatus.completed
    assert report.counts[Outcome.imported] == 3
    alan = contact_by_email(session, "alan@bletchley.example")
    assert (alan.name, alan.first_name, alan.last_name) == ("Dr. Alan Turing", "Alan", "Turing")
    assert (alan.company, alan.title) == ("Bletchley Park", "Cryptanalyst")
    assert alan.raw_data["City"] == "Bletchley"
    assert alan.raw_data["E-mail Address"] == "alan@bletchley.example"


def test_invalid_rows_are_reported_with_line_value_and_reason_and_the_rest_imports(
    session, clock, tmp_path
):
    text = "email,name\nok@example.com,Ok\nnot-an-address,Bad\n,Blank\nalso.ok@example.com,Fine\n"
    report = import_text(session, clock, tmp_path, text)
    assert report.counts[Outcome.imported] == 2
    assert report.counts[Outcome.invalid] == 2
    found = problems(session, report.batch_id)
    assert [(line, outcome, value) for line, outcome, value, _ in found] == [
        ("3", "invalid", "not-an-address"),
        ("4", "invalid", ""),
    ]
    assert "no email address" in found[1][3]


def test_duplicates_in_the_file_and_of_existing_contacts_are_counted_once_each(
    session, clock, tmp_path
):
    import_text(session, clock, tmp_path, "email\nold@example.com\n")
    text = "email\nnew@example.com\nNEW@example.com\nold@example.com\n"
    report = import_text(session, clock, tmp_path, text)
    assert (report.counts[Outcome.imported], report.counts[Outcome.duplicate]) == (1, 2)
    reasons = {line: reason for line, _, _, reason in problems(session, report.batch_id)}
    assert reasons == {"3": "same address as line 2", "4": "already a contact"}


def test_importing_the_same_file_again_creates_no_duplicates(session, clock, tmp_path):
    first = import_text(session, clock, tmp_path, CRM_EXPORT)
    again = import_text(session, clock, tmp_path, CRM_EXPORT)
    assert first.counts[Outcome.imported] == 3
    assert (again.counts[Outcome.imported], again.counts[Outcome.duplicate]) == (0, 3)
    assert session.scalar(sa.select(sa.func.count()).select_from(Contact)) == 3


def test_the_update_policy_fills_empty_fields_and_adds_columns_without_overwriting(
    session, clock, tmp_path
):
    import_text(session, clock, tmp_path, "email,name,company\nada@analytical.example,Ada,\n")
    text = "email,name,company,Phone\nada@analytical.example,Augusta Ada King,Analytical Engines,+44 20\n"
    report = import_text(session, clock, tmp_path, text, on_duplicate="update")
    assert report.counts[Outcome.updated] == 1
    ada = contact_by_email(session, "ada@analytical.example")
    assert (ada.name, ada.company) == ("Ada", "Analytical Engines")
    assert ada.raw_data["Phone"] == "+44 20"
    unchanged = import_text(session, clock, tmp_path, text, on_duplicate="update")
    assert unchanged.counts[Outcome.duplicate] == 1


def test_suppressed_addresses_and_domains_are_never_imported_and_the_report_says_so(
    session, clock, tmp_path
):
    suppressions.add(
        session, "gone@example.com", suppressions.Reason.unsubscribed, "test", clock.now()
    )
    suppressions.add(
        session, "@competitor.example", suppressions.Reason.manual, "test", clock.now()
    )
    text = "email\nGone@Example.com\nboss@competitor.example\nfine@example.com\n"
    report = import_text(session, clock, tmp_path, text)
    assert (report.counts[Outcome.suppressed], report.counts[Outcome.imported]) == (2, 1)
    assert [r[3] for r in problems(session, report.batch_id)] == [
        "the address is suppressed",
        "the domain competitor.example is suppressed",
    ]


def test_role_addresses_are_imported_and_flagged(session, clock, tmp_path):
    report = import_text(session, clock, tmp_path, "email\nsales@acme.example\njane@acme.example\n")
    assert (report.counts[Outcome.imported], report.roles) == (2, 1)
    assert contact_by_email(session, "sales@acme.example").role_address
    assert not contact_by_email(session, "jane@acme.example").role_address


def test_a_mapping_without_an_email_column_is_refused_with_the_reason(session, clock, tmp_path):
    path = tmp_path / "people.csv"
    path.write_text("Who,Where\nAda,London\n")
    batch, seen = importing.create_upload(
        session, path=path, file_name="people.csv", sheet=None, now=clock.now()
    )
    assert "email" not in seen.proposal
    with pytest.raises(ValidationFailed, match="choose the column that holds the email address"):
        importing.confirm(session, batch.id, mapping={"name": "Who"})
    with pytest.raises(ValidationFailed, match="the file has no such column"):
        importing.confirm(session, batch.id, mapping={"email": "Mail"})


def test_a_corrected_mapping_is_used_and_can_be_saved_for_next_time(session, clock, tmp_path):
    text = "Contact,Where\nada@analytical.example,London\n"
    report = import_text(session, clock, tmp_path, text, mapping={"email": "Contact"})
    assert report.counts[Outcome.imported] == 1
    importing.save_mapping(session, "Old CRM", {"email": "Contact"})
    assert importing.saved_mapping(session, "Old CRM") == {"email": "Contact"}


def test_importing_into_a_list_adds_everyone_in_the_file_including_known_contacts(
    session, clock, tmp_path
):
    import_text(session, clock, tmp_path, "email\nknown@example.com\n")
    target = lists.create(session, "Webinar", None, clock.now())
    import_text(
        session, clock, tmp_path, "email\nknown@example.com\nnew@example.com\n", list_id=target.id
    )
    members, _ = service.queries.contacts_page(
        session, service.ContactFilter(list_id=target.id), None, 10
    )
    assert sorted(c.email for c in members) == ["known@example.com", "new@example.com"]


def sessions_on(connection: sa.Connection, session_class: type[Session]) -> sessionmaker[Session]:
    """The app's sessions on the test's connection, of a class that watches its commits."""
    return sessionmaker(
        bind=connection,
        class_=session_class,
        expire_on_commit=False,
        join_transaction_mode="create_savepoint",
    )


def test_progress_is_checkpointed_after_every_chunk(session, connection, clock, tmp_path):
    path = tmp_path / "many.csv"
    path.write_text("email\n" + "".join(f"p{n}@example.com\n" for n in range(100)))
    batch, _ = importing.create_upload(
        session, path=path, file_name="many.csv", sheet=None, now=clock.now()
    )
    importing.confirm(session, batch.id)
    importing.claim(session, clock.now(), batch.id)
    seen = []

    class Checkpointed(Session):
        def commit(self) -> None:
            self.flush()
            seen.append(
                self.scalar(
                    sa.select(UploadBatch.processed_contacts).where(UploadBatch.id == batch.id)
                )
            )
            super().commit()

    with Runner(sessions_on(connection, Checkpointed)) as runner:
        importing.run(runner, batch.id, clock, chunk_rows=40)
    assert seen == [0, 40, 80, 100, 100]


def test_a_failed_import_says_why_and_resumes_after_the_stored_chunks(
    session, connection, clock, tmp_path
):
    path = tmp_path / "many.csv"
    path.write_text("email\n" + "".join(f"p{n}@example.com\n" for n in range(100)))
    batch, _ = importing.create_upload(
        session, path=path, file_name="many.csv", sheet=None, now=clock.now()
    )
    importing.confirm(session, batch.id)
    importing.claim(session, clock.now(), batch.id)
    checkpoints = 0

    class DatabaseGoesAwayAfterTheFirstChunk(Session):
        def commit(self) -> None:
            nonlocal checkpoints
            checkpoints += 1
            if checkpoints == 3:
                raise ConnectionError("the database went away")
            super().commit()

    with Runner(sessions_on(connection, DatabaseGoesAwayAfterTheFirstChunk)) as runner:
        failed = importing.run_or_fail(runner, batch.id, clock, chunk_rows=40)
    assert failed.status is UploadStatus.failed
    assert failed.error == "ConnectionError: the database went away"
    assert failed.processed == 40

    importing.confirm(session, batch.id)
    importing.claim(session, clock.now(), batch.id)
    done = importing.run(Runner.inside(session), batch.id, clock, chunk_rows=40)
    assert (done.status, done.processed, done.counts[Outcome.imported]) == (
        UploadStatus.completed,
        100,
        100,
    )
    assert done.counts[Outcome.duplicate] == 0


def test_an_unreadable_file_fails_the_upload_with_a_plain_reason(session, clock, tmp_path):
    path = tmp_path / "people.csv"
    path.write_text("email\nada@example.com\n")
    batch, _ = importing.create_upload(
        session, path=path, file_name="people.csv", sheet=None, now=clock.now()
    )
    importing.confirm(session, batch.id)
    importing.claim(session, clock.now(), batch.id)
    session.commit()
    path.unlink()
    report = importing.run_or_fail(Runner.inside(session), batch.id, clock)
    assert report.status is UploadStatus.failed
    assert "people.csv" in (report.error or "")


def test_a_batch_is_claimed_by_one_importer_only(session, clock, tmp_path):
    path = tmp_path / "people.csv"
    path.write_text(CRM_EXPORT)
    batch, _ = importing.create_upload(
        session, path=path, file_name="people.csv", sheet=None, now=clock.now()
    )
    assert importing.claim(session, clock.now()) is None
    importing.confirm(session, batch.id)
    assert importing.claim(session, clock.now()) == batch.id
    assert importing.claim(session, clock.now()) is None
    clock.advance(importing.RETRY_POLICY.lease * 2)
    assert importing.claim(session, clock.now()) == batch.id


def test_undo_removes_an_uploads_contacts_but_keeps_those_a_campaign_uses(
    session, clock, tmp_path, connection
):
    report = import_text(session, clock, tmp_path, CRM_EXPORT)
    ada = contact_by_email(session, "ada@analytical.example")
    campaign = insert(connection, "campaigns", name="Spring")
    insert(connection, "campaign_contacts", campaign_id=campaign, contact_id=str(ada.id))
    result = service.undo_upload(session, report.batch_id)
    assert (result.removed, result.kept) == (2, 1)
    assert session.scalar(sa.select(sa.func.count()).select_from(Contact)) == 1
    with pytest.raises(InvalidTransition, match=r"The upload is already undone\."):
        service.undo_upload(session, report.batch_id)


CELL = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=12
)
ADDRESS = st.one_of(
    st.emails(), st.sampled_from(["a@b.example", "A@B.example", "bad", "", "x@y", "info@z.example"])
)


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    rows=st.lists(st.tuples(ADDRESS, CELL, CELL), max_size=25),
    policy=st.sampled_from(["skip", "update"]),
)
def test_every_row_of_any_file_gets_exactly_one_outcome(session, clock, tmp_path, rows, policy):
    import csv

    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["email", "name", "note"])
    writer.writerows(rows)
    with session.begin_nested() as example:
        report = import_text(session, clock, tmp_path, buffer.getvalue(), on_duplicate=policy)
        assert report.status is UploadStatus.completed
        assert sum(report.counts.values()) == report.processed == report.total
        assert report.processed <= len(rows)
        example.rollback()


def test_an_address_that_differs_only_in_the_case_of_an_accented_letter_is_a_duplicate(
    session, clock, tmp_path, connection
):
    batch = insert(connection, "upload_batches", file_name="old.csv")
    insert(connection, "contacts", upload_batch_id=batch, raw_data="{}", email="zoË@example.com")
    report = import_text(session, clock, tmp_path, "email\nZOË@example.com\n")
    assert (report.counts[Outcome.imported], report.counts[Outcome.duplicate]) == (0, 1)


def test_duplicates_within_and_across_chunks_name_the_earlier_line_or_the_file(
    session, clock, tmp_path
):
    text = (
        "email,name\n"
        "a@example.com,A\n"  # line 2, chunk 1
        "b@example.com,B\n"
        "B@example.com,B again\n"  # same chunk as line 3
        "A@Example.com,A again\n"  # line 5, chunk 2: a@ is stored by chunk 1
        "c@example.com,C\n"
        "not an address,X\n"
        "c@example.com,C again\n"  # line 8, chunk 3
    )
    report = import_text(session, clock, tmp_path, text, on_duplicate="update", chunk_rows=3)
    assert report.processed == report.total == 7
    assert (report.counts[Outcome.imported], report.counts[Outcome.duplicate]) == (3, 3)
    assert (report.counts[Outcome.invalid], report.counts[Outcome.updated]) == (1, 0)
    assert [(line, reason) for line, _, _, reason in problems(session, report.batch_id)] == [
        ("4", "same address as line 3"),
        ("5", "same address as an earlier line of this file"),
        ("7", "An email address must have an @-sign."),
        ("8", "same address as an earlier line of this file"),
    ]
    assert contact_by_email(session, "a@example.com").name == "A"


def test_every_row_of_every_chunk_joins_the_list_and_role_addresses_are_counted_once(
    session, clock, tmp_path
):
    import_text(session, clock, tmp_path, "email\nknown@example.com\n", chunk_rows=2)
    target = lists.create(session, "Everyone", None, clock.now())
    text = "email\ninfo@example.com\nknown@example.com\nsales@example.com\njane@example.com\n"
    report = import_text(session, clock, tmp_path, text, list_id=target.id, chunk_rows=2)
    assert (report.counts[Outcome.imported], report.roles) == (3, 2)
    members, _ = service.queries.contacts_page(
        session, service.ContactFilter(list_id=target.id), None, 10
    )
    assert sorted(c.email for c in members) == [
        "info@example.com",
        "jane@example.com",
        "known@example.com",
        "sales@example.com",
    ]


def test_a_row_the_unique_index_refuses_is_a_duplicate_and_the_rest_of_its_chunk_is_stored(
    session, clock, tmp_path, connection, backend
):
    # Each backend's lower() folds one letter that Python's str.lower() folds differently, so
    # the lookup before the insert misses the stored contact and only the index catches it,
    # as when another import stores the address in between: SQLite folds ASCII only (Ë stays),
    # PostgreSQL folds the dotted capital I to a plain i (Python makes it i + a combining dot).
    stored, refused = {
        "sqlite": ("zoË@example.com", "ZOË@example.com"),
        "postgresql": ("i@example.com", "İ@example.com"),
    }[backend]
    if backend == "postgresql" and connection.scalar(sa.text("SELECT lower('İ')")) != "i":
        pytest.skip("this PostgreSQL's lower() leaves İ as it is")
    batch = insert(connection, "upload_batches", file_name="old.csv")
    insert(connection, "contacts", upload_batch_id=batch, raw_data="{}", email=stored)
    target = lists.create(session, "New", None, clock.now())
    text = f"email,name\nfresh@example.com,Fresh\n{refused},Refused\ninfo@example.com,Info\n"
    report = import_text(session, clock, tmp_path, text, list_id=target.id)
    assert (report.counts[Outcome.imported], report.counts[Outcome.duplicate]) == (2, 1)
    assert report.roles == 1
    assert problems(session, report.batch_id) == [
        ["3", "duplicate", refused, "added by another import at the same time"]
    ]
    fresh = contact_by_email(session, "fresh@example.com")
    assert (fresh.name, fresh.raw_data) == (
        "Fresh",
        {"email": "fresh@example.com", "name": "Fresh"},
    )
    members, _ = service.queries.contacts_page(
        session, service.ContactFilter(list_id=target.id), None, 10
    )
    assert sorted(c.email for c in members) == ["fresh@example.com", "info@example.com"]


def test_a_row_with_only_a_last_name_leaves_the_first_name_empty_for_the_greetings_fallback(
    session, clock, tmp_path
):
    import_text(session, clock, tmp_path, "Email,Last Name\ntony@oxford.example,Hoare\n")
    tony = contact_by_email(session, "tony@oxford.example")
    assert (tony.name, tony.first_name, tony.last_name) == ("Hoare", None, "Hoare")
    fields = merge_fields({"first_name": tony.first_name}, tony.raw_data)
    greeting = render("Hello", 'Hi {{ first_name | default("there") }},', None, fields)
    assert greeting.text == "Hi there,"


def test_an_upload_left_before_its_columns_were_matched_is_deleted_with_its_file(
    session, clock, tmp_path
):
    path = tmp_path / "abandoned.csv"
    path.write_text("email\nada@analytical.example\n")
    batch, _ = importing.create_upload(
        session, path=path, file_name="abandoned.csv", sheet=None, now=clock.now()
    )
    assert service.delete_upload(session, batch.id) == "abandoned.csv"
    assert session.get(UploadBatch, batch.id, populate_existing=True) is None
    assert not path.exists()


def test_an_imported_upload_cannot_be_deleted_only_undone(session, clock, tmp_path):
    report = import_text(session, clock, tmp_path, CRM_EXPORT)
    with pytest.raises(Conflict, match="undo it to remove its contacts"):
        service.delete_upload(session, report.batch_id)
    assert importing.get(session, report.batch_id).status == UploadStatus.completed
