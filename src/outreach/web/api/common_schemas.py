"""Bodies every /api/v1 router shares: the error shape that web/errors.py writes for a 4xx."""

from __future__ import annotations

from pydantic import BaseModel

PAGE_CURSOR = "The next_after of the page before; any other value is refused (422)"


class ErrorDetail(BaseModel):
    code: str
    message: str
    details: dict[str, object]


class ErrorBody(BaseModel):
    error: ErrorDetail
