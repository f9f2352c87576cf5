"""/api/v1 for uploads, contacts, lists and suppressions: what an integration script sees."""

from __future__ import annotations

import pytest

from outreach.contacts import suppressions

CSV = (
    "Work Email,Full Name,Organization,City\n"
    "ada@analytical.example,Ada Lovelace,Analytical Engines,London\n"
    "not-an-address,Nobody,,\n"
    "alan@bletchley.example,Alan Turing,Bletchley Park,Bletchley\n"
)


@pytest.fixture
def api(client, api_token):
    client.headers["Authorization"] = f"Bearer {api_token}"
    return client


def upload(api, text=CSV, name="people.csv"):
    response = api.post("/api/v1/uploads", files={"file": (name, text.encode(), "text/csv")})
    assert response.status_code == 201, response.text
    return response.json()


def test_an_upload_proposes_a_mapping_with_a_preview(api):
    body = upload(api)
    assert body["headers"] == ["Work Email", "Full Name", "Organization", "City"]
    assert body["proposed_mapping"] == {
        "email": "Work Email",
        "name": "Full Name",
        "company": "Organization",
    }
    assert body["preview"][0] == {
        "line": 2,
        "values": ["ada@analytical.example", "Ada Lovelace", "Analytical Engines", "London"],
    }
    assert body["batch"]["status"] == "uploaded"


def test_confirming_imports_and_progress_and_report_tell_what_happened(api):
    batch_id = upload(api)["batch"]["id"]
    confirmed = api.post(f"/api/v1/uploads/{batch_id}/confirm", json={})
    assert confirmed.status_code == 202
    done = api.get(f"/api/v1/uploads/{batch_id}").json()
    assert (done["status"], done["total_contacts"], done["processed_contacts"]) == (
        "completed",
        3,
        3,
    )
    assert (done["imported_count"], done["invalid_count"]) == (2, 1)
    report = api.get(f"/api/v1/uploads/{batch_id}/report")
    assert report.headers["content-type"].startswith("text/csv")
    assert report.text.splitlines()[1].startswith("3,invalid,not-an-address,")


def test_a_bad_mapping_is_a_422_that_says_which_column(api):
    batch_id = upload(api)["batch"]["id"]
    response = api.post(f"/api/v1/uploads/{batch_id}/confirm", json={"mapping": {"email": "Mail"}})
    assert response.status_code == 422
    assert "Mail" in response.json()["error"]["message"]


def test_a_file_that_is_not_a_table_is_refused_with_the_reason(api):
    response = api.post(
        "/api/v1/uploads", files={"file": ("notes.pdf", b"%PDF-1.4", "application/pdf")}
    )
    assert response.status_code == 422
    assert "CSV" in response.json()["error"]["message"]


def test_contacts_are_searched_and_paged_in_address_order(api):
    batch_id = upload(api)["batch"]["id"]
    api.post(f"/api/v1/uploads/{batch_id}/confirm", json={})
    first = api.get("/api/v1/contacts", params={"limit": 1}).json()
    assert [c["email"] for c in first["items"]] == ["ada@analytical.example"]
    second = api.get("/api/v1/contacts", params={"limit": 1, "after": first["next"]}).json()
    assert [c["email"] for c in second["items"]] == ["alan@bletchley.example"]
    assert second["next"] is None
    found = api.get("/api/v1/contacts", params={"q": "bletchley"}).json()["items"]
    assert [c["name"] for c in found] == ["Alan Turing"]
    detail = api.get(f"/api/v1/contacts/{found[0]['id']}").json()
    assert detail["raw_data"]["City"] == "Bletchley"


def test_lists_are_made_filled_by_filter_and_emptied(api):
    batch_id = upload(api)["batch"]["id"]
    api.post(f"/api/v1/uploads/{batch_id}/confirm", json={})
    made = api.post("/api/v1/lists", json={"name": "Londoners"}).json()
    added = api.post(
        f"/api/v1/lists/{made['id']}/members", json={"filter": {"field": "City", "value": "London"}}
    )
    assert added.json() == {"count": 1}
    assert api.post("/api/v1/lists", json={"name": "londoners"}).status_code == 409
    members = api.get("/api/v1/contacts", params={"list_id": made["id"]}).json()["items"]
    assert [m["email"] for m in members] == ["ada@analytical.example"]
    removed = api.post(
        f"/api/v1/lists/{made['id']}/members/remove", json={"contact_ids": [members[0]["id"]]}
    )
    assert removed.json() == {"count": 1}
    assert api.get("/api/v1/lists").json()["items"][0]["size"] == 0


def test_a_whole_upload_joins_a_list_and_unknown_contacts_are_named(api):
    batch_id = upload(api)["batch"]["id"]
    api.post(f"/api/v1/uploads/{batch_id}/confirm", json={})
    made = api.post("/api/v1/lists", json={"name": "Pioneers"}).json()
    members = f"/api/v1/lists/{made['id']}/members"
    assert api.post(members, json={"batch_id": batch_id}).json() == {"count": 2}
    assert api.post(members, json={"filter": {"domain": "bletchley.example"}}).json() == {
        "count": 0
    }
    assert api.get("/api/v1/lists").json()["items"][0]["size"] == 2

    nobody = "00000000-0000-0000-0000-000000000000"
    ada = api.get("/api/v1/contacts", params={"q": "ada"}).json()["items"][0]["id"]
    refused = api.post(members, json={"contact_ids": [ada, nobody]})
    assert refused.status_code == 404
    assert refused.json()["error"]["message"] == f"There is no contact {nobody}."
    both = api.post(members, json={"contact_ids": [ada], "batch_id": batch_id})
    assert both.status_code == 422
    assert "exactly one of contact_ids, batch_id or filter" in both.json()["error"]["message"]


def test_a_value_without_its_column_is_refused_rather_than_matching_everyone(api):
    response = api.get("/api/v1/contacts", params={"value": "Berlin"})
    assert response.status_code == 422
    assert response.json()["error"]["message"] == (
        "value compares an original column: name it with field."
    )


@pytest.mark.parametrize("search", ["q", "company"])
def test_a_search_holding_a_nul_finds_no_one_rather_than_failing(api, search):
    api.post(f"/api/v1/uploads/{upload(api)['batch']['id']}/confirm", json={})
    response = api.get("/api/v1/contacts", params={search: "Ada\x00"})
    assert response.status_code == 200
    assert response.json()["items"] == []


@pytest.mark.parametrize("field", ["\x00", "City\x01", "\x7f", "Notes\x85"])
def test_a_field_name_with_a_control_character_is_a_422_naming_it(api, field):
    api.post(f"/api/v1/uploads/{upload(api)['batch']['id']}/confirm", json={})
    response = api.get("/api/v1/contacts", params={"field": field, "value": "x"})
    assert response.status_code == 422
    assert response.json()["error"]["message"] == (
        f"{field!r} is not an original column: it holds a control character."
    )
    made = api.post("/api/v1/lists", json={"name": "Odd"}).json()
    added = api.post(
        f"/api/v1/lists/{made['id']}/members", json={"filter": {"field": field, "value": "x"}}
    )
    assert added.status_code == 422


def test_original_columns_named_with_accents_quotes_or_backslashes_can_be_searched(api):
    named = 'Work Email,Société,"Say ""hi""",Back\\slash\nada@analytical.example,Engines,yes,b\n'
    api.post(f"/api/v1/uploads/{upload(api, named)['batch']['id']}/confirm", json={})
    for field, value in (("Société", "Engines"), ('Say "hi"', "yes"), ("Back\\slash", "b")):
        found = api.get("/api/v1/contacts", params={"field": field, "value": value}).json()
        assert [contact["email"] for contact in found["items"]] == ["ada@analytical.example"]


def test_an_empty_filter_is_refused_rather_than_adding_everyone(api):
    made = api.post("/api/v1/lists", json={"name": "All?"}).json()
    response = api.post(f"/api/v1/lists/{made['id']}/members", json={"filter": {}})
    assert response.status_code == 422


def test_suppressing_an_address_keeps_it_out_of_the_next_import(api):
    added = api.post(
        "/api/v1/suppressions", json={"entry": "Ada@Analytical.example", "reason": "unsubscribed"}
    )
    assert added.status_code == 201
    assert added.json()["email"] == "ada@analytical.example"
    batch_id = upload(api)["batch"]["id"]
    api.post(f"/api/v1/uploads/{batch_id}/confirm", json={})
    assert api.get(f"/api/v1/uploads/{batch_id}").json()["suppressed_count"] == 1
    listed = api.get("/api/v1/suppressions").json()["items"]
    assert [s["email"] for s in listed] == ["ada@analytical.example"]
    assert api.delete(f"/api/v1/suppressions/{listed[0]['id']}").status_code == 204


def test_a_whole_domain_can_be_suppressed(api):
    added = api.post("/api/v1/suppressions", json={"entry": "@bletchley.example"}).json()
    assert (added["email"], added["domain"], added["reason"]) == (
        None,
        "bletchley.example",
        "manual",
    )
    assert api.post("/api/v1/suppressions", json={"entry": "bletchley.example"}).status_code == 409


def test_undo_removes_an_uploads_contacts(api):
    batch_id = upload(api)["batch"]["id"]
    api.post(f"/api/v1/uploads/{batch_id}/confirm", json={})
    assert api.post(f"/api/v1/uploads/{batch_id}/undo").json() == {"removed": 2, "kept": 0}
    assert api.get("/api/v1/contacts").json()["items"] == []
    assert api.post(f"/api/v1/uploads/{batch_id}/undo").status_code == 409


def test_saved_mappings_are_listed(api):
    batch_id = upload(api)["batch"]["id"]
    api.post(f"/api/v1/uploads/{batch_id}/confirm", json={"save_mapping_as": "Old CRM"})
    assert api.get("/api/v1/mappings").json()["items"][0]["name"] == "Old CRM"


def test_suppression_reasons_are_the_documented_ones():
    assert [reason.value for reason in suppressions.Reason] == [
        "unsubscribed",
        "bounced",
        "complained",
        "manual",
    ]


def test_an_upload_left_before_matching_is_deleted_and_an_imported_one_is_a_409(api):
    left = upload(api)["batch"]["id"]
    assert api.delete(f"/api/v1/uploads/{left}").status_code == 204
    assert api.get(f"/api/v1/uploads/{left}").status_code == 404
    imported = upload(api)["batch"]["id"]
    api.post(f"/api/v1/uploads/{imported}/confirm", json={})
    refused = api.delete(f"/api/v1/uploads/{imported}")
    assert refused.status_code == 409
    assert "undo it" in refused.json()["error"]["message"]
