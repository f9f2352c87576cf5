"""Sends in doubt, found through their workers' leases: a send left `sending` by a worker that
is gone is unknown as soon as anyone looks (no ten-minute wait), and one of a worker that is
there is never touched, however old."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from datetime import timedelta

import sqlalchemy as sa

from outreach.delivery import queries as delivery_queries
from outreach.delivery.models import WorkerLease
from outreach.delivery.recording import RETRY_POLICY
from outreach.leases import Worker
from outreach.worker.loop import run_until_stopped
from tests.campaign_setup import left_sending

ELSEWHERE = Worker("elsewhere:7:abcdef", "another-host", 7)
"""A worker on another host: only its lease says whether it is there."""


def in_status(session, status):
    session.rollback()  # read what the container's sessions committed
    return delivery_queries.deliveries_in(session, status)


def finished_pid() -> int:
    """The pid of a process that has ended (and been reaped)."""
    ended = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    return int(ended.stdout)


def test_the_sends_of_a_worker_whose_lease_ran_out_are_unknown_at_once(
    session, container, clock, tmp_path, smtp_server
):
    left_sending(session, container, clock, tmp_path, smtp_server.port, ELSEWHERE)
    clock.advance(RETRY_POLICY.lease)  # a minute without a heartbeat, not ten
    assert len(container.settle_lapsed()) == 3
    assert len(in_status(session, "unknown")) == 3
    assert in_status(session, "sending") == []
    assert in_status(session, "queued") == [], "nothing in doubt goes back to be sent again"


def test_the_sends_of_a_worker_without_a_lease_are_unknown_at_once(
    session, container, clock, tmp_path, smtp_server
):
    left_sending(session, container, clock, tmp_path, smtp_server.port, ELSEWHERE, lease=False)
    report = container.sending_pass()
    assert (len(report.unknown), report.sent) == (3, [])
    assert smtp_server.messages == []


def test_a_live_worker_s_old_sends_are_never_touched(
    session, container, clock, tmp_path, smtp_server
):
    left_sending(session, container, clock, tmp_path, smtp_server.port, ELSEWHERE)
    for _ in range(12):  # two hours of heartbeats over sends still in flight
        clock.advance(timedelta(minutes=10))
        delivery_queries.renew_lease(
            session, ELSEWHERE, clock.now(), clock.now() + RETRY_POLICY.lease
        )
        session.commit()
        assert container.settle_lapsed() == []
        assert container.sending_pass().unknown == []
    assert len(in_status(session, "sending")) == 3


def test_a_worker_on_this_host_is_there_while_its_process_runs_whatever_its_lease_says(
    session, container, clock, tmp_path, smtp_server
):
    running_here = Worker("a neighbour", socket.gethostname(), os.getppid())
    left_sending(session, container, clock, tmp_path, smtp_server.port, running_here)
    clock.advance(timedelta(days=1))
    assert container.settle_lapsed() == []
    assert len(in_status(session, "sending")) == 3


def test_a_worker_starting_up_settles_its_predecessor_on_this_host_at_once(
    session, container, clock, tmp_path, smtp_server
):
    predecessor = Worker("predecessor", socket.gethostname(), finished_pid())
    left_sending(session, container, clock, tmp_path, smtp_server.port, predecessor)
    stop = threading.Event()
    stop.set()  # no pass: only what the worker does as it starts
    run_until_stopped(container, stop)
    assert len(in_status(session, "unknown")) == 3


def test_a_pass_that_failed_leaves_nothing_sending_for_the_next_of_the_same_worker(
    session, container, clock, tmp_path, smtp_server
):
    left_sending(session, container, clock, tmp_path, smtp_server.port, container.worker)
    assert container.settle_lapsed() == [], "the worker may still be sending them"
    assert len(container.sending_pass().unknown) == 3


def test_leases_of_workers_long_gone_are_forgotten(
    session, container, clock, tmp_path, smtp_server
):
    left_sending(session, container, clock, tmp_path, smtp_server.port, ELSEWHERE)
    clock.advance(timedelta(days=2))
    container.settle_lapsed()
    session.rollback()
    assert session.scalars(sa.select(WorkerLease.worker)).all() == []
