"""Sending campaign steps: claim what is due, send it with no transaction open, record the outcome.

Short transactions, each for a batch of emails (convention 3), one module for each part:
1. plan (planning.py) — under the campaign's lock, decide with the pure rules (campaigns.schedule)
   whether each due step may go now, one after another against the counts the ones before left;
   write the drafts and the deliveries (unique per enrollment and step) as `queued`, one
   statement per table, and move the others' next_send_at to when they may, with the reason;
2. take (taking.py) — the next delivery of each free connection becomes `sending`, in one
   statement, committed before any of them is handed to its connection: at most one per
   connection;
3. send (lanes.py) — the transport, on a long-lived thread per connection, outside any
   transaction, while the calling thread does 2 and 4 for the other connections;
4. record (recording.py) — sent (sent_emails rows, the seed's analytics trigger, enrollments
   advanced), retry later, failed (bounced addresses suppressed), the sender account failing, or
   unknown; every send that finished is recorded in the transaction that takes its connection's
   next.
A crash between 2 and 4 leaves those deliveries `sending`; recovery.py turns them into `unknown`
for a person, because an SMTP server cannot be asked whether it went and a duplicate cold email
costs more than a missed one. A provider that keeps its own ids (Graph) tells us the email's id
before sending it; that id is stored at once, and recovery asks the provider instead. A person
then decides about each unknown send (decisions.py): send it again, or mark it sent.

This module names what the entry points use.
"""

from __future__ import annotations

from outreach.delivery.decisions import mark_sent, send_again
from outreach.delivery.lanes import deliver
from outreach.delivery.planning import (
    Links,
    held_by_senders,
    move_first_emails,
    queue_campaign,
    sender_holds,
    unsubscribe_footer,
    why_due_waits,
)
from outreach.delivery.recording import PassReport
from outreach.delivery.recovery import recover
from outreach.delivery.taking import ready

__all__ = [
    "Links",
    "PassReport",
    "deliver",
    "held_by_senders",
    "mark_sent",
    "move_first_emails",
    "queue_campaign",
    "ready",
    "recover",
    "send_again",
    "sender_holds",
    "unsubscribe_footer",
    "why_due_waits",
]
