"""Words shared by every place that talks to a person: the CLI, the pages, the reports."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

UTC_ZONE = ZoneInfo("UTC")


def counted(number: int, noun: str, plural: str | None = None) -> str:
    """The number with its noun agreeing: "1 contact", "2 contacts", "0 contacts";
    `plural` for nouns that do not just take an s ("1 entry", "2 entries"); thousands are
    grouped as people read them ("1,234 contacts")."""
    return f"{number:,} {noun if number == 1 else plural or noun + 's'}"


UNITS = (("day", 86400), ("hour", 3600), ("minute", 60), ("second", 1))


def spoken(value: str) -> str:
    """A stored name as people say it: "in_progress" is "in progress", "second_followup" is
    "second follow-up"."""
    return value.replace("_", " ").replace("followup", "follow-up")


def changed_counts(kept: object, scanned: object, counts: Sequence[str]) -> str:
    """The counts of `kept` that are not `scanned`'s, as verify says them: "sent 3 (rows say
    1), sent unreviewed 4 (rows say 3)"."""
    return ", ".join(
        f"{spoken(c)} {getattr(kept, c)} (rows say {getattr(scanned, c)})"
        for c in counts
        if getattr(kept, c) != getattr(scanned, c)
    )


def duration(span: timedelta) -> str:
    """A span in the largest unit that measures it whole: "30 days", "6 hours", "1 day"."""
    seconds = int(span.total_seconds())
    unit, size = next((unit, size) for unit, size in UNITS if seconds % size == 0)
    return counted(seconds // size, unit)


def frequency(span: timedelta) -> str:
    """How often something runs: "every day", "every 6 hours"."""
    return "every " + duration(span).removeprefix("1 ")


def percentage(share: float | None) -> str:
    """A share as a percentage with one decimal ("4.2%"), or a dash when there is none (a
    rate over nothing sent)."""
    return "—" if share is None else f"{share:.1%}"


def time_in_zone(at: datetime, zone: ZoneInfo = UTC_ZONE, form: str = "%Y-%m-%d %H:%M") -> str:
    """`at` as clocks in `zone` read it, named by the zone's IANA name, the one a person chose:
    "2026-03-02 10:00 Europe/Berlin". Every time written for a person goes through here; pages
    pass the viewer's zone, the CLI and the API keep the default, UTC."""
    return f"{at.astimezone(zone).strftime(form)} {zone.key}"
