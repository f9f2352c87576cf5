"""The launch confirmation of a draft campaign over a big list: the page, and its forecast.

    .venv/bin/python bench/launch_page.py [--contacts 100000] [--requests 20]

Per backend (a SQLite file, a PostgreSQL database), a fresh migrated database gets a list of N
contacts imported as a person imports them (a CSV through the import service), one outbox
sender, and a draft campaign over the list with the three steps of tests/campaign_setup.py
(0, 2 and 3 days apart), a daily limit of 1,000. Through the app in process (ASGI TestClient,
signed in), each warmed with 2 requests, then timed `requests` times:

- `GET /campaigns/{id}/launch`, the page: the list's size, what stops the launch (a step that
  renders for none of the members), the button;
- `GET /campaigns/{id}/launch/outlook` as htmx asks for it once the page shows: the forecast,
  which places every email the launch would send (3N).

Goal (issue 17's for every page): the page's p95 ≤ 200 ms on PostgreSQL and ≤ 300 ms on
SQLite; `ratio launch_page_<backend>_over_goal` ≤ 1. The forecast has no goal of its own here:
bench/forecast.py sets its cost against the least a forecast that places each email pays.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

from fastapi.testclient import TestClient

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import volume
from pages import EMAIL, PASSWORD, api_token

from outreach.clock import SystemClock
from outreach.container import build_container
from outreach.db import transaction
from outreach.web.app import create_app, freeze_start_up
from tests.campaign_setup import outbox_sender, three_step_campaign
from tests.web_session import sign_in

GOAL_MS = {"sqlite": 300.0, "postgresql": 200.0}


def people(contacts: int) -> str:
    return "email,name,company,City\n" + "".join(
        f"p{n}@c{n % 5000}.example,Person {n},Company {n % 5000},Lyon\n" for n in range(contacts)
    )


def timed(client: TestClient, path: str, requests: int, headers: dict[str, str]) -> list[float]:
    for _ in range(2):
        client.get(path, headers=headers)
    times = []
    for _ in range(requests):
        started = time.perf_counter()
        response = client.get(path, headers=headers)
        times.append((time.perf_counter() - started) * 1000)
        if response.status_code != 200:
            raise SystemExit(f"{path}: {response.status_code}")
    return times


def p95(times: list[float]) -> float:
    return statistics.quantiles(times, n=20, method="inclusive")[-1]


def measure(backend: str, url: str, folder: Path, contacts: int, requests: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    container = build_container(volume.settings(url, folder), SystemClock())
    try:
        api_token(container)  # makes the bench's admin
        with transaction(container.sessions) as session:
            account = outbox_sender(session, container)
            started = time.perf_counter()
            campaign = three_step_campaign(
                session,
                container.clock,
                folder,
                [str(account.id)],
                people=people(contacts),
                daily_limit=1000,
            )
            print(
                f"  {backend}: {contacts:,} contacts imported in {time.perf_counter() - started:.1f} s"
            )
        freeze_start_up()
        with TestClient(create_app(container), follow_redirects=False) as client:
            client.headers["Accept"] = "text/html"
            sign_in(client, EMAIL, PASSWORD)
            page = f"/campaigns/{campaign.id}/launch"
            for name, path, headers in (
                ("launch_page", page, {}),
                ("launch_forecast", page + "/outlook", {"HX-Request": "true"}),
            ):
                times = timed(client, path, requests, headers)
                print(
                    f"{name} {backend}: p50 {statistics.median(times):.1f} ms, "
                    f"p95 {p95(times):.1f} ms"
                )
                if name == "launch_page":
                    print(f"ratio {name}_{backend}_over_goal: {p95(times) / GOAL_MS[backend]:.2f}")
    finally:
        container.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=20)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        sqlite_url = f"sqlite:///{folder / 'launch.db'}"
        volume.migrated(sqlite_url)
        measure("sqlite", sqlite_url, folder / "sqlite", options.contacts, options.requests)
        url, name = volume.create_pg_database()
        try:
            volume.migrated(url)
            measure("postgresql", url, folder / "postgresql", options.contacts, options.requests)
        finally:
            volume.drop_pg_database(name)


if __name__ == "__main__":
    main()
