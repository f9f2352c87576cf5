"""A batch of drafts says where it stands in people's words, and speaks of tokens and cost only
when an AI wrote some of its drafts."""

from __future__ import annotations

from collections import Counter

from outreach.drafts.batches import Progress, by_ai
from outreach.drafts.models import DraftBatch
from outreach.drafts.writers.template import MODEL as TEMPLATE_MODEL


def progress(models: tuple[str, ...] = (), **counts: int) -> Progress:
    return Progress(batch=DraftBatch(label="List Pioneers"), counts=Counter(counts), models=models)


def test_a_running_batch_says_how_many_are_written_and_to_go_and_skipped():
    running = progress(written=2, queued=24, writing=1)
    assert running.words == "2 written, 25 to go (0 skipped)"


def test_failures_are_named_only_when_there_are_some():
    assert (
        progress(written=3, skipped=1, failed=2).words == "3 written, 0 to go (1 skipped), 2 failed"
    )


def test_only_drafts_an_ai_wrote_have_tokens_and_a_cost():
    assert not progress(models=(TEMPLATE_MODEL,)).ai_wrote
    assert not progress().ai_wrote
    assert progress(models=(TEMPLATE_MODEL, "claude-sonnet-4-5")).ai_wrote
    assert not by_ai(None)
    assert by_ai("claude-sonnet-4-5")
