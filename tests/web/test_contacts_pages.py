"""The contacts pages as a browser without JavaScript sees them: the import wizard, search,
a contact, uploads, lists and suppressions."""

from __future__ import annotations

import csv
import io
import re

import pytest

from tests.web_session import csrf_token, followed

NEEDS_FIXING = (
    "Contact,Name,Employer,City\n"
    "ada@analytical.example,Ada Lovelace,Analytical Engines,London\n"
    "alan@bletchley.example,Alan Turing,Bletchley Park,Bletchley\n"
    "=cmd|' /C calc'!A0,Mallory,Evil,Nowhere\n"
)


def upload(client, text=NEEDS_FIXING, name="export.csv"):
    response = client.post(
        "/contacts/import",
        data={"csrf_token": csrf_token(client, "/contacts/import")},
        files={"file": (name, text.encode(), "text/csv")},
    )
    assert response.status_code == 303, response.text
    return response.headers["location"]


def confirm(client, mapping_page, **fields):
    form = {"csrf_token": csrf_token(client, mapping_page), "on_duplicate": "skip", **fields}
    return client.post(mapping_page, data=form)


@pytest.fixture
def imported(signed_in):
    page = upload(signed_in)
    confirm(
        signed_in,
        page,
        map_email="Contact",
        map_name="Name",
        map_company="Employer",
        new_list="Pioneers",
    )
    return signed_in, page


def test_the_wizard_proposes_a_mapping_and_shows_the_first_rows(signed_in):
    page = signed_in.get(upload(signed_in))
    assert page.status_code == 200
    assert "Match the columns of export.csv" in page.text
    assert '<option value="Name" selected>Name</option>' in page.text
    assert "ada@analytical.example" in page.text
    assert '<option value="Contact" selected>' not in page.text


def test_confirming_without_an_email_column_explains_what_to_fix(signed_in):
    page = upload(signed_in)
    response = confirm(signed_in, page, map_name="Name")
    assert response.status_code == 422
    assert "choose the column that holds the email address" in response.text


def test_the_corrected_mapping_imports_and_the_summary_counts_every_row(imported):
    client, page = imported
    progress = client.get(page + "/progress")
    assert "Done: 3 rows read." in progress.text
    assert re.search(r'data-testid="count-imported">2<', progress.text)
    assert re.search(r'data-testid="count-invalid">1<', progress.text)
    assert "Download the rows that were not imported" in progress.text
    report = client.get(page.replace("/contacts/import/", "/contacts/uploads/") + "/report.csv")
    assert report.status_code == 200
    assert "'=cmd|' /C calc'!A0" in report.text


def test_contacts_are_found_by_search_and_shown_with_every_column(imported):
    client, _ = imported
    listing = client.get("/contacts", params={"q": "bletchley"})
    assert "alan@bletchley.example" in listing.text
    assert "ada@analytical.example" not in listing.text
    contact_path = re.search(r'href="(/contacts/[0-9a-f-]{36})"', listing.text).group(1)
    contact = client.get(contact_path)
    # Each column with the merge field that writes it in an email.
    assert "<dt>City <code>{{ city }}</code></dt><dd>Bletchley</dd>" in contact.text
    assert "Pioneers" in contact.text


def test_the_export_neutralises_formulas(imported):
    client, _ = imported
    client.post(
        "/suppressions",
        data={"entry": "x@y.example", "csrf_token": csrf_token(client, "/suppressions")},
    )
    export = client.get("/contacts/export.csv")
    assert export.headers["content-type"].startswith("text/csv")
    lines = export.text.splitlines()
    assert lines[0].startswith("email,name,first_name")
    assert any(line.startswith("ada@analytical.example,Ada Lovelace") for line in lines)


def test_a_lists_export_holds_its_members_and_a_long_export_arrives_whole(imported):
    client, _ = imported
    many = "".join(f"person{n:04d}@many.example,Person {n}\n" for n in range(2500))
    confirm(client, upload(client, "Email,Name\n" + many, "many.csv"), map_email="Email")
    pioneers = re.search(r'href="/lists/([0-9a-f-]{36})">Pioneers<', client.get("/lists").text)

    members = client.get(f"/contacts/export.csv?list_id={pioneers.group(1)}")
    everyone = client.get("/contacts/export.csv")

    addresses = [row[0] for row in csv.reader(io.StringIO(members.text))][1:]
    assert addresses == ["ada@analytical.example", "alan@bletchley.example"]
    rows = list(csv.reader(io.StringIO(everyone.text)))
    assert len(rows) == 1 + 2 + 2500  # more rows than one piece of the stream holds
    assert {len(row) for row in rows} == {len(rows[0])}
    assert rows[-1][0] == "person2499@many.example"


def test_a_list_page_shows_its_members_and_can_be_renamed(imported):
    client, _ = imported
    lists = client.get("/lists")
    list_path = re.search(r'href="(/lists/[0-9a-f-]{36})">Pioneers<', lists.text).group(1)
    page = client.get(list_path)
    assert "ada@analytical.example" in page.text
    renamed = client.post(
        list_path,
        data={"name": "Pioneers of computing", "csrf_token": csrf_token(client, list_path)},
    )
    assert renamed.status_code == 303
    assert "Pioneers of computing" in client.get(list_path).text


def test_uploads_can_be_undone_from_the_uploads_page(imported):
    client, page = imported
    batch_id = page.rsplit("/", 1)[1]
    response = client.post(
        f"/contacts/uploads/{batch_id}/undo",
        data={"csrf_token": csrf_token(client, "/contacts/uploads")},
    )
    assert "Removed 2 contacts." in followed(client, response).text
    assert "No contacts yet" in client.get("/contacts").text


def test_an_upload_left_before_matching_its_columns_leads_back_to_that_step(signed_in):
    mapping_page = upload(signed_in)
    uploads = signed_in.get("/contacts/uploads")
    assert "waiting for its columns to be matched" in uploads.text
    assert f'<a href="{mapping_page}">Match columns</a>' in uploads.text
    assert f'href="{mapping_page}/progress"' not in uploads.text
    progress = signed_in.get(mapping_page + "/progress")
    assert progress.status_code == 303
    assert progress.headers["location"] == mapping_page
    assert "Match the columns of export.csv" in signed_in.get(mapping_page).text


def test_the_uploads_page_says_what_became_of_each_upload(imported):
    client, page = imported
    uploads = client.get("/contacts/uploads")
    assert "<td>imported</td>" in uploads.text
    assert f'href="{page}/progress"' in uploads.text


def test_suppressions_are_added_listed_and_lifted(signed_in):
    token = csrf_token(signed_in, "/suppressions")
    assert (
        signed_in.post(
            "/suppressions",
            data={"entry": "@spam.example", "reason": "manual", "csrf_token": token},
        ).status_code
        == 303
    )
    page = signed_in.get("/suppressions")
    assert "@spam.example" in page.text
    bad = signed_in.post("/suppressions", data={"entry": "not an address", "csrf_token": token})
    assert bad.status_code == 422
    assert "neither an email address nor a domain" in bad.text


def test_a_file_of_suppressions_is_imported_with_bad_lines_reported(signed_in):
    response = signed_in.post(
        "/suppressions/import",
        data={"csrf_token": csrf_token(signed_in, "/suppressions"), "reason": "bounced"},
        files={
            "file": (
                "bounces.csv",
                b"email\ngone@example.com\nnot valid\n@old.example\n",
                "text/csv",
            )
        },
    )
    page = followed(signed_in, response)
    assert "Suppressed 2 new entries" in page.text
    assert "line 3: not valid" in page.text


def test_an_upload_left_before_matching_its_columns_can_be_deleted_from_the_uploads_page(
    signed_in,
):
    mapping_page = upload(signed_in)
    batch_id = mapping_page.rsplit("/", 1)[1]
    assert (
        f'action="/contacts/uploads/{batch_id}/delete"' in signed_in.get("/contacts/uploads").text
    )

    deleted = signed_in.post(
        f"/contacts/uploads/{batch_id}/delete",
        data={"csrf_token": csrf_token(signed_in, "/contacts/uploads")},
    )

    page = followed(signed_in, deleted).text
    assert "Deleted the upload of export.csv." in page
    assert batch_id not in page
