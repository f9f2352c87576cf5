"""Worker leases: whether the worker that took something is still there to finish it.

Every process that takes deliveries for sending holds a lease (a row naming its host and pid,
renewed by a heartbeat while it works). What it took is settled by someone else only when its
lease says it is gone, and then at once, with no fixed wait:
* no lease row at all (the row was never written, or the data came from another database);
* on the same host: its process is no longer running (a pid that is mine but a name that is
  not is a predecessor that had my pid, as a restarted container's first process does);
* on another host: its lease ran out without a heartbeat.
A worker on this host whose process runs is never taken to have stopped, however old its claims
and whatever its lease says (a pass at a pretended time writes leases at that time). Host names
must tell hosts apart, as each container's own host name does.

No clock and no I/O here but `process_running`: callers pass `now` and that function.
"""

from __future__ import annotations

import os
import secrets
import socket
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import cache


@dataclass(frozen=True)
class Worker:
    """Who takes work: stored on what it takes (`claimed_by`) and on its lease."""

    name: str
    host: str
    pid: int

    @staticmethod
    @cache
    def this_process() -> Worker:
        """This process, one name for its whole life: host, pid and a token of its own, so that
        a later process given the same pid is someone else."""
        host, pid = socket.gethostname(), os.getpid()
        return Worker(f"{host}:{pid}:{secrets.token_hex(3)}", host, pid)


@dataclass(frozen=True)
class Lease:
    """A worker's lease as read from its row."""

    worker: str
    host: str
    pid: int
    lease_until: datetime


def lapsed(lease: Lease | None, me: Worker, now: datetime, running: Callable[[int], bool]) -> bool:
    """Whether the worker holding `lease` is gone, as `me` sees it at `now` (see the module's
    docstring). My own lease never lapses: only I know which of my claims are in flight."""
    if lease is None:
        return True
    if lease.worker == me.name:
        return False
    if lease.host == me.host:
        return lease.pid == me.pid or not running(lease.pid)
    return lease.lease_until <= now


def process_running(pid: int) -> bool:
    """Whether a process with this pid runs on this host (another user's counts too)."""
    if pid <= 0:  # kill(0) and kill(-n) signal process groups, not one process
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return False
    return True
