"""Reading every sender account's mailbox: the inbox poll the worker runs and `outreach inbox
poll` runs by hand.

Per account: claim the poll (at most every OUTREACH_INBOX_POLL_SECONDS, one worker at a time),
then read page after page until the reader says there is no more, each page stored in its own
transaction with its cursor (no transaction is open while the reader talks to the provider).
A reader's error is stored on the account's cursor row and logged; the other accounts go on.
A database error (a lock held too long) is not the account's: it stops the poll unrecorded.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy.exc import SQLAlchemyError

from outreach.container import Container
from outreach.db import transaction
from outreach.inbox import queries
from outreach.inbox import service as inbox
from outreach.providers.errors import ProviderError
from outreach.providers.inbox import InboxReader
from outreach.words import counted

log = logging.getLogger("outreach.inbox")

MAX_PAGES = 200
"""Pages one poll reads at most; the rest waits for the next poll (the cursor is stored)."""
NOTHING_TO_READ = "no mailbox to read"


@dataclass
class MailboxPoll:
    email: str
    pages: int = 0
    report: inbox.IngestReport = field(default_factory=inbox.IngestReport)
    error: str | None = None
    skipped: str | None = None


@dataclass
class PollReport:
    mailboxes: list[MailboxPoll] = field(default_factory=list)

    @property
    def total(self) -> inbox.IngestReport:
        whole = inbox.IngestReport()
        for each in self.mailboxes:
            whole.add(each.report)
        return whole

    @property
    def failed(self) -> list[MailboxPoll]:
        return [each for each in self.mailboxes if each.error]


def polling_pass(
    container: Container, sender: str | None = None, *, force: bool = False
) -> PollReport:
    """Polls every account with a mailbox to read (or only `sender`); `force` ignores the
    interval (a person asked)."""
    every = timedelta(seconds=0 if force else container.settings.inbox_poll_seconds)
    with transaction(container.sessions) as session:
        accounts = [(a.id, a.email) for a in queries.mailbox_accounts(session, sender)]
    report = PollReport()
    for account_id, email in accounts:
        done = _poll(container, account_id, email, every)
        if done.skipped != NOTHING_TO_READ:
            report.mailboxes.append(done)
    return report


def _poll(container: Container, account_id: uuid.UUID, email: str, every: timedelta) -> MailboxPoll:
    done = MailboxPoll(email)
    reader: InboxReader | None = None
    try:
        with transaction(container.sessions) as session:
            account = queries.sender_account(session, account_id)
            reader = container.inbox_reader_for(account) if account else None
            if reader is None:
                done.skipped = NOTHING_TO_READ
                return done
            claimed = queries.claim_poll(session, account_id, container.clock.now(), every)
            if claimed is None:
                done.skipped = "polled recently"
                return done
            cursor = claimed.cursor
        while done.pages < MAX_PAGES:
            page = reader.read(cursor)
            with transaction(container.sessions) as session:
                account = queries.sender_account(session, account_id)
                assert account is not None
                stored = inbox.ingest(
                    session,
                    account,
                    page,
                    container.clock.now(),
                    postpone_auto_replies=container.settings.inbox_postpone_on_auto_reply,
                )
            done.report.add(stored)
            done.pages += 1
            cursor = page.cursor
            if not page.more:
                break
    except SQLAlchemyError:
        raise  # the database's trouble, not the mailbox's: never the account's last error
    except Exception as error:  # one mailbox's trouble must not stop the others'
        done.error = error.reason if isinstance(error, ProviderError) else f"{error}"
        done.error = done.error or type(error).__name__
        if isinstance(error, ProviderError):
            log.warning("inbox.poll_failed", extra={"sender": email, "error": done.error})
        else:
            log.exception("inbox.poll_failed", extra={"sender": email, "error": done.error})
        with transaction(container.sessions) as session:
            queries.record_error(session, account_id, done.error, container.clock.now())
    finally:
        if reader is not None:
            reader.close()
    return done


def poll_lines(report: PollReport) -> list[str]:
    """What a person watching a poll wants to read, a line per mailbox and per message."""
    lines = []
    for each in report.mailboxes:
        if each.skipped:
            lines.append(f"{each.email}: skipped, {each.skipped}")
            continue
        state = f"failed: {each.error}" if each.error else each.report.summary()
        lines.append(f"{each.email}: {state}")
        lines += [f"  {line}" for line in each.report.lines]
    return lines


def poll_summary(report: PollReport) -> str:
    polled = [each for each in report.mailboxes if not each.skipped]
    read = counted(len(polled), "mailbox", "mailboxes")
    return f"{read} read, {len(report.failed)} failed; {report.total.summary()}"
