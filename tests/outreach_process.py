"""`outreach` run as a user runs it: its own process, on a given database and data folder."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def run_outreach(
    *arguments: str, database_url: str, data_dir: Path, **environment: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "outreach", *arguments],
        env={
            **os.environ,
            "DATABASE_URL": database_url,
            "OUTREACH_DATA_DIR": str(data_dir),
            **environment,
        },
        cwd=data_dir,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
