"""What providers allow one mailbox: facts of the providers, the defaults of sender accounts."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final


@dataclass(frozen=True)
class SendingLimits:
    per_minute: int
    per_day: int
    connections: int


GRAPH_DEFAULT_LIMITS: Final = SendingLimits(per_minute=25, per_day=9_000, connections=3)
"""Default caps for a Microsoft 365 mailbox, through Graph or over SMTP (smtp.office365.com),
each under what Microsoft enforces:
Exchange Online lets a mailbox send 30 messages a minute and to 10,000 recipients a day
(Exchange Online limits, "Sending limits"), and Graph runs at most 4 requests at once per app
and mailbox (Graph throttling limits, "Outlook service limits"). One of the 4 is left for the
inbox reader polling the same mailbox, and a tenth of the day's recipients for the person who
also mails from it. Over SMTP, Exchange Online allows 3 connections at once per mailbox."""

GOOGLE_DEFAULT_DAILY_CAP: Final = 1_800
"""Default daily cap of a Google Workspace or Gmail mailbox over SMTP: Google Workspace lets a
mailbox send to 2,000 recipients a day ("Gmail sending limits in Google Workspace"; a consumer
Gmail account 500); a tenth is left for the person who also mails from it."""


def tenant_recipient_limit(licences: int) -> int:
    """External recipients every mailbox of one Microsoft 365 tenant may send to together in
    any 24 hours: Exchange Online's Tenant External Recipient Rate Limit, 500 x licences^0.7 +
    9,500 ("Exchange Online limits", enforced from April 2025; 10,000 for one licence). Past
    it, Exchange refuses each email with 550 5.7.233 until the rolling day frees room."""
    if licences < 1:
        raise ValueError("a tenant has at least one licence")
    return math.floor(500 * math.pow(licences, 0.7) + 9_500)
