"""`outreach run` where it cannot listen: it says so, and how to choose another port."""

from __future__ import annotations

import os
import socket
import subprocess
import sys


def test_run_on_a_taken_port_says_so_and_does_not_claim_to_run(backend, databases, tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "outreach", "run"],
            env={
                **os.environ,
                "DATABASE_URL": databases.fresh_url(backend),
                "OUTREACH_DATA_DIR": str(tmp_path),
                "OUTREACH_PORT": str(port),
            },
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert result.returncode == 1
    assert "is running" not in result.stdout
    assert "First sign-in" not in result.stdout  # the one-time password is kept for a real start
    said = " ".join(result.stderr.split())
    assert f"Port {port} on 127.0.0.1 is already in use" in said
    assert f"OUTREACH_PORT={port + 1} outreach run" in said
