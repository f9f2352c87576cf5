"""A written draft keeps its provenance in the database (migration 0006), on both backends."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.orm import Session

from outreach.campaigns.states import DraftType
from outreach.contacts.models import Contact, UploadBatch
from outreach.drafts import queries
from outreach.drafts.models import EmailDraft, EmailStatus, EmailTemplate
from outreach.drafts.writers.anthropic import AnthropicWriter
from outreach.drafts.writers.base import (
    ContactContext,
    DraftRefused,
    DraftWriter,
    TemplateText,
    WrittenDraft,
    draft_request,
)
from outreach.drafts.writers.template import TemplateWriter
from outreach.providers.anthropic import AnthropicMessages
from tests.fakes.anthropic_server import (
    API_KEY,
    FakeAnthropic,
)


@pytest.fixture
def contact(session: Session) -> Contact:
    batch = UploadBatch(file_name="people.csv")
    session.add(batch)
    session.flush()
    person = Contact(
        upload_batch_id=batch.id,
        email="ada@analytical.example",
        name="Ada Lovelace",
        first_name="Ada",
        company="Analytical Engines",
        raw_data={"City": "London", "Fleet size": "42 vans"},
        enriched_data={"recent_news": "opened a depot in Croydon"},
    )
    session.add(person)
    session.flush()
    return person


@pytest.fixture
def template(session: Session) -> EmailTemplate:
    row = EmailTemplate(
        name="First email",
        template_content="Subject: Routes for {{ company }}\nHi {{ first_name }}, how is {{ city }}?",
    )
    session.add(row)
    session.flush()
    return row


@pytest.fixture
def anthropic_writer(fake_anthropic: FakeAnthropic) -> Iterator[AnthropicWriter]:
    writer = AnthropicWriter(
        AnthropicMessages(api_key=API_KEY, base_url=fake_anthropic.base_url),
        model="claude-sonnet-5-5",
    )
    yield writer
    writer.close()


def store(session: Session, contact: Contact, written: WrittenDraft, clock) -> EmailDraft:  # type: ignore[no-untyped-def]
    draft = queries.add_written(
        session,
        contact_id=contact.id,
        draft_type=DraftType.first_outreach,
        subject=written.subject,
        body=written.body,
        at=clock.now(),
    )
    for column, value in written.provenance().items():
        setattr(draft, column, value)
    session.flush()
    return draft


@pytest.mark.parametrize("writer_kind", ["template", "anthropic"])
def test_a_written_drafts_provenance_round_trips_through_the_database(
    session, contact, template, clock, request, writer_kind
):
    writer: DraftWriter = (
        TemplateWriter()
        if writer_kind == "template"
        else request.getfixturevalue("anthropic_writer")
    )
    written = writer.write(
        draft_request(
            DraftType.first_outreach, TemplateText.of(template), ContactContext.of(contact)
        )
    )

    draft_id = store(session, contact, written, clock).id
    session.expire_all()
    stored = session.get(EmailDraft, draft_id)

    assert stored is not None
    assert (stored.subject, stored.body, stored.status) == (
        written.subject,
        written.body,
        EmailStatus.draft,
    )
    assert {column: getattr(stored, column) for column in written.provenance()} == (
        written.provenance()
    )
    assert stored.writer_error is None
    assert len(stored.input_sha256 or "") == 64


def test_the_reason_a_draft_failed_is_kept(session, contact, clock):
    no_fallback = TemplateText(None, "Broken", "Subject: Hi\nHow is {{ region }}?")
    with pytest.raises(DraftRefused) as refused:
        draft_request(DraftType.first_outreach, no_fallback, ContactContext.of(contact))

    draft = queries.add_written(
        session,
        contact_id=contact.id,
        draft_type=DraftType.first_outreach,
        subject="",
        body="",
        at=clock.now(),
    )
    draft.writer_error = refused.value.reason
    draft.prompt_version = "template:Broken"
    session.flush()
    session.expire_all()

    stored = session.get(EmailDraft, draft.id)
    assert stored is not None
    assert stored.writer_error == refused.value.reason
    assert "region" in (stored.writer_error or "")
    assert stored.model is None
    assert stored.input_tokens is None
