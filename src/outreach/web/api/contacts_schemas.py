"""Request and response bodies of /api/v1 uploads, contacts, lists and suppressions
(web/api/contacts.py)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from outreach.access.service import LABEL
from outreach.contacts.leads import LeadStatus
from outreach.contacts.mapping import FIELDS
from outreach.contacts.suppressions import ENTRY


class BatchOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    file_name: str
    status: str | None
    total_contacts: int | None
    processed_contacts: int | None
    imported_count: int
    updated_count: int
    duplicate_count: int
    invalid_count: int
    suppressed_count: int
    role_count: int
    column_mapping: dict[str, str] | None
    on_duplicate: str
    list_id: uuid.UUID | None
    sheet: str | None
    error: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


class PreviewRow(BaseModel):
    line: int
    values: list[str]


class UploadOut(BaseModel):
    batch: BatchOut
    headers: list[str]
    proposed_mapping: dict[str, str]
    preview: list[PreviewRow]
    sheets: list[str]


class ConfirmIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    mapping: dict[str, str] | None = Field(
        None,
        description="field → column; fields: " + ", ".join(FIELDS) + ". Omit to use the proposal.",
    )
    on_duplicate: Literal["skip", "update"] = "skip"
    list_id: uuid.UUID | None = None
    save_mapping_as: str | None = Field(None, max_length=100)


class SavedMappingOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    name: str
    mapping: dict[str, str]


class UndoOut(BaseModel):
    removed: int
    kept: int


class ContactOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    email: str
    name: str | None
    first_name: str | None
    last_name: str | None
    company: str | None
    title: str | None
    timezone: str | None
    website: str | None
    role_address: bool
    upload_batch_id: uuid.UUID
    created_at: datetime
    lead_status: LeadStatus
    lead_status_at: datetime | None
    lead_status_by: str | None = Field(description="A person's email, or the event that set it")
    lead_status_by_person: bool


class ContactDetail(ContactOut):
    raw_data: dict[str, Any]
    enriched_data: dict[str, Any] | None
    lists: list[uuid.UUID]


class LeadStatusIn(BaseModel):
    status: LeadStatus


class ChangeOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    field: str = Field(description="lead_status, or category (of one of their replies)")
    old_value: str | None
    new_value: str
    changed_by: str
    changed_at: datetime
    reason: str | None
    inbox_message_id: uuid.UUID | None


class ListOut(BaseModel):
    id: uuid.UUID
    name: str
    description: str | None
    size: int
    created_at: datetime


class ListIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200, pattern=LABEL.pattern)
    description: str | None = Field(None, max_length=2000)


class ListPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(None, min_length=1, max_length=200, pattern=LABEL.pattern)
    description: str | None = Field(None, max_length=2000)


class FilterIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str | None = Field(None, max_length=200)
    company: str | None = Field(None, max_length=200)
    domain: str | None = Field(None, max_length=253)
    batch_id: uuid.UUID | None = None
    field: str | None = Field(None, max_length=200)
    value: str | None = Field(None, max_length=2000)


class MembersIn(BaseModel):
    """Exactly one of contact_ids, batch_id or filter."""

    model_config = ConfigDict(extra="forbid")

    contact_ids: list[uuid.UUID] | None = Field(None, max_length=10_000)
    batch_id: uuid.UUID | None = None
    filter: FilterIn | None = None

    @model_validator(mode="after")
    def one_way(self) -> MembersIn:
        """One way of choosing per request: with several, which one wins would be a guess."""
        given = [self.contact_ids is not None, self.batch_id is not None, self.filter is not None]
        if sum(given) != 1:
            raise ValueError("give exactly one of contact_ids, batch_id or filter")
        return self


class MembersRemoveIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    contact_ids: list[uuid.UUID] = Field(max_length=10_000)


class CountOut(BaseModel):
    count: int


class SuppressionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    email: str | None
    domain: str | None
    reason: str
    source: str | None
    created_at: datetime


class SuppressionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    entry: str = Field(
        min_length=1,
        max_length=320,
        pattern=ENTRY.pattern,
        description="An address, or a domain (`@example.com` or `example.com`).",
    )
    reason: Literal["unsubscribed", "bounced", "complained", "manual"] = "manual"
    source: str | None = Field(None, max_length=200)


class TimelineEntryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    kind: str = Field(
        description="imported, joined_list, enrolled, sent, reply, auto_reply, "
        "unsubscribe_request, bounce, suppressed, note, lead_status or category"
    )
    at: datetime
    id: uuid.UUID = Field(description="The row it was read from")
    title: str = Field(description="One line saying what happened")
    body: str | None = Field(description="The email as sent, their message whole, the note")
    by: str | None = Field(
        description="The sender account an email went from; a note's author; who or what made "
        "a change"
    )
    subject: str | None
    campaign_id: uuid.UUID | None
    conversation_id: uuid.UUID | None


class NoteIn(BaseModel):
    text: str = Field(min_length=1, max_length=20_000)


class NoteOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    contact_id: uuid.UUID
    author_id: uuid.UUID | None
    text: str
    created_at: datetime
