"""Request and response bodies of /api/v1/conversations (web/api/conversations.py)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool

from outreach.contacts.leads import LeadStatus
from outreach.inbox.reply_rules import Category


class ConversationOut(BaseModel):
    id: uuid.UUID
    contact_id: uuid.UUID
    contact_email: str
    contact_name: str
    company: str | None
    sender_account_id: uuid.UUID
    sender_email: str
    last_message_at: datetime
    unread: bool
    needs_answer: bool
    subject: str | None = Field(description="Of their latest message")
    snippet: str | None = Field(description="The first words of their latest message")
    category: Category | None = Field(description="Of their latest reply; null until decided")
    lead_status: LeadStatus = Field(description="The contact's")
    assigned_to: uuid.UUID | None = Field(description="The user who answers it")
    assigned_to_email: str | None


class AttachmentOut(BaseModel):
    id: uuid.UUID
    filename: str
    content_type: str
    size_bytes: int
    kept: bool = Field(description="False: larger than the limit, listed only")
    url: str | None = Field(description="Where to download it, when kept")


class EntryOut(BaseModel):
    id: uuid.UUID = Field(
        description="Ours: the sent email; theirs: the message (the message_id to categorize it)"
    )
    ours: bool = Field(description="True for an email we sent, false for one of theirs")
    at: datetime
    kind: str = Field(
        description="sent, or for theirs: human_reply, unsubscribe_request, auto_reply, bounce"
    )
    subject: str | None
    text: str | None = Field(description="Their own words, without the history they quote")
    quoted_text: str | None = Field(description="The history the text quotes, if any")
    html: str | None = Field(description="Sanitised: safe to show as it is; without the quote")
    quoted_html: str | None = Field(description="The history the HTML quotes, sanitised")
    blocked_images: int = Field(description="Remote images left out; ask with show_images=true")
    truncated: bool
    campaign_id: uuid.UUID | None
    step: int | None
    attachments: list[AttachmentOut]
    category: Category | None = Field(
        description="Theirs, when a person wrote it: its category; null until decided, and for "
        "ours, auto-replies and bounces"
    )
    category_by_person: bool | None = Field(
        description="True: a person chose the category (the machine never changes it); false: "
        "the machine decided; null: no category"
    )
    category_by: str | None = Field(
        description="The person's email, or what decided: the rules, or the model's name"
    )
    category_at: datetime | None
    category_reason: str | None = Field(
        description="Why: the phrase the rules found (and its language), or the model's reason; "
        '"set by hand" for a person'
    )


class CategoryOut(BaseModel):
    message_id: uuid.UUID = Field(description="The reply the category belongs to")
    category: Category | None
    category_by: str | None = Field(description="A person's email, the rules, or a model")
    category_by_person: bool
    category_at: datetime | None
    category_reason: str | None


class ReferralOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    email: str
    status: str = Field(description="offered, confirmed or dismissed")
    inbox_message_id: uuid.UUID
    campaign_id: uuid.UUID | None
    contact_id: uuid.UUID | None = Field(description="The contact made when confirmed")
    decided_by: str | None
    decided_at: datetime | None


class ConversationDetail(ConversationOut):
    messages: list[EntryOut]
    latest_reply: CategoryOut | None = Field(description="Their latest reply's category")
    referrals: list[ReferralOut]


class CategoryIn(BaseModel):
    category: Category
    message_id: uuid.UUID | None = Field(
        None, description="A reply in this conversation; by default their latest"
    )


class CategorizedOut(CategoryOut):
    done: list[str] = Field(description="What the category did, in words")


class ReferralConfirmIn(BaseModel):
    name: str | None = Field(None, max_length=300)
    fields: dict[str, str] = Field(
        default_factory=dict, description="Columns the campaign's emails use (City: London)"
    )


class ReferralDecidedOut(BaseModel):
    referral: ReferralOut
    said: str


class ConversationAssignIn(BaseModel):
    user_id: uuid.UUID | None = Field(description="Who answers it; null: nobody")


class ConversationMarkIn(BaseModel):
    unread: StrictBool | None = Field(None, description="False: a person has read it")
    needs_answer: StrictBool | None = Field(None, description="False: done, nothing to answer")


class AnswerIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    body: str = Field(
        min_length=1,
        max_length=50_000,
        description="Plain text; merge fields such as {{ first_name }} are filled, and the "
        "sender account's signature goes under it",
    )
    draft: StrictBool = Field(False, description="Keep it as a draft: nothing is sent")
    at: datetime | None = Field(
        None,
        description="When to send it, with its zone; empty or past: now (the worker's next "
        "pass). Not with `draft`",
    )


class AnswerSendIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    body: str | None = Field(
        None, min_length=1, max_length=50_000, description="The draft's text as last edited"
    )
    at: datetime | None = Field(None, description="With its zone; empty or past: now")


class AnswerOut(BaseModel):
    id: uuid.UUID
    conversation_id: uuid.UUID
    body: str = Field(description="As written: merge fields unfilled, without the signature")
    status: Literal["draft", "scheduled", "sending", "sent", "failed", "unknown", "cancelled"] = (
        Field(
            description="draft; scheduled (waiting for its time); sending; sent; failed; unknown "
            "(a crash cut its send short: decide on the sends page); cancelled (its address was "
            "suppressed before its time)"
        )
    )
    scheduled_for: datetime | None
    subject: str | None = Field(description="As sent or to be sent; null for a draft")
    text: str | None = Field(description="As sent or to be sent; null for a draft")
    last_error: str | None
    created_at: datetime
