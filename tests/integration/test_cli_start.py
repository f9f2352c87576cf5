"""The command line starts at once: a command imports what it uses, not the whole app."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.outreach_process import run_outreach

HEAVY = ("fastapi", "uvicorn", "argon2", "sqlalchemy", "outreach.providers", "outreach.web")
"""What `outreach --help` has no use for: together about 1.8 s of a start."""

IMPORTED_BY_HELP = """
import json, sys
from outreach.cli.main import app
try:
    app(["--help"])
except SystemExit:
    pass
print(json.dumps(sorted(sys.modules)), file=sys.stderr)
"""


def test_help_imports_neither_the_web_app_nor_the_orm_nor_argon2_nor_the_providers():
    result = subprocess.run(
        [sys.executable, "-c", IMPORTED_BY_HELP],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert "outreach: self-hosted cold email campaigns." in result.stdout
    assert "senders" in result.stdout
    imported = json.loads(result.stderr.strip().splitlines()[-1])
    heavy = [m for m in imported if any(m == h or m.startswith(f"{h}.") for h in HEAVY)]
    assert heavy == []


def test_an_areas_commands_are_listed_each_by_its_first_paragraph_unbroken():
    result = subprocess.run(
        [sys.executable, "-m", "outreach", "senders", "--help"],
        env={**os.environ, "COLUMNS": "240"},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    [limits] = [line for line in result.stdout.splitlines() if "│ limits" in line]
    assert "its Microsoft 365 tenant and the tenant's licences" in limits
    assert "What is not given stays." in limits


def test_a_mistyped_area_is_matched_against_the_areas_not_yet_imported():
    result = subprocess.run(
        [sys.executable, "-m", "outreach", "sendrs", "list"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "Did you mean 'senders'" in result.stderr


IMPORTED_BY_SENDERS_LIST = """
import json, sys
from outreach.cli.main import app
try:
    app(["senders", "list"])
except SystemExit:
    pass
print(json.dumps(sorted(sys.modules)), file=sys.stderr)
"""

NOT_FOR_A_LIST = (
    "alembic",
    "msal",
    "argon2",
    "fastapi",
    "uvicorn",
    "httpx",
    "outreach.web",
    "outreach.providers.graph",
    "outreach.providers.smtp",
    "outreach.providers.imap",
    "outreach.providers.mail_oauth",
    "outreach.delivery.dispatch",
    "outreach.drafts.drafting",
    "outreach.drafts.writers",
    "outreach.inbox.polling",
    "outreach.cli.inbox",
    "email_validator",
    "outreach.contacts.addresses",
    "outreach.campaigns.queries",
    "outreach.inbox.classify",
    "outreach.inbox.parse",
    "outreach.senders.dns_rules",
    "rich.progress",
)
"""What listing sender accounts has no use for: the schema check reads alembic_version itself,
the container imports a provider or a pass when it builds one, counting replies reads the
stored kinds (inbox.kinds) without the parser and the classifier, and only `senders check`
reads the DNS rules."""


def test_senders_list_imports_neither_alembic_nor_the_providers_nor_the_passes(
    backend, databases, tmp_path
):
    result = subprocess.run(
        [sys.executable, "-c", IMPORTED_BY_SENDERS_LIST],
        env={
            **os.environ,
            "DATABASE_URL": databases.fresh_url(backend),
            "OUTREACH_DATA_DIR": str(tmp_path),
        },
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert "cap/day" in result.stdout
    imported = json.loads(result.stderr.strip().splitlines()[-1])
    heavy = [m for m in imported if any(m == h or m.startswith(f"{h}.") for h in NOT_FOR_A_LIST)]
    assert heavy == []


def test_senders_list_on_an_outdated_database_says_what_to_run(backend, databases, tmp_path):
    url = databases.empty_url(backend)
    result = run_outreach("senders", "list", database_url=url, data_dir=tmp_path)
    assert result.returncode == 1
    assert "no outreach schema yet. Run `outreach db upgrade`" in result.stderr
