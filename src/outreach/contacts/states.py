"""Upload batches as a state machine.

uploaded → pending → processing → completed | failed. A file lands `uploaded` while its
mapping is chosen; confirming makes it `pending` for an importer to claim. A failed batch can be
confirmed again (it resumes where it stopped), and a completed or failed one can be undone.
The seed's rows only ever say pending, processing, completed or failed, so its batches fit.
"""

from __future__ import annotations

from enum import StrEnum

from outreach.states import Lifecycle


class UploadStatus(StrEnum):
    uploaded = "uploaded"
    pending = "pending"
    processing = "processing"
    completed = "completed"
    failed = "failed"
    undone = "undone"


UPLOADS = Lifecycle[UploadStatus](
    noun="upload",
    moves={
        UploadStatus.pending: frozenset({UploadStatus.uploaded, UploadStatus.failed}),
        # processing → processing: a batch whose importer stopped sending heartbeats is reclaimed.
        UploadStatus.processing: frozenset({UploadStatus.pending, UploadStatus.processing}),
        UploadStatus.completed: frozenset({UploadStatus.processing}),
        UploadStatus.failed: frozenset({UploadStatus.processing}),
        UploadStatus.undone: frozenset({UploadStatus.completed, UploadStatus.failed}),
    },
)


class Outcome(StrEnum):
    """What became of one row of a file: exactly one per row."""

    imported = "imported"
    updated = "updated"
    duplicate = "duplicate"
    invalid = "invalid"
    suppressed = "suppressed"
