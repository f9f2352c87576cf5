"""The worker's sending rate and the web app's latency while people use the app during sending.

    .venv/bin/python bench/web_under_load.py [--backend sqlite|postgresql|both] [--clients 20]
        [--load-seconds 30] [--alone-seconds 10] [--contacts 30000]

A fresh database (a SQLite file, or a PostgreSQL database dropped after) holds a running
campaign of `contacts` due enrollments, one step, no window, limit or spacing, sending through
an SMTP account to an aiosmtpd server on loopback that answers at once, in a process of its own.
The real web app (`outreach serve`, uvicorn) and the real worker (`outreach worker`) run in
processes of their own, as deployed. Measured in the same run, by the messages the SMTP server
received:

1. the worker alone for `alone-seconds`, before and again after the load: its rate alone is
   both windows together;
2. the worker while `clients` signed-in people (httpx, each with a session of its own, one
   request after another with no pause) load pages and the API for `load-seconds`: home,
   contacts (a page, a search), campaigns and the campaign's page, drafts, sends, and the API's
   contacts, campaign, enrollments and deliveries;
3. the web's latency during that load: p50, p95 and the slowest request, per kind too.

Goals: the worker keeps at least half its rate alone (`ratio worker_rate_under_load`, ≥ 0.5)
and the web's p95 stays under 500 ms (`ratio web_p95_over_ceiling`, ≤ 1). The CPU seconds each
process used in each phase (from /proc) say where the machine's cores went.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import time as clock_time
from datetime import timedelta
from pathlib import Path
from typing import IO

import httpx2 as httpx
import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from outreach.access import service as access
from outreach.access.models import Role
from outreach.campaigns import service as campaigns
from outreach.config import Settings
from outreach.contacts import importing, lists
from outreach.container import build_container
from outreach.db import transaction
from outreach.runner import Runner
from outreach.schema import upgrade
from outreach.senders import service as senders
from outreach.web.deps import SESSION_COOKIE
from tests.smtp_server import RecordingSMTPServer

PG_URL = os.environ.get("OUTREACH_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
SECRET_KEY = "bench-" + "k7Q2xL9pR4mZ8vN3wB6tY1cD5"
CEILING_MS = 500.0
BODY = "Hi {{ first_name | default('there') }},\n\nA short, plain note.\n\nBest,\nMe\n"
EVERY_DAY = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]


@dataclass(frozen=True)
class Seeded:
    campaign_id: uuid.UUID
    session_tokens: list[str]
    api_token: str


@dataclass
class Latencies:
    by_kind: dict[str, list[float]] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)

    def add(self, kind: str, seconds: float, status: int) -> None:
        self.by_kind.setdefault(kind, []).append(seconds)
        if status != 200:
            self.errors[f"{kind} {status}"] = self.errors.get(f"{kind} {status}", 0) + 1

    def all(self) -> list[float]:
        return [seconds for kind in self.by_kind.values() for seconds in kind]


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


# The SMTP server, in a process of its own so that it shares no interpreter with the load.


@contextmanager
def smtp_sink() -> Iterator[tuple[int, int, IO[str], IO[str]]]:
    """Yields its process id, its port, and the pipes to ask it how many messages it
    received."""
    sink = subprocess.Popen(
        [sys.executable, __file__, "--sink"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert sink.stdin is not None
    assert sink.stdout is not None
    try:
        yield sink.pid, int(sink.stdout.readline()), sink.stdin, sink.stdout
    finally:
        sink.stdin.close()
        sink.wait(timeout=30)


def serve_sink() -> None:
    # It stands for a relay on another machine: starved of CPU by the load on this one, it
    # would slow the worker down by its own answers, not the worker's work.
    with suppress(PermissionError):
        os.nice(-10)
    with RecordingSMTPServer() as server:
        print(server.port, flush=True)
        for _ in sys.stdin:
            print(len(server.messages), flush=True)


def received(pipes: tuple[IO[str], IO[str]]) -> int:
    ask, answer = pipes
    ask.write("count\n")
    ask.flush()
    return int(answer.readline())


# The database.


def database(backend: str, folder: Path) -> tuple[str, str | None]:
    if backend == "sqlite":
        return f"sqlite:///{folder / f'load-{uuid.uuid4().hex}.db'}", None
    name = f"outreach_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    return PG_URL.rsplit("/", 1)[0] + "/" + name, name


def drop(name: str | None) -> None:
    if name:
        with psycopg.connect(PG_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def seed(settings: Settings, smtp_port: int, contacts: int, clients: int) -> Seeded:
    """A migrated database with a user signed in once per client, an API token, and a campaign
    launched now (by the real clock, which the worker follows) with `contacts` due."""
    container = build_container(settings)
    now = container.clock.now()
    upgrade(container.engine)
    try:
        with transaction(container.sessions) as session:
            user = access.create_user(
                session, "admin@ourco.example", "a long bench password", Role.admin
            )
            tokens = [
                access.start_session(session, user, now, timedelta(days=1), "bench")
                for _ in range(clients)
            ]
            api_token = access.issue_api_token(session, user, "bench", now).secret
            account = senders.add(
                session,
                kind=senders.SenderKind.smtp,
                email="me@ourco.example",
                display_name=None,
                secret_key=settings.secret_key_value(),
                smtp=senders.SmtpSettings("127.0.0.1", smtp_port, "none"),
                now=now,
            )
            audience = lists.create(session, "Everyone", None, now)
            path = settings.data_dir / f"{uuid.uuid4().hex}.csv"
            path.write_text(
                "email,first_name,company\n"
                + "".join(f"p{n}@example.com,Pat{n},Company {n % 500}\n" for n in range(contacts))
            )
            batch, _ = importing.create_upload(
                session, path=path, file_name="people.csv", sheet=None, now=now
            )
            importing.confirm(session, batch.id, list_id=audience.id)
            importing.claim(session, now, batch.id)
            importing.run(Runner.inside(session), batch.id, container.clock)
            found = campaigns.create(
                session, name="Bench", list_id=audience.id, sender_ids=[account.id], now=now
            )
            campaigns.add_step(session, found.id, subject="Hello {{ company }}", body=BODY)
            campaigns.update_settings(
                session,
                found.id,
                campaigns.SettingsChange(
                    send_window_start=clock_time(0),
                    send_window_end=clock_time(0),
                    send_days=EVERY_DAY,
                    daily_limit=100_000,
                    delay_between_emails_seconds=0,
                    jitter_seconds=0,
                ),
            )
            campaigns.launch(session, found.id, now)
        return Seeded(found.id, tokens, api_token)
    finally:
        container.close()


# The app's processes.


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def outreach(
    command: str, environment: dict[str, str], log: Path
) -> Iterator[subprocess.Popen[bytes]]:
    """`outreach <command>` in a process of its own, stopped with SIGTERM (a worker finishes
    its pass) at the end."""
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "outreach", command],
            env=environment,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        try:
            yield process
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def wait_until_ready(base_url: str, web: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if web.poll() is not None:
            raise SystemExit(f"the web app stopped: {log.read_text()[-2000:]}")
        try:
            if httpx.get(f"{base_url}/readyz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise SystemExit("the web app did not answer within 60 s")


def cpu_seconds(pid: int) -> float:
    """User and system time of a process (all its threads) so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# The people using the app.


def paths(seeded: Seeded) -> list[tuple[str, str, bool]]:
    """(kind, path, through the API) in the order each client goes round them."""
    campaign = seeded.campaign_id
    return [
        ("home", "/", False),
        ("contacts", "/contacts", False),
        ("api contacts", "/api/v1/contacts?limit=50", True),
        ("campaign", f"/campaigns/{campaign}", False),
        ("contacts search", "/contacts?q=pat12", False),
        ("api campaign", f"/api/v1/campaigns/{campaign}", True),
        ("drafts", "/drafts", False),
        ("campaigns", "/campaigns", False),
        ("api enrollments", f"/api/v1/campaigns/{campaign}/enrollments?limit=50", True),
        ("sends", "/sends", False),
        ("api deliveries", "/api/v1/deliveries?status=sent", True),
        ("api campaigns", "/api/v1/campaigns", True),
    ]


async def one_person(
    base_url: str, cookie: str, seeded: Seeded, start: int, until: float, seen: Latencies
) -> None:
    rounds = paths(seeded)
    bearer = {"Authorization": f"Bearer {seeded.api_token}"}
    async with httpx.AsyncClient(
        base_url=base_url, cookies={SESSION_COOKIE: cookie}, timeout=60
    ) as client:
        turn = start
        while time.monotonic() < until:
            kind, path, api = rounds[turn % len(rounds)]
            turn += 1
            began = time.perf_counter()
            try:
                status = (await client.get(path, headers=bearer if api else None)).status_code
            except httpx.TransportError:
                status = 0  # the connection broke: counted as an error
            seen.add(kind, time.perf_counter() - began, status)


async def people(base_url: str, seeded: Seeded, seconds: float) -> Latencies:
    seen = Latencies()
    until = time.monotonic() + seconds
    await asyncio.gather(
        *(
            one_person(base_url, cookie, seeded, n, until, seen)
            for n, cookie in enumerate(seeded.session_tokens)
        )
    )
    return seen


# One run.


@dataclass
class Phase:
    """Messages received and CPU seconds per process over one phase."""

    seconds: float
    messages: int
    cpu: dict[str, float]

    @property
    def rate(self) -> float:
        return self.messages / self.seconds


class Meter:
    def __init__(self, pipes: tuple[IO[str], IO[str]], processes: dict[str, int]) -> None:
        self._pipes = pipes
        self._processes = processes

    def reading(self) -> tuple[float, int, dict[str, float]]:
        cpu = {name: cpu_seconds(pid) for name, pid in self._processes.items()}
        return time.monotonic(), received(self._pipes), cpu

    def phase(self, before: tuple[float, int, dict[str, float]]) -> Phase:
        at, count, cpu = self.reading()
        return Phase(at - before[0], count - before[1], {k: cpu[k] - before[2][k] for k in cpu})


def run(backend: str, options: argparse.Namespace, folder: Path) -> None:
    url, name = database(backend, folder)
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    data = folder / backend
    data.mkdir()
    environment = {
        **os.environ,
        "PYTHONPATH": str(ROOT / "src"),
        "DATABASE_URL": url,
        "OUTREACH_DATA_DIR": str(data),
        "OUTREACH_SECRET_KEY": SECRET_KEY,
        "OUTREACH_BASE_URL": "https://o.example",
        "OUTREACH_HOST": "127.0.0.1",
        "OUTREACH_PORT": str(port),
        "OUTREACH_BACKUPS": "false",
    }
    settings = Settings(
        _env_file=None,
        DATABASE_URL=url,
        OUTREACH_DATA_DIR=data,
        OUTREACH_SECRET_KEY=SECRET_KEY,
        OUTREACH_BASE_URL="https://o.example",
    )
    try:
        with smtp_sink() as (sink, smtp_port, ask, answer):
            seeded = seed(settings, smtp_port, options.contacts, options.clients)
            with (
                outreach("serve", environment, data / "web.log") as web,
                outreach("worker", environment, data / "worker.log") as worker,
            ):
                wait_until_ready(base_url, web, data / "web.log")
                meter = Meter(
                    (ask, answer),
                    {
                        "web": web.pid,
                        "worker": worker.pid,
                        "smtp": sink,
                        "load": os.getpid(),
                    },
                )
                while received((ask, answer)) == 0:
                    if worker.poll() is not None:
                        raise SystemExit((data / "worker.log").read_text()[-2000:])
                    time.sleep(0.1)
                time.sleep(1)  # past the first pass's planning
                started = meter.reading()
                time.sleep(options.alone_seconds)
                alone_before = meter.phase(started)
                started = meter.reading()
                print(
                    f"{backend}: {options.clients} clients for {options.load_seconds:g} s",
                    file=sys.stderr,
                    flush=True,
                )
                seen = asyncio.run(people(base_url, seeded, options.load_seconds))
                loaded = meter.phase(started)
                started = meter.reading()
                time.sleep(options.alone_seconds)
                alone_after = meter.phase(started)
                left = options.contacts - received((ask, answer))
        if seen.errors:
            print((data / "web.log").read_text()[-3000:])
        report(backend, options, alone_before, loaded, alone_after, seen, left)
    finally:
        drop(name)


def report(
    backend: str,
    options: argparse.Namespace,
    before: Phase,
    loaded: Phase,
    after: Phase,
    seen: Latencies,
    left: int,
) -> None:
    alone = (before.messages + after.messages) / (before.seconds + after.seconds)
    if left <= 0:
        print(f"{backend}: the campaign ran out of emails: raise --contacts")
    print(
        f"{backend}: worker alone: {alone:,.0f} emails/s"
        f" ({before.rate:,.0f} before the load, {after.rate:,.0f} after, "
        f"{options.alone_seconds:g} s each)"
    )
    print(
        f"{backend}: worker under load: {loaded.rate:,.0f} emails/s"
        f" ({loaded.messages:,} in {loaded.seconds:.1f} s, {options.clients} clients)"
    )
    every = seen.all()
    p50, p95 = percentile(every, 0.5) * 1000, percentile(every, 0.95) * 1000
    print(
        f"{backend}: web under load: {len(every):,} requests, {len(every) / loaded.seconds:,.1f}/s,"
        f" p50 {p50:,.0f} ms, p95 {p95:,.0f} ms, max {max(every) * 1000:,.0f} ms,"
        f" errors {sum(seen.errors.values())} {seen.errors or ''}"
    )
    print(
        f"{backend}: the web's CPU per request: {loaded.cpu['web'] / len(every) * 1000:,.0f} ms;"
        f" the worker's per email: {before.cpu['worker'] / max(before.messages, 1) * 1000:.1f} ms"
        f" alone, {loaded.cpu['worker'] / max(loaded.messages, 1) * 1000:.1f} ms under load"
    )
    for kind, values in seen.by_kind.items():
        print(
            f"    {kind:<16} {len(values):>5}  p50 {percentile(values, 0.5) * 1000:7,.0f} ms"
            f"  p95 {percentile(values, 0.95) * 1000:7,.0f} ms  max {max(values) * 1000:7,.0f} ms"
            f"  mean {statistics.fmean(values) * 1000:7,.0f} ms"
        )
    for label, phase in (("alone before", before), ("under load", loaded), ("alone after", after)):
        shares = ", ".join(f"{k} {v / phase.seconds:.2f}" for k, v in phase.cpu.items())
        print(f"{backend}: cores used {label}: {shares}")
    print(f"ratio worker_rate_under_load_{backend}: {loaded.rate / alone:.2f}")
    print(f"ratio web_p95_over_ceiling_{backend}: {p95 / CEILING_MS:.2f}")


def main() -> None:
    if sys.argv[1:] == ["--sink"]:
        serve_sink()
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--load-seconds", type=float, default=30.0)
    parser.add_argument("--alone-seconds", type=float, default=10.0)
    parser.add_argument("--contacts", type=int, default=30000)
    options = parser.parse_args()
    backends = ["sqlite", "postgresql"] if options.backend == "both" else [options.backend]
    with tempfile.TemporaryDirectory() as scratch:
        for backend in backends:
            run(backend, options, Path(scratch))


if __name__ == "__main__":
    main()
