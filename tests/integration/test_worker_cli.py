"""`outreach worker` on the command line: a pass at a pretended time (`--now`) moves campaigns,
and leaves alone what follows the real clock."""

from __future__ import annotations

from datetime import timedelta

import pytest
from typer.testing import CliRunner

from outreach.access import service as access
from outreach.access.models import Role
from outreach.cli.main import app
from outreach.clock import SystemClock
from outreach.container import build_container
from outreach.db import transaction
from outreach.portability import backups
from tests.app_settings import isolated_settings
from tests.web_session import ADMIN_EMAIL, ADMIN_PASSWORD


@pytest.fixture
def url(backend, databases, tmp_path, monkeypatch) -> str:
    fresh = databases.fresh_url(backend)
    monkeypatch.setenv("DATABASE_URL", fresh)
    monkeypatch.setenv("OUTREACH_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.chdir(tmp_path)
    return fresh


def outreach(*arguments: str) -> str:
    """What the command printed, its lines joined as a person reads them."""
    result = CliRunner().invoke(app, list(arguments), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return " ".join(result.output.split())


def test_a_dry_run_says_it_is_one_even_when_nothing_would_go(url):
    assert outreach("worker", "--dry-run") == "send_campaigns: dry run: 0 would be sent, 0 waiting"


def test_a_pass_at_a_pretended_time_keeps_real_backups_and_sign_ins(url, tmp_path):
    container = build_container(isolated_settings(tmp_path / "data", DATABASE_URL=url))
    real_now = SystemClock().now()
    with transaction(container.sessions) as session:
        admin = access.create_user(session, ADMIN_EMAIL, ADMIN_PASSWORD, Role.admin)
        signed_in = access.start_session(session, admin, real_now, timedelta(days=14), None)
    outreach("backup", "run")
    taken = backups.existing(container.settings.backup_dir)
    assert len(taken) == 4

    next_year = (real_now + timedelta(days=400)).isoformat()
    said = outreach("worker", "--once", "--now", next_year)

    assert "take_backups: skipped under --now (backups follow the real clock)" in said
    assert "prune_access: skipped under --now (sign-ins expire by the real clock)" in said
    assert "poll_inboxes: skipped under --now (mailboxes are read by the real clock" in said
    assert "deliver_webhooks: skipped under --now (webhooks are signed with the real time" in said
    assert "send_campaigns: 0 sent" in said
    assert backups.existing(container.settings.backup_dir) == taken
    with transaction(container.sessions) as session:
        still = access.user_for_session(session, signed_in, SystemClock().now())
        assert still is not None
        assert still.email == ADMIN_EMAIL

    # The next real pass finds the schedule where the real clock left it: nothing is due.
    assert "take_backups: 0 taken, 0 damaged, 0 deleted" in outreach("worker", "--once")
    container.close()
