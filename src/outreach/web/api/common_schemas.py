"""Bodies every /api/v1 router shares: the error shape that web/errors.py writes for a 4xx, and
the one shape of a page of any list."""

from __future__ import annotations

from typing import Annotated, Any, Generic, TypeVar, get_args

from fastapi import Query
from pydantic import BaseModel, Field, model_validator

PAGE_CURSOR = (
    "The `next` of the page before; omit it for the first page. A cursor is ours to make "
    "(format `page-cursor`): any other value is a 422"
)

After = Annotated[
    str | None,
    Query(max_length=400, description=PAGE_CURSOR, json_schema_extra={"format": "page-cursor"}),
]
Limit = Annotated[int, Query(ge=1, le=500, description="At most this many on the page")]


class BodyIn(BaseModel):
    """A request's body whose numbers are numbers: Pydantic reads JSON's true and false as 1
    and 0 for an integer field, which the API document (type integer) forbids."""

    @model_validator(mode="before")
    @classmethod
    def _numbers_are_not_true_or_false(cls, data: Any) -> Any:
        if isinstance(data, dict):
            wrong = [
                name
                for name, value in data.items()
                if isinstance(value, bool) and name in cls.model_fields and _holds_int(cls, name)
            ]
            if wrong:
                raise ValueError(f"{', '.join(wrong)}: a number, not true or false")
        return data


def _holds_int(model: type[BaseModel], name: str) -> bool:
    annotation = model.model_fields[name].annotation
    return annotation is int or int in get_args(annotation)


Item = TypeVar("Item")


class Page(BaseModel, Generic[Item]):
    """One page of a list: pass `next` as `after` for the page after it, until `next` is null.
    Each row is on exactly one page, however rows are added or removed meanwhile."""

    items: list[Item]
    next: str | None = Field(description="Pass as `after` for the next page; null on the last")


class ErrorDetail(BaseModel):
    code: str
    message: str
    details: dict[str, object]


class ErrorBody(BaseModel):
    error: ErrorDetail


def errors_documented(*answers: tuple[int, str]) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` for these 4xx statuses, each with its description and the error
    body's schema (what web/errors.py writes)."""
    return {status: {"model": ErrorBody, "description": said} for status, said in answers}
