"""Domain errors, translated by entry points: HTTP statuses in web/, exit codes in cli/."""

from __future__ import annotations

from typing import Any


class OutreachError(Exception):
    """Base of every error a user can be told about in plain words."""

    code = "error"

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class NotFound(OutreachError):
    code = "not_found"


class Conflict(OutreachError):
    code = "conflict"


class InvalidTransition(OutreachError):
    code = "invalid_transition"


class ValidationFailed(OutreachError):
    code = "validation_failed"


class Unauthorized(OutreachError):
    code = "unauthorized"


class Forbidden(OutreachError):
    code = "forbidden"


class RateLimited(OutreachError):
    code = "rate_limited"

    def __init__(self, message: str, retry_after_seconds: int, **details: Any) -> None:
        super().__init__(message, retry_after_seconds=retry_after_seconds, **details)
        self.retry_after_seconds = retry_after_seconds


class Gone(OutreachError):
    """What was asked for existed once and was deleted on purpose (kept for a time only)."""

    code = "gone"


class UpstreamUnavailable(OutreachError):
    """A service outreach asks on the user's behalf (DNS) did not answer: try again later."""

    code = "upstream_unavailable"


class DatabaseNotReady(OutreachError):
    """The database is unreachable or its schema is not the one this code expects."""

    code = "database_not_ready"
