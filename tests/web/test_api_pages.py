"""Every list under /api/v1 answers one shape, `{"items": [...], "next": cursor or null}`, and
takes `limit` and `after`: walked a row per page from the first page to the last, each list
gives every row exactly once, the rows one large page gives. The lists are read from the
OpenAPI document, so a list added later is walked too. Both backends."""

from __future__ import annotations

import json
import re

import pytest
import sqlalchemy as sa

from outreach.contacts import importing
from tests.sample_data import fill_every_table

IDS_OF = {
    "campaign_id": "SELECT id FROM campaigns",
    "contact_id": "SELECT id FROM contacts",
    "conversation_id": "SELECT id FROM conversations",
    "webhook_id": "SELECT id FROM webhook_endpoints",
}
"""Where each path parameter's values come from: each list is walked for every one."""

FILTERS = {"/api/v1/deliveries": {"status": "sent"}}
"""A filter that has rows in the sample, where the default has none."""

ONE_PAGE_ONLY = {
    "/api/v1/contacts/{contact_id}/changes",
    "/api/v1/conversations/{conversation_id}/answers",
    *(f"/api/v1/analytics/{table}" for table in ("daily", "steps", "senders", "providers")),
}
"""A handful per contact or conversation, in an order no cursor keeps, and the analytics tables
(a report of its date range, as its CSV is): all on one page."""


@pytest.fixture
def api(client, api_token):
    client.headers["Authorization"] = f"Bearer {api_token}"
    return client


@pytest.fixture
def document(api):
    return api.get("/api/v1/openapi.json").json()


def lists_in(document):
    """The GET operations whose answer is a page."""
    for path, operations in document["paths"].items():
        get = operations.get("get")
        if get is None:
            continue
        schema = get["responses"]["200"]["content"].get("application/json", {}).get("schema", {})
        shown = _resolved(document, schema)
        if "items" in shown.get("properties", {}):
            yield path, get


def _resolved(document, schema):
    if "$ref" in schema:
        return document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def test_no_operation_answers_a_bare_array_and_every_page_has_items_and_next(document):
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            content = operation["responses"].get("200", {}).get("content", {})
            schema = content.get("application/json", {}).get("schema", {})
            assert _resolved(document, schema).get("type") != "array", (method, path)
    pages = dict(lists_in(document))
    assert len(pages) >= 19
    for path, operation in pages.items():
        shown = _resolved(
            document, operation["responses"]["200"]["content"]["application/json"]["schema"]
        )
        assert {"items", "next"} <= set(shown["properties"]), path
        if path not in ONE_PAGE_ONLY:
            params = {p["name"] for p in operation.get("parameters", []) if p["in"] == "query"}
            assert {"limit", "after"} <= params, path


def test_walking_every_list_a_row_at_a_time_gives_each_row_exactly_once(
    api, document, session, container, tmp_path
):
    fill_every_table(container, tmp_path)
    _a_second_of_some(api, session)
    walked = 0
    for path, operation in lists_in(document):
        for url in _urls(session, path):
            every = _page(api, url, FILTERS.get(path, {}), limit=_most(operation))
            if path in ONE_PAGE_ONLY:
                assert every["next"] is None, url
                continue
            seen = _walk(api, url, FILTERS.get(path, {}))
            assert len(seen) == len(set(seen)), url
            assert sorted(seen) == sorted(_key(item) for item in every["items"]), url
            walked += len(seen) > 1
    assert walked >= 19  # lists with two rows or more, walked over pages


def _a_second_of_some(api, session):
    """The sample has one of these: a second makes their walk take two pages."""
    made = [
        api.post("/api/v1/tokens", json={"name": "second"}),
        api.post("/api/v1/lists", json={"name": "Second"}),
        api.post("/api/v1/suppressions", json={"entry": "@second.example"}),
        api.post("/api/v1/campaigns", json={"name": "Second"}),
        api.post("/api/v1/webhooks", json={"url": "https://b.example/", "events": ["email.sent"]}),
    ]
    assert [answer.status_code for answer in made] == [201] * len(made)
    importing.save_mapping(session, "Second", {"email": "email"})
    session.commit()


def _most(operation):
    """The largest `limit` the operation takes (the whole list, in the sample)."""
    for parameter in operation.get("parameters", []):
        if parameter["name"] == "limit":
            return parameter["schema"]["maximum"]
    return None


def _urls(session, path):
    names = re.findall(r"\{(\w+)\}", path)
    if not names:
        return [path]
    [name] = names
    ids = session.execute(sa.text(IDS_OF[name])).scalars().all()
    return [path.replace(f"{{{name}}}", str(value)) for value in ids]


def _walk(api, url, filters):
    seen, after = [], None
    while True:
        page = _page(api, url, {**filters, **({"after": after} if after else {})}, limit=1)
        seen += [_key(item) for item in page["items"]]
        # The feed's cursor is never null: it ends where a page comes back empty.
        if page["next"] is None or not page["items"]:
            return seen
        assert len(page["items"]) == 1, url
        after = page["next"]


def _page(api, url, params, limit):
    answer = api.get(url, params={**params, **({"limit": limit} if limit else {})})
    assert answer.status_code == 200, (url, answer.text)
    return answer.json()


def _key(item):
    return item.get("id") or json.dumps(item, sort_keys=True)
