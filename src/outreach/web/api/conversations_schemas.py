"""Request and response bodies of /api/v1/conversations (web/api/conversations.py)."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, Field, StrictBool


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
    assigned_to: uuid.UUID | None = Field(description="The user who answers it")
    assigned_to_email: str | None


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
    text: str | None = Field(description="Their own words, without the history they quote")
    quoted_text: str | None = Field(description="The history the text quotes, if any")
    html: str | None = Field(description="Sanitised: safe to show as it is; without the quote")
    quoted_html: str | None = Field(description="The history the HTML quotes, sanitised")
    blocked_images: int = Field(description="Remote images left out; ask with show_images=true")
    truncated: bool
    campaign_id: uuid.UUID | None
    step: int | None
    attachments: list[AttachmentOut]


class ConversationDetail(ConversationOut):
    messages: list[EntryOut]


class ConversationAssignIn(BaseModel):
    user_id: uuid.UUID | None = Field(description="Who answers it; null: nobody")


class ConversationMarkIn(BaseModel):
    unread: StrictBool | None = Field(None, description="False: a person has read it")
    needs_answer: StrictBool | None = Field(None, description="False: done, nothing to answer")
