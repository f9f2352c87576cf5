"""Which mail provider a sender account sends through, from how it reaches its mailbox."""

from __future__ import annotations

from enum import StrEnum
from typing import NamedTuple


class Provider(StrEnum):
    google = "google"
    microsoft = "microsoft"
    smtp = "smtp"
    """A server of the user's own or their host's: reverse DNS and STARTTLS are checked too."""
    outbox = "outbox"
    """The local outbox sends nothing: only the domain's own records are checked."""


MICROSOFT_SMTP_HOSTS = ("office365.com", "outlook.com")


def provider_of(kind: str, smtp_host: str | None) -> Provider:
    """A sender account's provider, from how it sends."""
    if kind == "graph":
        return Provider.microsoft
    if kind != "smtp":
        return Provider.outbox
    host = (smtp_host or "").lower().rstrip(".")
    if host.endswith(("gmail.com", "googlemail.com", "google.com")):
        return Provider.google
    if host.endswith(MICROSOFT_SMTP_HOSTS):
        return Provider.microsoft
    return Provider.smtp


class Server(NamedTuple):
    host: str
    port: int
    security: str


class Preset(NamedTuple):
    """Where a provider's mailboxes send (SMTP) and are read (IMAP): what a person adding one
    need not type."""

    smtp: Server
    imap: Server


PRESETS = {
    Provider.google: Preset(
        Server("smtp.gmail.com", 587, "starttls"), Server("imap.gmail.com", 993, "tls")
    ),
    Provider.microsoft: Preset(
        Server("smtp.office365.com", 587, "starttls"), Server("outlook.office365.com", 993, "tls")
    ),
}
