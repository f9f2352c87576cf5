"""Templates (the seed's email_templates): the instructions drafts are written from, and a
test run on one contact before a whole list is written.

A template is the brief a model follows, or the email a template writer fills in, in the merge
field syntax of campaigns.templates, with an optional first line ``Subject: …``
(drafts/writers/base.py). Services flush; the entry point commits.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from outreach.campaigns.states import DraftType
from outreach.campaigns.templates.rendering import check_syntax
from outreach.contacts.models import Contact
from outreach.db import get_or_not_found, keyset_scalars
from outreach.drafts.lint import Facts, Finding, facts_from, lint
from outreach.drafts.models import EmailTemplate
from outreach.drafts.pricing import Usage, cost_micros
from outreach.drafts.writers.base import (
    ContactContext,
    DraftRequest,
    DraftWriter,
    TemplateText,
    WrittenDraft,
    draft_request,
    split_subject,
)
from outreach.errors import Conflict, NotFound, ValidationFailed

MAX_CONTENT = 20_000


def all_templates(session: Session, *, active_only: bool = False) -> list[EmailTemplate]:
    statement = sa.select(EmailTemplate).order_by(sa.func.lower(EmailTemplate.name))
    if active_only:
        statement = statement.where(sa.func.coalesce(EmailTemplate.is_active, sa.true()))
    return list(session.scalars(statement))


def templates_page(
    session: Session, after: str | None, limit: int
) -> tuple[list[EmailTemplate], str | None]:
    """A page of templates by name, whatever its case (as all_templates)."""
    by_name = sa.func.lower(EmailTemplate.name)
    return keyset_scalars(
        session, sa.select(EmailTemplate), by_name, EmailTemplate.id, after, limit
    )


def get(session: Session, template_id: uuid.UUID) -> EmailTemplate:
    return get_or_not_found(session, EmailTemplate, template_id, "template")


def named(session: Session, name: str) -> EmailTemplate:
    found = session.scalar(
        sa.select(EmailTemplate).where(sa.func.lower(EmailTemplate.name) == name.strip().lower())
    )
    if found is None:
        raise NotFound(f"There is no template called {name!r}.", name=name)
    return found


def _checked(session: Session, name: str, content: str, keep: uuid.UUID | None) -> str:
    label = " ".join(name.split())
    if not label or len(label) > 200:
        raise ValidationFailed("A template needs a name of 1 to 200 characters.", field="name")
    if not content.strip() or len(content) > MAX_CONTENT:
        raise ValidationFailed(
            f"A template needs instructions of 1 to {MAX_CONTENT:,} characters.", field="content"
        )
    same = session.scalar(
        sa.select(EmailTemplate.id).where(sa.func.lower(EmailTemplate.name) == label.lower())
    )
    if same is not None and same != keep:
        raise Conflict(f"There is already a template called {label!r}.", field="name")
    subject, body = split_subject(content)
    problems = [f"{p.part}: {p.message}" for p in check_syntax(subject or "-", body)]
    if problems:
        raise ValidationFailed(
            "The template cannot be saved: " + "; ".join(problems), problems=problems
        )
    return label


def create(session: Session, name: str, content: str, now: datetime) -> EmailTemplate:
    label = _checked(session, name, content, None)
    template = EmailTemplate(
        name=label, template_content=content, is_active=True, created_at=now, updated_at=now
    )
    session.add(template)
    session.flush()
    return template


def update(
    session: Session,
    template_id: uuid.UUID,
    *,
    name: str,
    content: str,
    is_active: bool = True,
    now: datetime,
) -> EmailTemplate:
    """Changes a template. Drafts already written keep the text they were written from
    (their prompt_version names the template's digest then)."""
    template = get(session, template_id)
    template.name = _checked(session, name, content, template_id)
    template.template_content = content
    template.is_active = is_active
    template.updated_at = now
    session.flush()
    return template


@dataclass(frozen=True)
class TrialInput:
    """Everything a test run needs, read from the database beforehand, so that no
    transaction stays open while the model writes."""

    contact_email: str
    request: DraftRequest
    facts: Facts


@dataclass(frozen=True)
class Trial:
    """One draft written for one contact and not stored, with its warnings and cost."""

    contact_email: str
    written: WrittenDraft
    findings: list[Finding]
    cost_micros: int | None


def prepare_trial(
    session: Session,
    template_id: uuid.UUID,
    contact_id: uuid.UUID,
    draft_type: DraftType = DraftType.first_outreach,
) -> TrialInput:
    """The request for a test run of a template on one contact. Raises DraftRefused when the
    template cannot be filled in for the contact."""
    template = get(session, template_id)
    contact = get_or_not_found(session, Contact, contact_id, "contact")
    context = ContactContext.of(contact)
    return TrialInput(
        contact_email=contact.email,
        request=draft_request(draft_type, TemplateText.of(template), context),
        facts=facts_from(
            dict(context.fields),
            contact.raw_data,
            contact.enriched_data,
            template.template_content,
        ),
    )


def trial(writer: DraftWriter, prepared: TrialInput) -> Trial:
    """Writes the draft with the writer a batch would use and stores nothing; raises the
    writer's error (DraftRefused, WriterBusy, WriterStopped) for the caller to show. Call it
    with no transaction open: it waits for the model."""
    written = writer.write(prepared.request)
    usage = Usage(
        written.input_tokens or 0,
        written.output_tokens or 0,
        written.cache_read_tokens or 0,
        written.cache_write_tokens or 0,
    )
    follow_up = prepared.request.draft_type is not DraftType.first_outreach
    return Trial(
        contact_email=prepared.contact_email,
        written=written,
        findings=lint(written.subject, written.body, prepared.facts, follow_up=follow_up),
        cost_micros=cost_micros(written.model, usage),
    )
