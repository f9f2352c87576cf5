"""The interface every draft writer implements, what it is given, and the errors that say what
to do next.

A writer turns one `DraftRequest` (a draft type, an email_templates row, one contact, the drafts
already written for that contact in this run, and a reviewer's note) into a `WrittenDraft`: the
subject and body, and what is needed to trace the text back to its prompt (model, prompt
version, hash of the exact input, token usage). Writers hold no database session and make no
status changes; the caller records the outcome.

Errors tell the caller what to do, so that it never reads HTTP statuses:

* `WriterBusy`: try this draft again later, after `retry_after` seconds when the provider said
  (rate limits, overload, timeouts, dropped connections);
* `WriterStopped`: nothing more can be written until a person acts (spend limit reached, API
  key refused, model unknown): the whole batch stops and shows the reason;
* `DraftRefused`: this contact's draft failed (a malformed or empty answer, a template that
  cannot be rendered for this contact); the batch goes on with the next contact.

Templates (``email_templates.template_content``) are written in the merge-field syntax of
`outreach.campaigns.templates`. An optional first line ``Subject: …`` gives the subject; the
rest is the body. The template writer sends that text as it is; a model writer reads it as its
instruction (a brief, or a model email to personalise).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Protocol

from outreach.campaigns.states import DraftType
from outreach.campaigns.templates.fields import CONTACT_FIELDS, merge_fields
from outreach.campaigns.templates.rendering import render
from outreach.contacts.models import Contact
from outreach.drafts.models import EmailTemplate
from outreach.errors import ValidationFailed

SUBJECT_PREFIX: Final = "subject:"
"""A template's first line starting with this (any case) is its subject line."""

_NO_SUBJECT: Final = "-"
"""Stands in for the subject of a template without one, since rendering needs a subject part;
what it renders to is thrown away."""


# --- errors ---------------------------------------------------------------------------------


class WriterError(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class WriterBusy(WriterError):
    """Try this draft again later: rate limited, overloaded, timed out, connection lost.
    `retry_after` is how long the provider asked to wait, in seconds, when it said."""

    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.retry_after = retry_after


class WriterStopped(WriterError):
    """No draft can be written until a person acts (spend limit reached, key refused, model
    unknown). Retrying cannot help: the batch stops and shows `reason`."""


class DraftRefused(WriterError):
    """This contact's draft cannot be written as asked (malformed or empty answer, template
    problem for this contact, request refused as too large). Other contacts may go on."""


# --- what a writer is given -----------------------------------------------------------------


@dataclass(frozen=True)
class TemplateText:
    """An email_templates row, as a writer needs it."""

    id: uuid.UUID | None
    name: str
    content: str

    @classmethod
    def of(cls, row: EmailTemplate) -> TemplateText:
        return cls(id=row.id, name=row.name, content=row.template_content)


@dataclass(frozen=True)
class ContactContext:
    """One contact as plain values: its own fields, the uploaded columns, the enrichment."""

    id: uuid.UUID | None
    fields: Mapping[str, str | None]
    raw_data: Mapping[str, Any] = field(default_factory=dict)
    enriched_data: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, contact: Contact) -> ContactContext:
        return cls(
            id=contact.id,
            fields={name: getattr(contact, name) for name in CONTACT_FIELDS},
            raw_data=dict(contact.raw_data or {}),
            enriched_data=dict(contact.enriched_data or {}),
        )

    def merge_fields(self) -> dict[str, object]:
        """What templates see (campaigns.templates.fields.merge_fields)."""
        return merge_fields(self.fields, self.raw_data)


@dataclass(frozen=True)
class EarlierDraft:
    """A draft already written for this contact in this run, which a follow-up builds on."""

    draft_type: DraftType
    subject: str
    body: str


@dataclass(frozen=True)
class DraftRequest:
    """Everything a writer may use for one draft, and nothing about any other contact.

    `instruction` is the template rendered for this contact (``Subject: …`` line included when
    the template has one); `draft_request()` builds it and refuses a template that cannot be
    rendered for the contact.
    """

    draft_type: DraftType
    template: TemplateText
    instruction: str
    contact: ContactContext
    earlier: tuple[EarlierDraft, ...] = ()
    reviewer_note: str | None = None


@dataclass(frozen=True)
class WrittenDraft:
    """A draft and its provenance: enough to trace any sent text to the prompt behind it."""

    subject: str
    body: str
    model: str
    prompt_version: str
    input_sha256: str
    input_tokens: int | None = None
    output_tokens: int | None = None
    cache_read_tokens: int | None = None
    cache_write_tokens: int | None = None

    def provenance(self) -> dict[str, object]:
        """The email_drafts provenance columns (migration 0006) and their values."""
        return {
            "model": self.model,
            "prompt_version": self.prompt_version,
            "input_sha256": self.input_sha256,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "cache_read_tokens": self.cache_read_tokens,
            "cache_write_tokens": self.cache_write_tokens,
        }


class DraftWriter(Protocol):
    def write(self, request: DraftRequest) -> WrittenDraft:
        """One draft for one contact; raise one of the errors above when there is none."""
        ...


# --- building a request ---------------------------------------------------------------------


def split_subject(content: str) -> tuple[str | None, str]:
    """A template's subject line (without ``Subject:``) and the rest; None when the first line
    that is not blank is not a subject line."""
    stripped = content.lstrip("\r\n \t")
    first, _, rest = stripped.partition("\n")
    if first.lower().startswith(SUBJECT_PREFIX):
        return first[len(SUBJECT_PREFIX) :].strip(), rest
    return None, content


def render_template(template: TemplateText, contact: ContactContext) -> tuple[str | None, str]:
    """The template's subject (None without a subject line) and body, rendered for the contact
    with campaigns.templates' rules: a merge field empty or missing without a fallback, or a
    placeholder left in the output, refuses the draft with every problem named."""
    subject, body = split_subject(template.content)
    try:
        rendered = render(subject or _NO_SUBJECT, body, None, contact.merge_fields())
    except ValidationFailed as error:
        raise DraftRefused(f"Template {template.name!r}: {error.message}") from error
    return (rendered.subject if subject is not None else None), rendered.text


def draft_request(
    draft_type: DraftType,
    template: TemplateText,
    contact: ContactContext,
    earlier: tuple[EarlierDraft, ...] = (),
    reviewer_note: str | None = None,
) -> DraftRequest:
    """The request for one draft, its instruction rendered for this contact. Raises
    `DraftRefused` when the template cannot be rendered for the contact."""
    subject, body = render_template(template, contact)
    instruction = body if subject is None else f"Subject: {subject}\n\n{body}"
    return DraftRequest(
        draft_type=draft_type,
        template=template,
        instruction=instruction,
        contact=contact,
        earlier=earlier,
        reviewer_note=(reviewer_note or "").strip() or None,
    )
