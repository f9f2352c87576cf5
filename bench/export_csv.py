"""CSV export of contacts at a million: peak memory and time, from the CLI and the web.

    .venv/bin/python bench/export_csv.py [--rows 1000000] [--members 1000]

PostgreSQL only (the baseline, psql's \\copy, exists only there).

Setup, not timed: a fresh migrated database, `rows` contacts filled by COPY as
bench/export_import.py fills them (8 original columns each), a list of `members` of them
(spread over the whole address range), an admin and a signed-in session.

Measured in the same run, each as a user runs it, in a process of its own:
- CLI: `outreach contacts export FILE`: wall time and the process's peak RSS;
- web: `outreach serve`, GET /contacts/export.csv read in 64 KiB pieces: wall time, and the
  serve process's peak RSS (VmHWM) after the download, against its peak before it;
- a list's export: `outreach contacts export --list NAME FILE`: wall time and rows, which says
  whether it read its members or every contact;
- baseline: psql's `\\copy (SELECT ... ORDER BY lower(email)) TO FILE CSV` of the same columns.

Goal: every export's peak RSS under 200 MB (`ratio ..._peak_rss_over_ceiling` ≤ 1). Before
exports streamed, the web's download of a million contacts peaked at 1.03 GB.
"""

from __future__ import annotations

import argparse
import http.client
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from export_import import drop_database, fill, fresh_database

from outreach.access import service as access
from outreach.access.models import Role
from outreach.db import create_engine, session_factory, transaction
from outreach.web.deps import SESSION_COOKIE

CEILING_MB = 200.0
SECRET_KEY = "bench-" + "k7Q2xL9pR4mZ8vN3wB6tY1cD5"
LIST_NAME = "Bench list"


def add_list(url: str, members: int) -> None:
    """A list of `members` contacts, every (rows / members)-th in address order."""
    list_id = uuid.uuid4()
    with psycopg.connect(url) as connection:
        connection.execute(
            "INSERT INTO contact_lists (id, name) VALUES (%s, %s)", (list_id, LIST_NAME)
        )
        connection.execute(
            "INSERT INTO contact_list_members (id, contact_id, list_id) "
            "SELECT gen_random_uuid(), id, %s FROM ("
            "  SELECT id, row_number() OVER (ORDER BY lower(email)) AS n FROM contacts"
            ") numbered WHERE n %% greatest(1, (SELECT count(*) FROM contacts) / %s) = 0 "
            "LIMIT %s",
            (list_id, members, members),
        )
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute("VACUUM ANALYZE contact_lists, contact_list_members")


def signed_in_cookie(url: str) -> str:
    engine = create_engine(url)
    try:
        with transaction(session_factory(engine)) as session:
            user = access.create_user(
                session, "admin@ourco.example", "a long bench password", Role.admin
            )
            now = datetime.now(UTC)
            return access.start_session(session, user, now, timedelta(days=1), "bench")
    finally:
        engine.dispose()


def environment(url: str, folder: Path, port: int = 8000) -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONPATH": str(ROOT / "src"),
        "DATABASE_URL": url,
        "OUTREACH_DATA_DIR": str(folder),
        "OUTREACH_SECRET_KEY": SECRET_KEY,
        "OUTREACH_PORT": str(port),
    }


def cli_export(url: str, folder: Path, *options: str) -> tuple[float, float, int]:
    """Seconds, peak RSS in MB and rows of `outreach contacts export`."""
    target = folder / "contacts.csv"
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "outreach", "contacts", "export", *options, str(target)],
        env=environment(url, folder),
        cwd=folder,
        stdout=subprocess.DEVNULL,
    )
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    if status:
        raise SystemExit(f"outreach contacts export {' '.join(options)} failed")
    with target.open("rb") as written:
        rows = sum(1 for _ in written) - 1
    return seconds, usage.ru_maxrss / 1024, rows


def web_export(url: str, folder: Path, cookie: str) -> tuple[float, float, float, int]:
    """Seconds, the server's peak RSS in MB before and after, and bytes of the download."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "outreach", "serve"],
        env=environment(url, folder, port),
        cwd=folder,
        stdout=subprocess.DEVNULL,
    )
    try:
        wait_until_it_answers(port, server)
        before = peak_rss_mb(server.pid)
        started = time.perf_counter()
        received = download(port, cookie)
        seconds = time.perf_counter() - started
        return seconds, before, peak_rss_mb(server.pid), received
    finally:
        server.terminate()
        server.wait(timeout=30)


def wait_until_it_answers(port: int, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            connection.request("GET", "/healthz")
            connection.getresponse().read()
            return
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("outreach serve did not start") from None
            time.sleep(0.1)


def download(port: int, cookie: str) -> int:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    connection.request(
        "GET", "/contacts/export.csv", headers={"Cookie": f"{SESSION_COOKIE}={cookie}"}
    )
    response = connection.getresponse()
    if response.status != 200:
        raise SystemExit(f"the download answered {response.status}")
    received = 0
    while piece := response.read(65536):
        received += len(piece)
    return received


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise SystemExit("no VmHWM in /proc: Linux only")


def baseline(url: str, folder: Path) -> float:
    query = (
        "SELECT email, name, first_name, last_name, company, title, timezone, website, "
        "role_address, created_at, raw_data FROM contacts ORDER BY lower(email)"
    )
    psql = shutil.which("psql") or "/usr/bin/psql"
    started = time.perf_counter()
    subprocess.run(
        [psql, "-X", "-q", url, "-c", f"\\copy ({query}) TO '{folder / 'base.csv'}' CSV"],
        check=True,
    )
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--members", type=int, default=1_000)
    options = parser.parse_args()
    if options.rows < 1 or not 1 <= options.members <= options.rows:
        parser.error("--rows must be at least 1, --members from 1 to --rows")
    url, name = fresh_database()
    try:
        with tempfile.TemporaryDirectory() as scratch:
            folder = Path(scratch)
            fill(url, options.rows)
            add_list(url, options.members)
            cookie = signed_in_cookie(url)
            print(f"setup: {options.rows:,} contacts, a list of {options.members:,}")
            base = baseline(url, folder)
            print(f"psql \\copy: {options.rows:,} rows in {base:.2f} s")
            seconds, peak, rows = cli_export(url, folder)
            print(f"CLI export: {rows:,} rows in {seconds:.2f} s, peak RSS {peak:.0f} MB")
            print(f"ratio cli_speed_over_psql: {base / seconds:.2f}")
            print(f"ratio cli_peak_rss_over_ceiling: {peak / CEILING_MB:.2f}")
            seconds, before, peak, received = web_export(url, folder, cookie)
            print(
                f"web download: {received / 1e6:,.0f} MB in {seconds:.2f} s, server peak RSS "
                f"{peak:.0f} MB (before the download {before:.0f} MB)"
            )
            print(f"ratio web_peak_rss_over_ceiling: {peak / CEILING_MB:.2f}")
            seconds, peak, rows = cli_export(url, folder, "--list", LIST_NAME)
            print(f"a list's CLI export: {rows:,} rows in {seconds:.2f} s, peak RSS {peak:.0f} MB")
    finally:
        drop_database(name)


if __name__ == "__main__":
    main()
