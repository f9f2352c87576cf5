"""How long the command line takes to start, against Python starting with nothing to do.

    .venv/bin/python bench/cli_start.py [--runs 10]

Each command runs `runs` times as a user runs it (`python -m outreach ...`, a process of its
own), and `python -c pass` as many times in the same run, interleaved, so that a busy machine
weighs on all three alike. The median wall time of each is printed.

- `outreach --help`;
- `outreach senders list` on an empty, migrated SQLite database;
- the floor of any command that reads the database: `python -c "import typer,
  pydantic_settings, sqlalchemy.orm"` (the CLI, the settings, the ORM), nothing of ours.

Every start reads compiled modules (.pyc), as an installed package's do: they are cached in the
scratch folder (PYTHONPYCACHEPREFIX), written by one untimed start of each command before the
timed ones. PYTHONDONTWRITEBYTECODE, if the caller's environment sets it, is dropped: with it
every start compiled our modules from source again (about an eighth of `senders list`).

Goal: both start in at most 300 ms (`ratio ..._over_ceiling` ≤ 1). How much of that is
Python's own start is `python -c pass`'s line; `ratio ..._over_bare_python` says how many bare
starts each command costs.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CEILING_MS = 300.0
SECRET_KEY = "bench-" + "k7Q2xL9pR4mZ8vN3wB6tY1cD5"
COMMANDS = {
    "bare_python": ["-c", "pass"],
    "help": ["-m", "outreach", "--help"],
    "senders_list": ["-m", "outreach", "senders", "list"],
    "floor": ["-c", "import typer, pydantic_settings, sqlalchemy.orm"],
}


def timed(arguments: list[str], environment: dict[str, str], folder: Path) -> float:
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, *arguments],
        env=environment,
        cwd=folder,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return (time.perf_counter() - started) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    options = parser.parse_args()
    if options.runs < 1:
        parser.error("--runs must be at least 1")
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        environment = {
            **{k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"},
            "PYTHONPYCACHEPREFIX": str(folder / "pycache"),
            "PYTHONPATH": str(ROOT / "src"),
            "DATABASE_URL": f"sqlite:///{folder / 'outreach.db'}",
            "OUTREACH_DATA_DIR": str(folder),
            "OUTREACH_SECRET_KEY": SECRET_KEY,
        }
        timed(["-m", "outreach", "db", "upgrade"], environment, folder)
        for arguments in COMMANDS.values():  # writes the .pyc files the timed starts read
            timed(arguments, environment, folder)
        times: dict[str, list[float]] = {name: [] for name in COMMANDS}
        for _ in range(options.runs):
            for name, arguments in COMMANDS.items():
                times[name].append(timed(arguments, environment, folder))
    medians = {name: statistics.median(each) for name, each in times.items()}
    for name, median in medians.items():
        print(f"{name}: median of {options.runs} starts {median:.0f} ms")
    for name in ("help", "senders_list"):
        print(f"ratio {name}_over_ceiling: {medians[name] / CEILING_MS:.2f}")
        print(f"ratio {name}_over_bare_python: {medians[name] / medians['bare_python']:.1f}")
    print(f"ratio floor_over_ceiling: {medians['floor'] / CEILING_MS:.2f}")
    print(f"ratio senders_list_over_floor: {medians['senders_list'] / medians['floor']:.2f}")


if __name__ == "__main__":
    main()
