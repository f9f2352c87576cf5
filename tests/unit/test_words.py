"""Counts in words: the noun agrees with the number wherever a person reads one."""

from __future__ import annotations

from datetime import timedelta

from outreach.web.rendering import TEMPLATES
from outreach.words import counted, duration, frequency


def test_one_of_a_thing_is_singular_and_any_other_number_plural():
    assert counted(1, "contact") == "1 contact"
    assert counted(2, "contact") == "2 contacts"
    assert counted(0, "contact") == "0 contacts"


def test_a_noun_with_its_own_plural_says_it():
    assert counted(1, "new entry", "new entries") == "1 new entry"
    assert counted(3, "new entry", "new entries") == "3 new entries"


def test_pages_count_with_the_same_words():
    template = TEMPLATES.env.from_string('{{ size|counted("contact") }}')
    assert template.render(size=1) == "1 contact"
    assert template.render(size=5) == "5 contacts"


def test_a_backup_schedule_reads_as_a_person_says_it():
    assert frequency(timedelta(days=1)) == "every day"
    assert frequency(timedelta(hours=1)) == "every hour"
    assert frequency(timedelta(hours=6)) == "every 6 hours"
    assert duration(timedelta(days=30)) == "30 days"
    assert duration(timedelta(days=1)) == "1 day"
    assert duration(timedelta(minutes=90)) == "90 minutes"
