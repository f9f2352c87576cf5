"""The kinds of inbound message: what classify.py decides and inbox_messages.kind stores. A
module of its own so that counting stored messages by kind (a sender account's week) does not
import the parser and the classifier's rules."""

from __future__ import annotations

from enum import StrEnum


class Kind(StrEnum):
    human_reply = "human_reply"
    auto_reply = "auto_reply"
    bounce = "bounce"
    unsubscribe_request = "unsubscribe_request"
    other = "other"
