"""`outreach run` where it cannot listen: it says so, and how to choose another port."""

from __future__ import annotations

import socket

from tests.outreach_process import run_outreach


def test_run_on_a_taken_port_says_so_and_does_not_claim_to_run(backend, databases, tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_outreach(
            "run",
            database_url=databases.fresh_url(backend),
            data_dir=tmp_path,
            OUTREACH_PORT=str(port),
        )
    assert result.returncode == 1
    assert "is running" not in result.stdout
    assert "First sign-in" not in result.stdout  # the one-time password is kept for a real start
    said = " ".join(result.stderr.split())
    assert f"Port {port} on 127.0.0.1 is already in use" in said
    assert f"OUTREACH_PORT={port + 1} outreach run" in said
