"""The transport for a user with no mail account yet: each email is written as an .eml file
into a folder, where it can be opened in a mail program, and nothing is sent."""

from __future__ import annotations

import errno
import hashlib
import os
import re
import tempfile
from datetime import UTC
from pathlib import Path

from outreach.providers.compose import to_bytes
from outreach.providers.errors import AccountError, PermanentError, TransientError
from outreach.providers.message import OutgoingMessage, SentMessage

__all__ = ["OutboxTransport"]

_DISK_FULL = {errno.ENOSPC, errno.EDQUOT}
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


class OutboxTransport:
    """Writes each email to `folder` as `<UTC date>-<Message-ID>.eml`, atomically (a temporary
    file renamed into place), so the folder never holds half an email.

    The name depends only on the email, so sending the same email again replaces its file
    instead of adding a second one. Only a full disk is worth retrying (TransientError);
    any other failure to write means the folder is unusable (AccountError). Safe to use
    from several threads.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def send(self, message: OutgoingMessage) -> SentMessage:
        try:
            data = to_bytes(message)
        except ValueError as error:
            raise PermanentError(f"The email could not be put together: {error}") from error
        try:
            self._write(self.folder / _file_name(message), data)
        except OSError as error:
            raise self._error(error) from error
        return SentMessage(message_id=message.message_id)

    def check(self) -> str:
        """Make sure the folder exists and a file can be written into it."""
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryFile(dir=self.folder, prefix=".check-") as probe:
                probe.write(b"ok")
        except OSError as error:
            raise AccountError(self._error(error).reason) from error
        return f"Emails are saved as .eml files in {self.folder}; nothing is sent."

    def close(self) -> None:
        """Nothing is held open between sends."""

    def _write(self, path: Path, data: bytes) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".", suffix=".tmp")
        try:
            with os.fdopen(handle, "wb") as file:
                file.write(data)
                file.flush()
                os.fsync(file.fileno())
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        _sync_directory(path.parent)

    def _error(self, error: OSError) -> AccountError | TransientError:
        what = error.strerror or str(error)
        if error.errno in _DISK_FULL:
            return TransientError(f"The disk holding {self.folder} is full ({what}).")
        return AccountError(f"Cannot write emails into {self.folder}: {what}.")


def _file_name(message: OutgoingMessage) -> str:
    """Sortable by time, recognisable by Message-ID, and the same every time for one email. A
    short hash of the exact id keeps two ids that read alike once made safe apart."""
    at = message.date.astimezone(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    safe = _UNSAFE.sub("_", message.message_id.strip("<>"))[:120].strip("._") or "message"
    digest = hashlib.sha256(message.message_id.encode("utf-8")).hexdigest()[:8]
    return f"{at}-{safe}-{digest}.eml"


def _sync_directory(folder: Path) -> None:
    """Make the rename itself durable (POSIX); where directories cannot be opened, skip it."""
    if not hasattr(os, "O_DIRECTORY"):
        return
    descriptor = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
