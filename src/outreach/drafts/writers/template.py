"""The template writer: the email_templates row's text, merge fields filled in. No network, no
key, no cost; what runs when ANTHROPIC_API_KEY is not set.

The subject comes from the template's first line, ``Subject: …``, rather than from a setting:
each template carries its own, and a setting would give every campaign the same subject. A
follow-up whose template has no subject line answers the thread of the first draft written for
the contact ("Re: " + its subject), as campaign steps do; anything else without a subject line
is refused, naming the template.

The model recorded is "template" and the prompt version names the row and a digest of its
text (``template:<id>@<12 hex>``), so an edited template is told apart from the one a draft was
written with.
"""

from __future__ import annotations

import hashlib
import json
from typing import Final

from outreach.campaigns.states import DraftType
from outreach.drafts.writers.base import (
    DraftRefused,
    DraftRequest,
    TemplateText,
    WrittenDraft,
    render_template,
)

MODEL: Final = "template"


def prompt_version(template: TemplateText) -> str:
    digest = hashlib.sha256(template.content.encode("utf-8")).hexdigest()[:12]
    return f"template:{template.id or template.name}@{digest}"


def input_sha256(request: DraftRequest) -> str:
    """The hash of what the output depends on: the template's text and the contact's merge
    fields (and, for a thread reply, the subject answered)."""
    document = {
        "template": request.template.content,
        "fields": request.contact.merge_fields(),
        "thread_subject": _thread_subject(request),
    }
    canonical = json.dumps(
        document, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _thread_subject(request: DraftRequest) -> str | None:
    for earlier in request.earlier:
        if earlier.draft_type is DraftType.first_outreach:
            return earlier.subject
    return None


class TemplateWriter:
    """Writes drafts by rendering the template for the contact."""

    def write(self, request: DraftRequest) -> WrittenDraft:
        subject, body = render_template(request.template, request.contact)
        if subject is None:
            thread_subject = _thread_subject(request)
            if request.draft_type is DraftType.first_outreach or thread_subject is None:
                raise DraftRefused(
                    f"Template {request.template.name!r} has no first line"
                    ' "Subject: …", which a template writes the subject with.'
                )
            subject = f"Re: {thread_subject.removeprefix('Re: ')}"
        return WrittenDraft(
            subject=subject,
            body=body,
            model=MODEL,
            prompt_version=prompt_version(request.template),
            input_sha256=input_sha256(request),
        )
