"""An admin's backups page: the schedule, every backup with its verification, and actions."""

from __future__ import annotations

import tarfile

from outreach.access import service as access
from outreach.access.models import Role
from tests.web_session import csrf_token, followed, sign_in


def back_up(client, kind: str = "full"):
    return client.post("/backups", data={"kind": kind, "csrf_token": csrf_token(client, "/")})


def test_before_any_backup_every_kind_is_due_now(signed_in):
    page = signed_in.get("/backups")
    assert page.status_code == 200
    assert page.text.count("due now") == 4
    assert "<td>every day</td>" in page.text
    assert "<td>every 6 hours</td>" in page.text
    assert "<td>30 days</td>" in page.text
    assert "0:00" not in page.text
    assert "No backups yet." in page.text
    assert "outreach backup restore" in page.text


def test_backing_up_now_lists_the_backup_as_good_and_moves_its_next_run(signed_in, clock):
    assert back_up(signed_in, "contacts").status_code == 303
    page = signed_in.get("/backups")
    assert "contacts-20260302T100000Z.tar.gz" in page.text
    assert "good" in page.text
    assert page.text.count("due now") == 3
    assert "2026-03-02 11:00 UTC" in page.text


def test_an_hourly_backup_after_the_full_one_is_listed_as_incremental_on_it(signed_in):
    back_up(signed_in, "full")
    back_up(signed_in, "contacts")
    page = signed_in.get("/backups")
    assert "<td>full copy</td>" in page.text
    assert "<td>incremental on full-20260302T100000Z.tar.gz</td>" in page.text
    assert "rows changed, 0 deletions" in page.text


def test_a_backup_can_be_downloaded_as_the_archive_it_is(signed_in, tmp_path):
    back_up(signed_in)
    download = signed_in.get("/backups/full-20260302T100000Z.tar.gz")
    assert download.status_code == 200
    assert download.headers["content-type"] == "application/gzip"
    (tmp_path / "copy.tar.gz").write_bytes(download.content)
    with tarfile.open(tmp_path / "copy.tar.gz") as archive:
        assert "manifest.json" in archive.getnames()


def test_checking_a_damaged_backup_again_shows_why_it_is_damaged(signed_in, settings):
    back_up(signed_in, "email_drafts")
    [path] = settings.backup_dir.glob("*.tar.gz")
    path.write_bytes(b"garbage")
    checked = signed_in.post(
        f"/backups/{path.name}/verify", data={"csrf_token": csrf_token(signed_in, "/backups")}
    )
    assert "is damaged" in followed(signed_in, checked).text
    assert "damaged:" in signed_in.get("/backups").text


def test_an_unknown_kind_or_backup_is_a_clear_error(signed_in):
    refused = back_up(signed_in, "weekly")
    assert "not a kind of backup" in followed(signed_in, refused).text
    assert signed_in.get("/backups/full-20990101T000000Z.tar.gz").status_code == 404
    assert signed_in.get("/backups/..%2F..%2Fsecret_key").status_code == 404


def test_a_member_cannot_see_or_take_backups(client, session):
    access.create_user(session, "member@example.com", "member password", Role.member)
    sign_in(client, "member@example.com", "member password")
    assert client.get("/backups").status_code == 403
    assert ">Backups<" not in client.get("/").text
    assert back_up(client).status_code == 403
