"""Claimed work: claim rows, do the slow part with no transaction open, record the outcome.

Sending, writing drafts, importing contacts and reading mailboxes all work this way
(convention 3): a short transaction claims rows (a conditional UPDATE that a second claimer
loses), the slow part — a provider's network call, a draft writer, reading a file — runs with
no transaction open, and another short transaction records what came of it. When work is
tried again and when a claim is stale is a RetryPolicy's decision (retry.py).

A Runner owns those transactions, so the domain code it runs only flushes: each `step` is a
function of a session, which the runner commits, or rolls back and raises. One session serves
a runner's whole run (a sending pass's rounds must not pay for a session and a connection
each); after each step nothing stays loaded in it, so the next step reads afresh and a commit
has no loaded rows to look through. Steps run one at a time whichever thread calls them (a
sending thread stores a provider's id while the calling thread records a round); they do not
nest.

`Runner.inside(session)` runs the steps in a transaction the caller owns instead (a dry run
rolled back at the end, a test): each step is a savepoint, flushed and never committed.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy.orm import Session, sessionmaker

from outreach.db import READ_ONLY

T = TypeVar("T")


class Runner:
    """The transactions of one run of claimed work (see the module's docstring)."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._session = sessions()
        self._lock = threading.Lock()

    @staticmethod
    def inside(session: Session) -> Runner:
        """Steps in the caller's transaction: savepoints, flushed, never committed."""
        return _Inside(session)

    def __enter__(self) -> Runner:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._session.close()

    def step(self, write: Callable[[Session], T]) -> T:
        """One short transaction: `write` flushes, the runner commits; on any error it rolls
        back and raises."""
        with self._lock:
            try:
                result = write(self._session)
                self._session.commit()
            except BaseException:
                self._session.rollback()
                raise
            finally:
                self._session.expunge_all()
            return result

    def read(self, query: Callable[[Session], T]) -> T:
        """A step that writes nothing: ended without a commit. What it returns stays usable
        (loaded rows keep their values)."""
        with self._lock:
            try:
                # Begun without SQLite's write lock: a read must not hold off the web's writes.
                self._session.connection(execution_options={READ_ONLY: True})
                return query(self._session)
            finally:
                # Detached first: a rollback would expire what the query loaded.
                self._session.expunge_all()
                self._session.rollback()


class _Inside(Runner):
    """A runner whose steps are savepoints in a transaction its caller owns."""

    def __init__(self, session: Session) -> None:
        self._session = session
        self._lock = threading.Lock()

    def close(self) -> None:
        """The caller's session stays open: the caller ends its transaction."""

    def step(self, write: Callable[[Session], T]) -> T:
        with self._lock, self._session.begin_nested():
            return write(self._session)

    def read(self, query: Callable[[Session], T]) -> T:
        with self._lock:
            return query(self._session)
