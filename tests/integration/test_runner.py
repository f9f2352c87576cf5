"""The runner of claimed work owns the transactions: a step is committed or rolled back as a
whole, a read commits nothing, steps run one at a time, and inside a caller's transaction
each step is a savepoint the caller's rollback undoes."""

from __future__ import annotations

import threading
import time

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from outreach.contacts import lists
from outreach.contacts.models import ContactList
from outreach.db import session_factory
from outreach.runner import Runner


def names(session: Session) -> list[str]:
    session.expire_all()
    return sorted(session.scalars(sa.select(ContactList.name)))


def test_a_step_is_committed_and_its_rows_stay_readable(session, connection, clock):
    with Runner(session_factory(connection)) as runner:
        made = runner.step(lambda s: lists.create(s, "Spring", None, clock.now()))
    assert made.name == "Spring"  # detached, but loaded
    assert names(session) == ["Spring"]


def test_a_failing_step_writes_nothing_and_the_next_one_goes_on(session, connection, clock):
    def half_done(s: Session) -> None:
        lists.create(s, "Half", None, clock.now())
        raise RuntimeError("the provider hung up")

    with Runner(session_factory(connection)) as runner:
        with pytest.raises(RuntimeError, match="hung up"):
            runner.step(half_done)
        runner.step(lambda s: lists.create(s, "Whole", None, clock.now()))
    assert names(session) == ["Whole"]


def test_a_read_commits_nothing_and_what_it_read_stays_usable(session, connection, clock):
    def reading_and_writing(s: Session) -> ContactList:
        lists.create(s, "Stray", None, clock.now())
        return lists.create(s, "Read", None, clock.now())

    with Runner(session_factory(connection)) as runner:
        read = runner.read(reading_and_writing)
    assert read.name == "Read"
    assert names(session) == []


def test_steps_run_one_at_a_time_whichever_thread_asks(connection, clock):
    inside = []
    overlapped = threading.Event()

    def slow(s: Session) -> None:
        inside.append(1)
        if len(inside) > 1:
            overlapped.set()
        time.sleep(0.05)
        inside.pop()

    with Runner(session_factory(connection)) as runner:
        threads = [threading.Thread(target=runner.step, args=(slow,)) for _ in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert not overlapped.is_set()


def test_inside_a_callers_transaction_a_failing_step_undoes_only_itself(session, clock):
    def half_done(s: Session) -> None:
        lists.create(s, "Half", None, clock.now())
        raise RuntimeError("refused")

    runner = Runner.inside(session)
    runner.step(lambda s: lists.create(s, "Kept", None, clock.now()))
    with pytest.raises(RuntimeError, match="refused"):
        runner.step(half_done)
    assert names(session) == ["Kept"]
    session.rollback()
    assert names(session) == []
