"""Drafts as a state machine, on the seed's email_status enum.

draft → approved (a person said yes) → scheduled (a send is waiting for it) → sent | failed;
a cancelled schedule brings it back to approved.
"""

from __future__ import annotations

from outreach.drafts.models import EmailStatus
from outreach.states import Lifecycle

DRAFTS = Lifecycle[EmailStatus](
    noun="draft",
    moves={
        EmailStatus.approved: frozenset({EmailStatus.draft, EmailStatus.scheduled}),
        EmailStatus.scheduled: frozenset({EmailStatus.approved}),
        EmailStatus.sent: frozenset({EmailStatus.scheduled}),
        EmailStatus.failed: frozenset({EmailStatus.scheduled}),
    },
)
