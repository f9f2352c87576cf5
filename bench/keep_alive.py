"""A kept-alive connection against a new connection per request, on the real `outreach run`.

    .venv/bin/python bench/keep_alive.py [--requests 200]

`outreach run` starts in a process of its own on a fresh SQLite data folder and a free loopback
port. Then, in the same run, `requests` GETs of /healthz (no database, a few bytes: what is
measured is the connection, not the app):
- kept alive: one http.client connection for every request, as browsers and API clients do;
- new connection: a connection opened and closed around each request.

Goal: kept-alive responses as fast as new connections: `ratio kept_alive_over_new_connection`
(p50 against p50) ≤ 1. Before TCP_NODELAY was set on served connections it was about 27
(44 ms against 1.6 ms): Nagle's algorithm held each response's last segment until the
client's delayed ACK.
"""

from __future__ import annotations

import argparse
import http.client
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SECRET_KEY = "bench-" + "k7Q2xL9pR4mZ8vN3wB6tY1cD5"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def outreach_running(folder: Path) -> Iterator[int]:
    """`outreach run` on a fresh data folder; yields its port once /healthz answers."""
    port = free_port()
    environment = {
        **os.environ,
        "PYTHONPATH": str(ROOT / "src"),
        "DATABASE_URL": f"sqlite:///{folder / 'outreach.db'}",
        "OUTREACH_DATA_DIR": str(folder),
        "OUTREACH_SECRET_KEY": SECRET_KEY,
        "OUTREACH_PORT": str(port),
        "OUTREACH_BACKUPS": "false",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "outreach", "run"],
        env=environment,
        cwd=folder,
        stdout=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while not answers(port):
            if process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("outreach run did not start")
            time.sleep(0.1)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=30)


def answers(port: int) -> bool:
    try:
        get(http.client.HTTPConnection("127.0.0.1", port, timeout=5))
    except OSError:
        return False
    return True


def get(connection: http.client.HTTPConnection) -> None:
    connection.request("GET", "/healthz")
    response = connection.getresponse()
    response.read()
    if response.status != 200:
        raise SystemExit(f"/healthz answered {response.status}")


def kept_alive(port: int, requests: int) -> list[float]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        get(connection)  # opened before timing: every timed request rides it
        return [timed(lambda: get(connection)) for _ in range(requests)]
    finally:
        connection.close()


def new_connections(port: int, requests: int) -> list[float]:
    def one() -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        try:
            get(connection)
        finally:
            connection.close()

    return [timed(one) for _ in range(requests)]


def timed(action: Callable[[], None]) -> float:
    started = time.perf_counter()
    action()
    return (time.perf_counter() - started) * 1000


def describe(name: str, times: list[float]) -> float:
    p50 = statistics.median(times)
    p95 = statistics.quantiles(times, n=20)[-1]
    print(f"{name}: {len(times)} GET /healthz, p50 {p50:.2f} ms, p95 {p95:.2f} ms")
    return p50


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200)
    options = parser.parse_args()
    if options.requests < 2:
        parser.error("--requests must be at least 2")
    with tempfile.TemporaryDirectory() as scratch, outreach_running(Path(scratch)) as port:
        new_connections(port, 10)  # warm: the first requests pay for imports and caches
        alive = describe("kept alive", kept_alive(port, options.requests))
        fresh = describe("new connection", new_connections(port, options.requests))
    print(f"ratio kept_alive_over_new_connection: {alive / fresh:.2f}")


if __name__ == "__main__":
    main()
