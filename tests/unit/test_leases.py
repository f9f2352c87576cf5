"""Worker leases: a worker is gone when it has no lease, when its process is gone from this
host, or when its lease ran out on another host; never while its process runs here, and never
in its own eyes."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from outreach.leases import Lease, Worker, lapsed, process_running

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
ME = Worker("here:100:aaaaaa", "here", 100)

hosts = st.sampled_from(["here", "there"])
pids = st.integers(1, 2**22)
offsets = st.integers(-(10**6), 10**6).map(lambda seconds: timedelta(seconds=seconds))
runs = st.booleans()


def lease(host: str, pid: int, offset: timedelta, name: str = "other") -> Lease:
    return Lease(name, host, pid, NOW + offset)


def test_a_worker_without_a_lease_is_gone():
    assert lapsed(None, ME, NOW, lambda pid: True)


@given(hosts, pids, offsets, runs)
def test_my_own_lease_never_lapses_in_my_eyes(host, pid, offset, running):
    mine = lease(host, pid, offset, name=ME.name)
    assert not lapsed(mine, ME, NOW, lambda _: running)


@given(pids, offsets, runs)
def test_on_another_host_only_the_lease_counts(pid, offset, running):
    assert lapsed(lease("there", pid, offset), ME, NOW, lambda _: running) == (
        offset <= timedelta(0)
    )


@given(pids.filter(lambda pid: pid != ME.pid), offsets, runs)
def test_on_this_host_only_the_process_counts_however_old_the_lease(pid, offset, running):
    assert lapsed(lease("here", pid, offset), ME, NOW, lambda _: running) == (not running)


@given(offsets)
def test_a_predecessor_that_had_my_pid_is_gone_though_that_pid_runs(offset):
    assert lapsed(lease("here", ME.pid, offset), ME, NOW, lambda _: True)


def test_a_process_is_running_until_it_ends():
    assert process_running(os.getpid())
    ended = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    assert not process_running(int(ended.stdout))
    assert not process_running(0)
    assert not process_running(-1)


def test_each_process_is_one_worker_with_a_name_of_its_own():
    me = Worker.this_process()
    assert me is Worker.this_process()
    assert (me.pid, me.name.startswith(f"{me.host}:{me.pid}:")) == (os.getpid(), True)
