"""The analytics rollups and the implicit approvals equal a full scan of the rows whatever is
written, by whom and in what order: sends, a person's replies, categories changed later, bounces
at once or later, and unsubscribes; steps queued from their template or unapproved, approved
later, answers scheduled and taken back; also once recipient domains are resolved, and after an
export and import."""

from __future__ import annotations

import re
from datetime import date

import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from outreach.analytics import approvals, recipients, rollups
from outreach.analytics.figures import Scope, providers, steps, totals
from outreach.analytics.recipients import RecipientProvider, Resolved
from outreach.cli.main import app
from outreach.db import transaction
from outreach.portability import exporting, restoring
from tests.analytics_rows import Campaigns
from tests.databases import ALSO_PARTITIONED, PARTITIONED_AT
from tests.sample_data import START, container_on, fill_every_table

pytestmark = ALSO_PARTITIONED

START_AT = PARTITIONED_AT
ADDRESSES = ["ann@gmail.example", "bob@corp.example", "cy@corp.example", "di@other.example"]
CATEGORY = st.sampled_from([None, "interested", "meeting_request", "not_interested", "other"])
EVENT = st.one_of(
    st.tuples(st.just("send"), st.integers(0, 7), st.integers(0, 1), st.integers(0, 120)),
    st.tuples(st.just("refuse"), st.integers(0, 7), st.integers(0, 1), st.integers(0, 120)),
    st.tuples(st.just("reply"), st.integers(0, 20), CATEGORY, st.integers(0, 120)),
    st.tuples(st.just("auto_reply"), st.integers(0, 20), CATEGORY, st.integers(0, 120)),
    st.tuples(st.just("categorize"), st.integers(0, 20), CATEGORY),
    st.tuples(st.just("bounce"), st.integers(0, 20), st.integers(0, 120)),
    st.tuples(st.just("unsubscribe"), st.integers(0, 7)),
    st.tuples(st.just("resolve"), st.sampled_from(["gmail.example", "corp.example"])),
    st.tuples(st.just("queue"), st.integers(0, 7), st.booleans(), st.integers(0, 120)),
    st.tuples(st.just("answer"), st.integers(0, 7), st.integers(0, 120)),
    st.tuples(st.just("approve"), st.integers(0, 20), st.integers(0, 120)),
    st.tuples(st.just("take_back"), st.integers(0, 20)),
)


def play(world: Campaigns, session, events) -> None:  # type: ignore[no-untyped-def]
    for event in events:
        match event:
            case ("send", which, sender, days):
                world.send(which, sender, days)
            case ("refuse", which, sender, days):
                world.refuse(which, sender, days)
            case ("reply", which, category, days):
                world.reply(which, days, category)
            case ("auto_reply", which, category, days):
                world.reply(which, days, category, kind="auto_reply")
            case ("categorize", which, category):
                world.categorize(which, category)
            case ("bounce", which, days):
                world.bounce(which, days)
            case ("unsubscribe", which):
                world.unsubscribe(which)
            case ("queue", which, from_template, days):
                world.queue(which, from_template, days)
            case ("answer", which, days):
                world.answer(which, days)
            case ("approve", which, days):
                world.approve(which, days)
            case ("take_back", which):
                world.take_back(which)
            case ("resolve", domain):
                provider = (
                    RecipientProvider.google if "gmail" in domain else RecipientProvider.other
                )
                resolved = Resolved(providers={domain: (provider, f"mx.{domain}")})
                recipients.record(session, resolved, START_AT)


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(events=st.lists(EVENT, max_size=30))
def test_rollups_equal_a_full_scan_after_any_sequence_of_events(session, events):
    with session.begin_nested() as example:
        world = Campaigns.made(session.connection(), START_AT, ADDRESSES)
        play(world, session, events)
        assert rollups.differences(session.connection()) == []
        assert approvals.differences(session.connection()) == []
        example.rollback()


def test_a_category_changed_by_a_person_moves_the_positive_reply(session):
    world = Campaigns.made(session.connection(), START_AT, ADDRESSES)
    world.send(0, 0, 1)
    world.reply(0, 2, "not_interested")
    lifetime = Scope(date.min, date.max)
    assert (totals(session, lifetime).replied, totals(session, lifetime).positive) == (1, 0)
    world.categorize(0, "meeting_request")
    assert (totals(session, lifetime).replied, totals(session, lifetime).positive) == (1, 1)
    world.categorize(0, "other")
    assert totals(session, lifetime).positive == 0


def test_what_a_domain_counted_while_unknown_moves_to_its_provider_once_resolved(session):
    world = Campaigns.made(session.connection(), START_AT, ADDRESSES)
    world.send(0, 0, 1)  # ann@gmail.example
    world.reply(0, 2, "interested")
    lifetime = Scope(date.min, date.max)
    assert [(p.provider, p.sent, p.positive) for p in providers(session, lifetime)] == [
        ("unknown", 1, 1)
    ]
    resolved = Resolved(
        providers={"gmail.example": (RecipientProvider.google, "aspmx.l.google.com")}
    )
    recipients.record(session, resolved, START_AT)
    assert [(p.provider, p.sent, p.positive) for p in providers(session, lifetime)] == [
        ("google", 1, 1)
    ]
    world.send(2, 1, 3)  # cy@corp.example, still unknown: noted to be resolved
    assert recipients.unresolved(session) == ["corp.example"]


def test_a_bounce_at_once_counts_against_its_step_without_a_send(session):
    world = Campaigns.made(session.connection(), START_AT, ADDRESSES)
    world.refuse(0, 0, 1)
    [step] = steps(session, Scope(date.min, date.max))
    assert (step.step, step.sent, step.bounced, step.bounce_rate) == (9, 0, 1, None)


def test_verify_names_each_difference_and_exits_1_until_rebuilt(
    backend, databases, tmp_path, monkeypatch
):
    url = databases.fresh_url(backend)
    container = container_on(url, tmp_path)
    with transaction(container.sessions) as session:
        world = Campaigns.made(session.connection(), START_AT, ADDRESSES)
        for day in range(3):
            world.send(day, day, day)
        world.reply(0, 4, "interested")
        session.connection().execute(sa.text("UPDATE analytics_rollups SET sent = sent + 2"))
        session.connection().execute(
            sa.text("UPDATE implicit_approvals SET sent_unreviewed = sent_unreviewed + 1")
        )
    runner = CliRunner()
    monkeypatch.setenv("OUTREACH_DATA_DIR", str(tmp_path / "cli"))
    monkeypatch.setenv("DATABASE_URL", url)
    said = runner.invoke(app, ["analytics", "verify"])
    assert said.exit_code == 1, said.output
    assert "sent 3 (rows say 1)" in said.output
    assert "approvals: sent unreviewed 4 (rows say 3)" in said.output
    assert "kept figures differ from the rows: run `outreach analytics rebuild`" in said.output
    rebuilt = runner.invoke(app, ["analytics", "rebuild"])
    assert rebuilt.exit_code == 0, rebuilt.output
    assert "Rebuilt the analytics" in rebuilt.output
    again = runner.invoke(app, ["analytics", "verify"])
    assert again.exit_code == 0, again.output
    assert "The analytics equal a full scan of the rows." in again.output
    container.close()


def test_verify_and_rebuild_cover_the_lists_sizes_and_the_draft_batches_tallies(
    backend, databases, tmp_path, monkeypatch
):
    url = databases.fresh_url(backend)
    container = container_on(url, tmp_path)
    fill_every_table(container, tmp_path)
    with container.engine.begin() as connection:
        # What a fill with the triggers off, or a hand-made UPDATE, would leave behind.
        connection.execute(sa.text("UPDATE contact_list_sizes SET members = members + 5"))
        connection.execute(sa.text("UPDATE draft_batch_tallies SET jobs = jobs + 2"))
        [[list_name]] = connection.execute(sa.text("SELECT name FROM contact_lists"))
        [[label]] = connection.execute(sa.text("SELECT label FROM draft_batches"))
    monkeypatch.setenv("OUTREACH_DATA_DIR", str(tmp_path / "cli"))
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("COLUMNS", "200")
    runner = CliRunner()
    said = runner.invoke(app, ["analytics", "verify"])
    assert said.exit_code == 1, said.output
    assert f"list {list_name!r}: 9 members (rows say 4)" in said.output
    tallies = re.search(
        rf"draft batch {re.escape(repr(label))}, \w+ jobs: jobs (\d+) \(rows say (\d+)\)",
        said.output,
    )
    assert tallies, said.output
    assert int(tallies[1]) == int(tallies[2]) + 2
    rebuilt = runner.invoke(app, ["analytics", "rebuild"])
    assert "the lists' sizes and the draft batches' tallies" in rebuilt.output
    again = runner.invoke(app, ["analytics", "verify"])
    assert again.exit_code == 0, again.output
    container.close()


@settings(max_examples=3, deadline=None, suppress_health_check=list(HealthCheck))
@given(events=st.lists(EVENT, min_size=5, max_size=25))
def test_rollups_equal_a_full_scan_after_an_export_and_import(
    backend, databases, tmp_path_factory, events
):
    folder = tmp_path_factory.mktemp("export")
    source = container_on(databases.fresh_url(backend), folder / "source")
    with transaction(source.sessions) as session:
        world = Campaigns.made(session.connection(), START_AT, ADDRESSES)
        play(world, session, events)
    exporting.export(source.engine, folder / "export", START)
    target = container_on(databases.fresh_url(backend), folder / "target")
    restoring.restore(target.engine, folder / "export", START)
    with source.engine.connect() as before, target.engine.connect() as after:
        assert rollups.differences(after) == []
        assert rollups.scan(after) == rollups.scan(before)
        assert approvals.differences(after) == []
        assert approvals.scan(after) == approvals.scan(before)
    source.close()
    target.close()
