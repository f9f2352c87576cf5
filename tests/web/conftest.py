"""A live server on loopback and a real browser, for tests that drive the pages end to end."""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import uvicorn

from outreach.access import service as access
from outreach.access.models import Role
from outreach.cli.serving import listening_socket
from outreach.container import Container, build_container
from outreach.db import transaction
from outreach.web.app import create_app
from tests.app_settings import isolated_settings
from tests.web_session import ADMIN_EMAIL, ADMIN_PASSWORD

REQUIRE_BROWSER = os.environ.get("OUTREACH_REQUIRE_BROWSER") == "1"
CHROMIUM = os.environ.get("OUTREACH_CHROMIUM", shutil.which("chromium") or "/usr/bin/chromium")
# Without these, chromium tries to reach Google's services and this machine refuses it noisily.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


PATIENCE_MS = 60_000
"""How long a browser waits for what a test expects before failing it. Every wait ends as soon
as the page shows it; only a broken page waits this long. On a busy machine (one worker per
core, beside other work) a page that normally answers at once can take several seconds."""


def _unavailable(reason: str) -> None:
    if REQUIRE_BROWSER:
        pytest.fail(f"browser tests cannot run: {reason} (OUTREACH_REQUIRE_BROWSER=1)")
    pytest.skip(f"browser tests skipped: {reason}")


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    if not Path(CHROMIUM).exists():
        _unavailable(f"no chromium at {CHROMIUM} (apt install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as error:
        _unavailable(f"playwright is not installed ({error})")
    from playwright.sync_api import expect

    expect.set_options(timeout=PATIENCE_MS)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        yield launched
        launched.close()


@pytest.fixture
def page(browser):
    context = browser.new_context()
    opened = context.new_page()
    opened.set_default_timeout(PATIENCE_MS)
    yield opened
    context.close()


@dataclass(frozen=True)
class LiveServer:
    url: str
    container: Container


@pytest.fixture
def live_server(backend: str, databases, tmp_path) -> Iterator[LiveServer]:
    """The real app on a loopback port, over a fresh database with one admin."""
    settings = isolated_settings(tmp_path / "data", DATABASE_URL=databases.fresh_url(backend))
    container = build_container(settings)
    with transaction(container.sessions) as session:
        access.create_user(session, ADMIN_EMAIL, ADMIN_PASSWORD, Role.admin)
    # Bound here and handed over, so no other process can take the port in between.
    listening = listening_socket("127.0.0.1", 0)  # as served: kept-alive answers at once
    port = listening.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(container), log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listening]}, daemon=True)
    thread.start()
    while not server.started:
        if not thread.is_alive():
            pytest.fail("the live server did not start")
        threading.Event().wait(0.02)
    yield LiveServer(f"http://127.0.0.1:{port}", container)
    server.should_exit = True
    thread.join(timeout=10)
    listening.close()
    container.close()
