"""Drafting speed: a batch of drafts written by our worker against a slow model, beside the
ideal time and a bare SDK loop.

    .venv/bin/python bench/drafts.py [--drafts 500] [--concurrency 20] [--latency 1.0] [--backend sqlite|postgresql|both]

A fake Anthropic Messages API on loopback (tests/fakes/anthropic_server.py, serving_apart: in a
process of its own) answers every request after `latency` seconds. Ours: a list of N contacts,
one template, a batch planned for the list and written by the worker's drafting pass (claim,
build the prompt, call the SDK, store the draft with its provenance and cost, record the job):
`concurrency` calls in flight. The ideal is N / concurrency * latency. Baseline, in the same run: the same N calls
through the same SDK client from a pool of `concurrency` threads, nothing stored.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from outreach.campaigns.states import DraftType
from outreach.clock import SystemClock
from outreach.config import Settings
from outreach.contacts import importing, lists
from outreach.container import build_container
from outreach.db import transaction
from outreach.drafts import batches, templates
from outreach.drafts.states import JobStatus
from outreach.drafts.writers.anthropic import AnthropicWriter
from outreach.drafts.writers.base import ContactContext, TemplateText, draft_request
from outreach.providers.anthropic import AnthropicMessages
from outreach.runner import Runner
from outreach.schema import upgrade
from tests.fakes.anthropic_server import API_KEY, serving_apart

PG_URL = os.environ.get("OUTREACH_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
MODEL = "claude-sonnet-5-5"
BRIEF = (
    "Subject: Routes for {{ company }}\n"
    "Pitch our route-planning tool to {{ first_name }} at {{ company }} in {{ city }}. "
    "Friendly, under 120 words, end with a question about their next peak season."
)


def database(backend: str, folder: Path) -> tuple[str, str | None]:
    if backend == "sqlite":
        return f"sqlite:///{folder / f'drafts-{uuid.uuid4().hex}.db'}", None
    name = f"outreach_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    return PG_URL.rsplit("/", 1)[0] + "/" + name, name


def people(count: int) -> str:
    rows = "".join(f"p{n}@example.com,Person {n},Company {n},Town {n % 50}\n" for n in range(count))
    return "email,name,company,City\n" + rows


def baseline(base_url: str, count: int, concurrency: int) -> float:
    """The same calls through the same SDK, from a thread pool, nothing stored."""
    writer = AnthropicWriter(AnthropicMessages(api_key=API_KEY, base_url=base_url), model=MODEL)
    template = TemplateText(None, "Brief", BRIEF)
    requests = [
        draft_request(
            DraftType.first_outreach,
            template,
            ContactContext(
                id=None,
                fields={"email": f"p{n}@example.com", "first_name": "Person", "company": f"Co {n}"},
                raw_data={"City": f"Town {n % 50}"},
            ),
        )
        for n in range(count)
    ]
    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(writer.write, requests))
    elapsed = time.perf_counter() - started
    writer.close()
    return elapsed


def ours(
    backend: str, base_url: str, count: int, concurrency: int, folder: Path
) -> tuple[float, int]:
    url, name = database(backend, folder)
    settings = Settings(
        _env_file=None,
        DATABASE_URL=url,
        OUTREACH_DATA_DIR=folder,  # type: ignore[call-arg]
        OUTREACH_SECRET_KEY="bench-" + "k7Q2xL9pR4mZ8vN3wB6tY1cD5",
        ANTHROPIC_API_KEY=API_KEY,
        ANTHROPIC_BASE_URL=base_url,
        OUTREACH_DRAFT_MODEL=MODEL,
        OUTREACH_DRAFT_CONCURRENCY=concurrency,
    )
    clock = SystemClock()
    container = build_container(settings, clock)
    upgrade(container.engine)
    try:
        now = datetime.now(UTC)
        with transaction(container.sessions) as session:
            audience = lists.create(session, "Everyone", None, now)
            path = folder / f"{uuid.uuid4().hex}.csv"
            path.write_text(people(count))
            upload, _ = importing.create_upload(
                session, path=path, file_name="people.csv", sheet=None, now=now
            )
            importing.confirm(session, upload.id, list_id=audience.id)
            importing.claim(session, now, upload.id)
            importing.run(Runner.inside(session), upload.id, clock)
            brief = templates.create(session, "Brief", BRIEF, now)
            batch = batches.for_list(
                session,
                audience.id,
                batches.instructions([DraftType.first_outreach], brief.id),
                now,
                held=lambda contacts, kind: {},  # a fresh database: nobody was written to
            )
        started = time.perf_counter()
        container.drafting_pass(batch_id=batch.id, budget_seconds=None, linger=True)
        elapsed = time.perf_counter() - started
        with transaction(container.sessions) as session:
            written = batches.progress(session, batch.id).counts[JobStatus.written.value]
        return elapsed, written
    finally:
        container.close()
        if name:
            with psycopg.connect(PG_URL, autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--drafts", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--latency", type=float, default=1.0, help="seconds per answer")
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    options = parser.parse_args()
    backends = ["sqlite", "postgresql"] if options.backend == "both" else [options.backend]
    ideal = options.drafts / options.concurrency * options.latency
    with tempfile.TemporaryDirectory() as scratch, serving_apart(options.latency) as base_url:
        bare = baseline(base_url, options.drafts, options.concurrency)
        print(
            f"{options.drafts} drafts, {options.concurrency} at once, {options.latency:g} s each: "
            f"ideal {ideal:.1f} s; bare SDK thread pool {bare:.1f} s"
        )
        for backend in backends:
            elapsed, written = ours(
                backend, base_url, options.drafts, options.concurrency, Path(scratch)
            )
            print(
                f"outreach worker on {backend}: {elapsed:.1f} s for {written} drafts "
                f"({written / elapsed:.1f} drafts/s)"
            )
            print(f"ratio drafts_{backend}: {elapsed / ideal:.3f}")
            print(f"ratio drafts_{backend}_vs_bare_sdk: {elapsed / bare:.3f}")


if __name__ == "__main__":
    main()
