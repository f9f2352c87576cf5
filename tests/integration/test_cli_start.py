"""The command line starts at once: a command imports what it uses, not the whole app."""

from __future__ import annotations

import json
import subprocess
import sys

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
