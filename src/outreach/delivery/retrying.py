"""Trying again the sender accounts whose server could not be reached: a connection (greeting,
encryption, sign-in) to each one due, with no transaction open, before a pass plans and takes
its emails. One that answers is ok again and its queued emails go in the same pass; one that
does not is tried again later (senders/standing.py), and one that now refuses its sign-in waits
for a person.

A connection, not a send: nothing is handed over, so an email can never go twice this way, and
an account with nothing queued (its first emails moved to other accounts) heals too.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from functools import partial

from outreach.providers.base import Transport
from outreach.providers.errors import ProviderError
from outreach.runner import Runner
from outreach.senders import queries as sender_queries
from outreach.senders import service as senders


def retry_senders(
    runner: Runner, now: datetime, transport_of: Callable[[uuid.UUID], Transport]
) -> list[str]:
    """Connects to each failing account due to be tried again; says what became of each."""
    said = []
    for account in runner.read(lambda session: sender_queries.due_for_retry(session, now)):
        try:
            transport = transport_of(account.id)
            try:
                transport.check()
            finally:
                transport.close()
        except ProviderError as error:
            failed = runner.step(
                partial(senders.record_failure, sender_id=account.id, error=error, now=now)
            )
            said.append(failed.sentence(account.email))
            continue
        runner.step(partial(senders.record_success, sender_id=account.id, now=now))
        said.append(f"{account.email} answers again: ok, sending")
    return said
