"""Which mailbox a sender account's replies arrive in, when the provider that sends is not the
one that reads: an SMTP account reads its replies over IMAP. A Graph account reads its own
mailbox through Graph and needs nothing here.

The IMAP settings live in the account's settings JSON under "imap" ({host, port, security,
username, folder}); the password is the sealed SMTP password unless an `imap_password` is
sealed beside it. Building a reader from them is the container's (container.imap_settings).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from outreach.errors import ValidationFailed
from outreach.sealing import seal, unseal
from outreach.senders import service as senders
from outreach.senders.models import SenderAccount

SECURITIES = ("tls", "starttls", "none")


@dataclass(frozen=True)
class ImapMailbox:
    host: str
    port: int = 993
    security: str = "tls"
    username: str | None = None
    """The SMTP account's username (else its address) when not given."""
    folder: str = "INBOX"

    def checked(self, account: SenderAccount) -> dict[str, Any]:
        if not self.host.strip():
            raise ValidationFailed("An IMAP mailbox needs the server's host name.", field="host")
        if not 0 < self.port < 65536:
            raise ValidationFailed("The IMAP port is between 1 and 65535.", field="port")
        if self.security not in SECURITIES:
            raise ValidationFailed("Security is tls, starttls or none.", field="security")
        if not self.folder.strip():
            raise ValidationFailed("Name the folder replies arrive in.", field="folder")
        smtp_username = (account.settings or {}).get("username")
        return {
            "host": self.host.strip(),
            "port": self.port,
            "security": self.security,
            "username": (self.username or "").strip() or smtp_username or account.email,
            "folder": self.folder.strip(),
        }


def set_imap(
    session: Session,
    sender_id: uuid.UUID,
    mailbox: ImapMailbox,
    *,
    secret_key: str,
    password: str | None = None,
) -> SenderAccount:
    """Reads `sender_id`'s replies from this IMAP mailbox from now on. `password` is sealed as
    the IMAP password; without one the SMTP password signs in."""
    account = senders.get(session, sender_id)
    if account.kind != senders.SenderKind.smtp.value:
        raise ValidationFailed(
            f"{account.email} is not an SMTP account (its kind is {account.kind}): only SMTP "
            "accounts read replies over IMAP (a Graph account reads its own mailbox).",
            field="kind",
        )
    account.settings = {**(account.settings or {}), "imap": mailbox.checked(account)}
    if password:
        secrets = unseal(secret_key, account.secret)
        account.secret = seal(secret_key, {**secrets, "imap_password": password})
    session.flush()
    return account


def clear_imap(session: Session, sender_id: uuid.UUID, *, secret_key: str) -> SenderAccount:
    """Stops reading `sender_id`'s replies over IMAP."""
    account = senders.get(session, sender_id)
    account.settings = {k: v for k, v in (account.settings or {}).items() if k != "imap"}
    secrets = unseal(secret_key, account.secret)
    if "imap_password" in secrets:
        del secrets["imap_password"]
        account.secret = seal(secret_key, secrets) if secrets else None
    session.flush()
    return account
