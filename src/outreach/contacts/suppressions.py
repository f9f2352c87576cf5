"""The suppression list: addresses and whole domains never to email, with why and from where."""

from __future__ import annotations

import re
import uuid
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from pathlib import Path

from sqlalchemy.orm import Session

from outreach.contacts import queries
from outreach.contacts.addresses import check_address, dedupe_key
from outreach.contacts.models import Suppression
from outreach.contacts.queries import ContactFilter
from outreach.contacts.readers import open_table
from outreach.db import get_or_not_found
from outreach.errors import Conflict, NotFound, ValidationFailed
from outreach.words import counted

ADDRESS = r"[^@\s]+@[^@\s]+"
DOMAIN = r"@?(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z][A-Za-z0-9-]{0,62}\.?"
ENTRY = re.compile(rf"^(?:(?P<address>{ADDRESS})|(?P<domain>{DOMAIN}))$")
"""What can be suppressed: an address (any that looks like one: suppressing an address that could
never be imported is harmless) or a domain, with or without a leading @."""


class Reason(StrEnum):
    unsubscribed = "unsubscribed"
    bounced = "bounced"
    complained = "complained"
    manual = "manual"


def parsed(entry: str) -> tuple[str | None, str | None]:
    """(address, None) or (None, domain) from what a person typed, lower-cased as imports
    compare them."""
    match = ENTRY.fullmatch(entry.strip())
    if match is None:
        raise ValidationFailed(
            f"{entry!r} is neither an email address nor a domain.", field="entry"
        )
    if match["address"]:
        checked = check_address(match["address"])
        return dedupe_key(checked.address or match["address"]), None
    return None, match["domain"].lstrip("@").rstrip(".").lower()


def is_suppressed(session: Session, email: str) -> bool:
    """Whether this address, or its whole domain, must not be emailed."""
    return bool(suppressed_of(session, [email]))


def suppressed_of(session: Session, emails: Collection[str]) -> set[str]:
    """Which of these addresses, by themselves or by their whole domain, must not be emailed
    (two queries however many addresses)."""
    keys = {email: dedupe_key(email) for email in emails}
    domains = {email: email.rsplit("@", 1)[-1].lower() for email in emails}
    if not keys:
        return set()
    hit_keys, hit_domains = queries.suppressed_among(session, keys.values(), domains.values())
    return {email for email in emails if keys[email] in hit_keys or domains[email] in hit_domains}


def add(
    session: Session, entry: str, reason: Reason, source: str | None, now: datetime
) -> Suppression:
    email, domain = parsed(entry)
    if queries.suppression_of(session, email, domain):
        raise Conflict(f"{email or domain} is already suppressed.", entry=email or domain)
    added = Suppression(
        email=email, domain=domain, reason=reason.value, source=source, created_at=now
    )
    session.add(added)
    session.flush()
    return added


def remove(session: Session, entry: str) -> None:
    found = queries.suppression_of(session, *parsed(entry))
    if found is None:
        raise NotFound(f"{entry.strip()} is not suppressed.", entry=entry)
    session.delete(found)
    session.flush()


def remove_by_id(session: Session, suppression_id: uuid.UUID) -> None:
    session.delete(get_or_not_found(session, Suppression, suppression_id, "suppression"))
    session.flush()


def suppress_matching(session: Session, where: ContactFilter, source: str, now: datetime) -> int:
    """Suppresses the address of every matching contact (a person's decision: manual), set-based;
    returns how many were not suppressed yet."""
    return queries.suppress_matching(session, where, Reason.manual.value, source, now)


@dataclass
class SuppressionImport:
    added: int = 0
    already: int = 0
    invalid: list[tuple[int, str, str]] | None = None

    def summary(self) -> str:
        """What was done, in a line for the person who asked."""
        already = f" ({self.already} already suppressed)" if self.already else ""
        return f"Suppressed {counted(self.added, 'new entry', 'new entries')}{already}."


def add_many(
    session: Session, entries: Iterable[tuple[int, str]], reason: Reason, source: str, now: datetime
) -> SuppressionImport:
    """Adds each (line, entry); invalid lines are reported, existing ones counted, none fatal."""
    result = SuppressionImport(invalid=[])
    for line, entry in entries:
        if not entry.strip():
            continue
        try:
            email, domain = parsed(entry)
        except ValidationFailed as error:
            result.invalid.append((line, entry, error.message))  # type: ignore[union-attr]
            continue
        if queries.suppression_of(session, email, domain):
            result.already += 1
            continue
        session.add(
            Suppression(
                email=email, domain=domain, reason=reason.value, source=source, created_at=now
            )
        )
        session.flush()
        result.added += 1
    return result


def entries_of_file(path: Path, file_name: str | None = None) -> Iterator[tuple[int, str]]:
    """(line, entry) from the column headed email, domain or address, else the first column.
    A file of bare addresses has no header: its first line is an entry too."""
    with open_table(path, file_name=file_name) as table:
        names = [header.strip().lower() for header in table.headers]
        column = next(
            (i for i, name in enumerate(names) if name in ("email", "domain", "address")), 0
        )
        if ENTRY.fullmatch(names[column].strip()):
            yield 1, table.headers[column]
        for row in table.rows():
            yield row.line, row.values[column]
