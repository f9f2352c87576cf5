"""A sender account's state: ok, failing (it could not send; the reason is kept), paused (by a
person, or by the bounce check)."""

from __future__ import annotations

from enum import StrEnum


class SenderState(StrEnum):
    ok = "ok"
    failing = "failing"
    paused = "paused"
