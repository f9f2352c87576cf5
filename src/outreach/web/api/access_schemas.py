"""Request and response bodies of /api/v1 users and API tokens (web/api/access.py)."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from outreach.access.credentials import MIN_PASSWORD_LENGTH
from outreach.access.models import Role
from outreach.access.service import LABEL


class UserOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    email: str
    role: Role
    is_active: bool
    last_sign_in_at: datetime | None
    created_at: datetime


class UserIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: str = Field(max_length=320, json_schema_extra={"format": "email"})
    password: str = Field(min_length=MIN_PASSWORD_LENGTH, max_length=1000)
    role: Role = Role.member


class TokenOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class TokenIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100, pattern=LABEL.pattern)


class IssuedTokenOut(BaseModel):
    token: TokenOut
    secret: str = Field(description="The bearer value. Shown once: store it now.")
