"""Reading every sender account's mailbox: the inbox poll the worker runs, and `outreach inbox
poll` and the senders page run by hand.

Per account: claim the poll (at most every OUTREACH_INBOX_POLL_SECONDS, one worker at a time:
the poll's RetryPolicy lease), then read page after page until the reader says there is no
more, each page stored in its own step of the runner with its cursor (no transaction is open
while the reader talks to the provider).
A reader's error is stored on the account's cursor row and logged; the other accounts go on.
A database error (a lock held too long) is not the account's: it stops the poll unrecorded.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from outreach.clock import Clock
from outreach.inbox import queries
from outreach.inbox import service as inbox
from outreach.inbox.models import InboxCursor
from outreach.providers.errors import ProviderError
from outreach.providers.inbox import InboxPage, InboxReader
from outreach.retry import RetryPolicy
from outreach.runner import Runner
from outreach.senders.models import SenderAccount
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


def poll_mailboxes(
    sessions: sessionmaker[Session],
    clock: Clock,
    reader_for: Callable[[SenderAccount], InboxReader | None],
    *,
    every: timedelta,
    options: inbox.IngestOptions,
    sender: str | None = None,
) -> PollReport:
    """Polls every account with a mailbox to read (or only `sender`) that was not polled
    within `every` (0 when a person asked), with the reader `reader_for` gives it."""
    policy = RetryPolicy(lease=every)
    with Runner(sessions) as runner:
        accounts = runner.read(
            lambda session: [(a.id, a.email) for a in queries.mailbox_accounts(session, sender)]
        )
        report = PollReport()
        for account_id, email in accounts:
            mailbox = _Mailbox(account_id, email, reader_for, clock, policy, options)
            done = mailbox.poll(runner)
            if done.skipped != NOTHING_TO_READ:
                report.mailboxes.append(done)
    return report


@dataclass(frozen=True)
class _Mailbox:
    account_id: uuid.UUID
    email: str
    reader_for: Callable[[SenderAccount], InboxReader | None]
    clock: Clock
    policy: RetryPolicy
    options: inbox.IngestOptions

    def poll(self, runner: Runner) -> MailboxPoll:
        """Claims the poll, then reads page after page, each stored in a step of its own."""
        done = MailboxPoll(self.email)
        reader: InboxReader | None = None
        try:
            account = runner.read(lambda session: queries.sender_account(session, self.account_id))
            reader = self.reader_for(account) if account else None
            if reader is None:
                done.skipped = NOTHING_TO_READ
                return done
            claimed = runner.step(self._claim)
            if claimed is None:
                done.skipped = "polled recently"
                return done
            cursor = claimed.cursor
            while done.pages < MAX_PAGES:
                page = reader.read(cursor)
                done.report.add(runner.step(partial(self._store, page)))
                done.pages += 1
                cursor = page.cursor
                if not page.more:
                    break
        except SQLAlchemyError:
            raise  # the database's trouble, not the mailbox's: never the account's last error
        except Exception as error:  # one mailbox's trouble must not stop the others'
            reason = error.reason if isinstance(error, ProviderError) else f"{error}"
            done.error = reason = reason or type(error).__name__
            said = {"sender": self.email, "error": reason}
            if isinstance(error, ProviderError):
                log.warning("inbox.poll_failed", extra=said)
            else:
                log.exception("inbox.poll_failed", extra=said)
            runner.step(partial(self._record_error, reason))
        finally:
            if reader is not None:
                reader.close()
        return done

    def _claim(self, session: Session) -> InboxCursor | None:
        """The poll claimed, with where the last one stopped; None when it is not due."""
        now = self.clock.now()
        return queries.claim_poll(session, self.account_id, now, self.policy.stale_before(now))

    def _store(self, page: InboxPage, session: Session) -> inbox.IngestReport:
        account = queries.sender_account(session, self.account_id)
        assert account is not None
        return inbox.ingest(session, account, page, self.clock.now(), self.options)

    def _record_error(self, error: str, session: Session) -> None:
        queries.record_error(session, self.account_id, error, self.clock.now())


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
