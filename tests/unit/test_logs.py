"""Log lines are events with a stable name and key=value fields."""

from __future__ import annotations

import logging

from outreach.logs import EventFormatter


def test_an_event_line_carries_its_fields_quoted_when_needed():
    record = logging.makeLogRecord(
        {
            "msg": "worker.job_done",
            "levelname": "INFO",
            "job": "prune_access",
            "summary": "removed 2 sessions",
        }
    )
    line = EventFormatter().format(record)
    assert line.endswith('INFO worker.job_done job=prune_access summary="removed 2 sessions"')
