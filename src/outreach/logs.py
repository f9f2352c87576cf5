"""Structured logs: each line is an event with a stable name and its fields as key=value.

logger.info("worker.job_done", extra={"job": "prune_access", "summary": "..."})
2026-03-02T10:00:00Z INFO worker.job_done job=prune_access summary="..."
"""

from __future__ import annotations

import json
import logging
import time

# Attributes every LogRecord has; anything else was passed in `extra` and is a field.
_STANDARD = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}


class EventFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        fields = {key: value for key, value in record.__dict__.items() if key not in _STANDARD}
        at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(record.created))
        parts = [at, record.levelname, record.getMessage()]
        parts += [f"{key}={_field(value)}" for key, value in fields.items()]
        line = " ".join(parts)
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


def _field(value: object) -> str:
    text = str(value)
    return json.dumps(text) if not text or any(char in text for char in ' "=') else text


def configure(level: int = logging.INFO) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(EventFormatter())
    logging.basicConfig(level=level, handlers=[handler], force=True)
    logging.getLogger("alembic").setLevel(logging.WARNING)
