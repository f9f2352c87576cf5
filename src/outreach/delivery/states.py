"""Deliveries as a state machine.

queued → sending (claimed by one worker) → sent | failed | queued (retry later) | unknown
(a crash left it sending and nobody can tell whether it went); a person resolves unknown to
queued (send again) or sent (it did go). queued → cancelled when nothing is waiting for it.
"""

from __future__ import annotations

from enum import StrEnum

from outreach.states import Lifecycle


class DeliveryStatus(StrEnum):
    queued = "queued"
    sending = "sending"
    sent = "sent"
    failed = "failed"
    unknown = "unknown"
    cancelled = "cancelled"


DELIVERIES = Lifecycle[DeliveryStatus](
    noun="delivery",
    moves={
        DeliveryStatus.sending: frozenset({DeliveryStatus.queued}),
        DeliveryStatus.sent: frozenset({DeliveryStatus.sending, DeliveryStatus.unknown}),
        DeliveryStatus.failed: frozenset({DeliveryStatus.sending}),
        DeliveryStatus.queued: frozenset({DeliveryStatus.sending, DeliveryStatus.unknown}),
        DeliveryStatus.unknown: frozenset({DeliveryStatus.sending}),
        DeliveryStatus.cancelled: frozenset({DeliveryStatus.queued}),
    },
)
