"""Request and response bodies of /api/v1/conversations (web/api/conversations.py)."""

from __future__ import annotations

import uuid
from datetime import datetime

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


class ConversationPage(BaseModel):
    conversations: list[ConversationOut]
    next: str | None = Field(description="Pass as `before` for the next page; null at the end")


class AttachmentOut(BaseModel):
    id: uuid.UUID
    filename: str
    content_type: str
    size_bytes: int
    kept: bool = Field(description="False: larger than the limit, listed only")
    url: str | None = Field(description="Where to download it, when kept")


class EntryOut(BaseModel):
    ours: bool = Field(description="True for an email we sent, false for one of theirs")
    at: datetime
    kind: str = Field(
        description="sent, or for theirs: human_reply, unsubscribe_request, auto_reply, bounce"
    )
    subject: str | None
    text: str | None
    html: str | None = Field(description="Sanitised: safe to show as it is")
    blocked_images: int = Field(description="Remote images left out; ask with show_images=true")
    truncated: bool
    campaign_id: uuid.UUID | None
    step: int | None
    attachments: list[AttachmentOut]


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


class ConversationMarkIn(BaseModel):
    unread: StrictBool | None = Field(None, description="False: a person has read it")
    needs_answer: StrictBool | None = Field(None, description="False: done, nothing to answer")
