"""Every page fits a phone (390x844) and a laptop (1366x768): the document is never wider than
the window, so nothing scrolls sideways. The pages are read from the app's route table, so a page
added later is visited too; its path parameters are filled from the sample data
(tests/sample_data.py), and a route whose parameter this file cannot fill fails the test rather
than being left out. A page that is too wide is kept as a screenshot under test-artifacts/."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.routing import iter_route_contexts
from starlette.routing import Mount

from outreach.delivery import unsubscribe
from outreach.portability import backups
from outreach.web.app import create_app
from tests.sample_data import container_on, fill_every_table
from tests.web_session import sign_in_with

pytestmark = pytest.mark.browser

SIZES = {"phone": (390, 844), "laptop": (1366, 768)}

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "page-widths"

NOT_PAGES = ("/api/v1/", "/healthz", "/readyz")
"""The API and the health checks answer JSON or plain text to programs, not pages to people."""

IDS_OF = {
    "contact_id": "SELECT id FROM contacts ORDER BY email",
    "list_id": "SELECT id FROM contact_lists ORDER BY name",
    "campaign_id": "SELECT id FROM campaigns ORDER BY name",
    "template_id": "SELECT id FROM email_templates ORDER BY name",
    "draft_id": "SELECT id FROM email_drafts ORDER BY created_at",
    "conversation_id": "SELECT id FROM conversations ORDER BY created_at",
    "attachment_id": "SELECT id FROM inbox_attachments",
    "enrollment_id": "SELECT id FROM campaign_contacts ORDER BY contact_id",
    "endpoint_id": "SELECT id FROM webhook_endpoints",
    "/contacts/ batch_id": "SELECT id FROM upload_batches",
    "/drafts/ batch_id": "SELECT id FROM draft_batches",
}
"""Where each path parameter's value comes from (the first row), by name, or by the area and
the name ("/drafts/ batch_id") where two kinds of rows share a name."""


def page_paths(app) -> list[str]:
    """Every GET route outside the API, its path parameters filled (see `filled`)."""
    return [
        route.path
        for route in iter_route_contexts(app.routes)
        if not isinstance(route.original_route, Mount)
        and "GET" in route.methods
        and not route.path.startswith(NOT_PAGES)
    ]


def filled(path: str, values: dict[str, str]) -> str:
    def value(found: re.Match[str]) -> str:
        name = found.group(1)
        area = "/" + path.split("/")[1] + "/"
        for known in (f"{area} {name}", name):
            if known in values:
                return values[known]
        pytest.fail(
            f"the page {path} has a parameter {{{name}}} this test cannot fill: add where its"
            " values come from to IDS_OF in tests/web/test_page_widths.py"
        )

    return re.sub(r"\{(\w+)(?::\w+)?\}", value, path)


def sample_values(live_server, tmp_path) -> dict[str, str]:
    url = live_server.container.settings.database_url
    filler = container_on(url, tmp_path / "sample")
    fill_every_table(filler, tmp_path / "sample")
    values: dict[str, str] = {}
    with filler.engine.connect() as connection:
        for name, query in IDS_OF.items():
            first = connection.execute(sa.text(query)).scalar()
            assert first is not None, f"the sample data has no row for {name}: {query}"
            values[name] = str(uuid.UUID(str(first)))
        contact, campaign = connection.execute(
            sa.text("SELECT contact_id, campaign_id FROM campaign_contacts LIMIT 1")
        ).one()
    filler.close()
    secret = live_server.container.settings.secret_key_value()
    values["token"] = unsubscribe.make_token(
        secret, uuid.UUID(str(contact)), uuid.UUID(str(campaign))
    )
    taken = backups.take(
        live_server.container.engine,
        live_server.container.settings.backup_dir,
        backups.kind_named("full"),
        live_server.container.clock.now(),
    )
    values["name"] = taken.path.name
    return values


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)  # the layout is the same on both
def test_every_page_fits_a_phone_and_a_laptop_without_scrolling_sideways(
    page, live_server, tmp_path
):
    values = sample_values(live_server, tmp_path)
    sign_in_with(page, live_server.url)
    paths = [filled(path, values) for path in page_paths(create_app(live_server.container))]
    too_wide: list[str] = []
    visited = 0
    for size, (width, height) in SIZES.items():
        page.set_viewport_size({"width": width, "height": height})
        for path in paths:
            answer = page.request.get(live_server.url + path)
            if not answer.headers.get("content-type", "").startswith("text/html"):
                continue  # a download (a CSV, a backup, an attachment) or JSON
            page.goto(live_server.url + path)
            visited += 1
            wide, window = page.evaluate(
                "[document.documentElement.scrollWidth, window.innerWidth]"
            )
            if wide > window:
                shot = ARTIFACTS / f"{size}{re.sub(r'[^A-Za-z0-9]+', '-', path)}.png"
                page.screenshot(path=shot, full_page=True)
                too_wide.append(f"{path} at {size} width: {wide} px in {window} px ({shot})")
    assert visited >= 2 * 25, f"only {visited} pages visited"
    assert not too_wide, "pages wider than the window:\n" + "\n".join(too_wide)
