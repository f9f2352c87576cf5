"""What each request of the web-under-load mix costs the web process in CPU, one at a time.

    .venv/bin/python bench/request_cost.py [--backend sqlite|postgresql|both] [--contacts 30000]
        [--sent 6000] [--requests 20]

bench/web_under_load.py measures latency with 20 clients asking back to back, which on a shared
2-core machine says as much about the machine as about the code. This script measures what the
latency there is made of: the same database (web_under_load.seed: a running campaign of
`contacts` enrollments, `sent` of them sent by the real worker to an SMTP server on loopback),
then each kind of request of that mix `requests` times through the app in this process, timed by
the process's CPU clock (the app's thread and the test client's).

The budget: 20 clients asking back to back keep the web busy, so a request's mean latency is
about 20 times the mean CPU a request costs on one core, and p95 is about twice the mean; for a
p95 of 500 ms a request may cost 500 / (2 x 20) = 12.5 ms on average
(`ratio request_cpu_over_budget_<backend>`, <= 1 to meet web_under_load's goal on one core).
The cost includes the test client's own, which a browser elsewhere does not put on the server,
and leaves out uvicorn's parsing of HTTP: the floor printed (`/healthz`, a route that does
nothing) shows how much of each figure is the client and the framework.
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from starlette.testclient import TestClient

sys.path.insert(0, str(Path(__file__).resolve().parent))
import web_under_load as load

from outreach.config import Settings
from outreach.container import build_container
from outreach.web.app import create_app
from outreach.web.deps import SESSION_COOKIE
from tests.smtp_server import RecordingSMTPServer

CLIENTS = 20
BUDGET_MS = load.CEILING_MS / (2 * CLIENTS)


def send_some(environment: dict[str, str], server: RecordingSMTPServer, sent: int) -> int:
    """Runs the real worker until `sent` emails arrived (or two minutes passed)."""
    worker = subprocess.Popen(
        [sys.executable, "-m", "outreach", "worker"],
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 120
    while len(server.messages) < sent and time.monotonic() < deadline:
        time.sleep(0.2)
    worker.send_signal(signal.SIGTERM)
    worker.wait(timeout=60)
    return len(server.messages)


def run(backend: str, options: argparse.Namespace, folder: Path) -> None:
    url, name = load.database(backend, folder)
    settings = Settings(
        _env_file=None,
        DATABASE_URL=url,
        OUTREACH_DATA_DIR=folder,
        OUTREACH_SECRET_KEY=load.SECRET_KEY,
        OUTREACH_BASE_URL="https://o.example",
    )
    environment = {
        **os.environ,
        "PYTHONPATH": str(load.ROOT / "src"),
        "DATABASE_URL": url,
        "OUTREACH_DATA_DIR": str(folder),
        "OUTREACH_SECRET_KEY": load.SECRET_KEY,
        "OUTREACH_BASE_URL": "https://o.example",
        "OUTREACH_BACKUPS": "false",
    }
    try:
        with RecordingSMTPServer() as server:
            seeded = load.seed(settings, server.port, options.contacts, 1)
            sent = send_some(environment, server, options.sent)
        container = build_container(settings)
        try:
            client = TestClient(create_app(container))
            costs = measure(client, seeded, options.requests)
            floor = cost_of(client, "/healthz", None, options.requests)
        finally:
            container.close()
    finally:
        load.drop(name)
    print(f"{backend}: {options.contacts:,} enrollments, {sent:,} sent")
    for kind, cost in costs.items():
        print(f"    {kind:<16} {cost:6.1f} ms")
    mean = statistics.fmean(costs.values())
    print(
        f"{backend}: mean over the mix {mean:.1f} ms; budget {BUDGET_MS:.1f} ms; floor {floor:.1f} ms"
    )
    print(f"ratio request_cpu_over_budget_{backend}: {mean / BUDGET_MS:.2f}")


def measure(client: TestClient, seeded: load.Seeded, requests: int) -> dict[str, float]:
    """Milliseconds of CPU per request of each kind, after one request to warm it."""
    client.cookies.set(SESSION_COOKIE, seeded.session_tokens[0])
    bearer = {"Authorization": f"Bearer {seeded.api_token}"}
    costs = {}
    for kind, path, api in load.paths(seeded):
        headers = bearer if api else None
        costs[kind] = cost_of(client, path, headers, requests)
    return costs


def cost_of(client: TestClient, path: str, headers: dict[str, str] | None, requests: int) -> float:
    if client.get(path, headers=headers).status_code != 200:
        raise SystemExit(f"{path} did not answer 200")
    began = time.process_time()
    for _ in range(requests):
        client.get(path, headers=headers)
    return (time.process_time() - began) / requests * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--contacts", type=int, default=30000)
    parser.add_argument("--sent", type=int, default=6000)
    parser.add_argument("--requests", type=int, default=20)
    options = parser.parse_args()
    backends = ["sqlite", "postgresql"] if options.backend == "both" else [options.backend]
    with tempfile.TemporaryDirectory() as scratch:
        for backend in backends:
            (Path(scratch) / backend).mkdir()
            run(backend, options, Path(scratch) / backend)


if __name__ == "__main__":
    main()
