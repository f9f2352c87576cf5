"""Checking contact email addresses at import speed, in exact agreement with email-validator.

email-validator is the authority on what a valid address is and what its stored
(normalized) form looks like. It checks ~40,000 addresses a second on one core, too slow
for imports of a million rows, so ordinary addresses take a fast path: one compiled regex
and a few string checks that accept only addresses email-validator 2.4.0 accepts, and
produce the same normalized form. Everything else, including every non-ASCII address,
goes to email-validator itself. The fast path never rejects: a blank cell is the only
thing decided here without the library.

Pure: no database, no I/O, no logging.
"""

from __future__ import annotations

import re
from typing import NamedTuple

import email_validator
from email_validator import EmailNotValidError, validate_email
from email_validator.rfc_constants import CASE_INSENSITIVE_MAILBOX_NAMES

__all__ = [
    "NO_ADDRESS",
    "ROLE_LOCAL_PARTS",
    "CheckedAddress",
    "check_address",
    "dedupe_key",
    "domain_of",
]

NO_ADDRESS = "no email address"

ROLE_LOCAL_PARTS: frozenset[str] = frozenset(
    {
        "abuse",
        "accounting",
        "accounts",
        "admin",
        "administrator",
        "admissions",
        "billing",
        "bookings",
        "careers",
        "community",
        "compliance",
        "contact",
        "contactus",
        "customercare",
        "customerservice",
        "customer.service",
        "donotreply",
        "do-not-reply",
        "enquiries",
        "enquiry",
        "events",
        "feedback",
        "finance",
        "ftp",
        "hello",
        "help",
        "helpdesk",
        "hiring",
        "hostmaster",
        "hr",
        "info",
        "information",
        "inquiries",
        "inquiry",
        "investors",
        "invoices",
        "jobs",
        "legal",
        "mail",
        "mailer-daemon",
        "marketing",
        "media",
        "newsletter",
        "noc",
        "no-reply",
        "no_reply",
        "noreply",
        "office",
        "orders",
        "partners",
        "partnerships",
        "payments",
        "postmaster",
        "press",
        "privacy",
        "purchasing",
        "reception",
        "recruiting",
        "recruitment",
        "reservations",
        "root",
        "sales",
        "security",
        "service",
        "shop",
        "staff",
        "support",
        "sysadmin",
        "team",
        "webmaster",
        "welcome",
    }
)
"""Local parts (lower case, without a "+tag") that reach a team or a machine, not a person."""


class CheckedAddress(NamedTuple):
    """The verdict on one imported address (a named tuple: one is built per imported row).

    `address` is exactly `validate_email(raw.strip(), check_deliverability=False).normalized`
    when the address is valid and None when it is not; `problem` says why it is invalid, in
    words fit for an import report; `role` flags a valid address that reaches a team
    (info@, sales+eu@, ...) rather than a person.
    """

    address: str | None
    problem: str | None
    role: bool


def check_address(raw: str, *, deliverability: bool = False) -> CheckedAddress:
    """Check one address as typed in a spreadsheet cell.

    Surrounding whitespace is ignored and a blank cell is "no email address". Otherwise the
    answer is email-validator's, called with its default options: ordinary addresses are
    answered by a fast path proven to agree with it, everything else by the library itself.
    With `deliverability` the library also asks DNS whether the domain takes mail, so the
    fast path is not used.
    """
    candidate = raw.strip()
    if not candidate:
        return CheckedAddress(None, NO_ADDRESS, False)
    # The fast path only knows syntax: when DNS must be asked, every address goes to the library.
    normalized = None if deliverability else _fast(candidate)
    if normalized is None:
        try:
            checked = validate_email(candidate, check_deliverability=deliverability)
        except EmailNotValidError as error:
            return CheckedAddress(None, str(error), False)
        normalized = checked.normalized
    return CheckedAddress(normalized, None, _is_role(normalized))


def dedupe_key(address: str) -> str:
    """The key two checked addresses are duplicates by: the database's unique index is on
    lower(email)."""
    return address.lower()


def domain_of(address: str) -> str:
    """The lower-cased domain of a checked address, as domain suppressions are keyed."""
    return address.rpartition("@")[2].lower()


PERSONAL_DOMAINS: frozenset[str] = frozenset(
    {
        "gmail.com",
        "googlemail.com",
        "outlook.com",
        "hotmail.com",
        "hotmail.co.uk",
        "hotmail.fr",
        "live.com",
        "msn.com",
        "yahoo.com",
        "yahoo.co.uk",
        "yahoo.fr",
        "yahoo.de",
        "ymail.com",
        "icloud.com",
        "me.com",
        "mac.com",
        "aol.com",
        "proton.me",
        "protonmail.com",
        "pm.me",
        "gmx.de",
        "gmx.net",
        "gmx.com",
        "web.de",
        "t-online.de",
        "freenet.de",
        "mail.ru",
        "yandex.ru",
        "yandex.com",
        "qq.com",
        "163.com",
        "126.com",
        "orange.fr",
        "free.fr",
        "laposte.net",
        "wanadoo.fr",
        "libero.it",
        "zoho.com",
        "fastmail.com",
        "hey.com",
        "mail.com",
    }
)
"""Mailbox providers whose addresses belong to people, not to one company: two contacts at
gmail.com are not colleagues."""


def company_domain(address: str) -> str | None:
    """The domain that makes contacts colleagues, or None for a personal mailbox provider."""
    domain = domain_of(address)
    return None if domain in PERSONAL_DOMAINS else domain


def _is_role(address: str) -> bool:
    # A checked address has no quoted local part (email-validator refuses them by default),
    # so its last "@" separates local part and domain.
    local = address.rpartition("@")[0]
    return local.partition("+")[0].lower() in ROLE_LOCAL_PARTS


# The fast path below was proven against this release's source (syntax.py, rfc_constants.py,
# validate_email.py). Another release may add a rule, so then every address takes the slow
# path until someone re-reads the source; the unit tests fail loudly when that happens.
_PROVEN_AGAINST = "2.4.0"
_FAST_PATH_ON = email_validator.__version__ == _PROVEN_AGAINST

_EMAIL_MAX_LENGTH = 254  # email-validator checks the whole address against RFC 5321's 254
_LOCAL_MAX_LENGTH = 64  # email-validator checks this only with strict=True; we defer beyond it

# Spelled out in ASCII, never \w, \d or IGNORECASE: those also match non-ASCII characters
# (the Kelvin sign K matches k under IGNORECASE) that email-validator treats differently.
# The local part is email-validator's DOT_ATOM_TEXT: RFC 5322 atext separated by single dots.
_ATEXT = "[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]"
_LOCAL = _ATEXT + "++(?:\\." + _ATEXT + "++)*+"
# A hostname label (RFC 952/1123): 1 to 63 letters, digits and hyphens (RFC 1035 2.3.1),
# starting with a letter or digit and, by the look-behind, not ending with a hyphen.
_LABEL = "[A-Za-z0-9][A-Za-z0-9-]{0,62}+(?<!-)"
# At least one dot, and a TLD of letters only: email-validator wants a dot and a domain that
# ends with a letter; an all-letter TLD of 2 to 63 characters is the ordinary subset of that.
_DOMAIN = "(?:" + _LABEL + "\\.)++([A-Za-z]{2,63})"
# The possessive quantifiers (Python 3.11+) only spare backtracking: every repeated piece is
# followed by a character it cannot contain (".", "@" or the end), so giving characters back
# could never lead to a match, and the pattern accepts exactly what the greedy one would.
_ORDINARY = re.compile("(" + _LOCAL + ")@(" + _DOMAIN + ")")

# SPECIAL_USE_DOMAIN_NAMES rejects a name and everything under it; taking each name's last
# label makes this a per-TLD check that is never looser than the library's, whatever it holds.
_SPECIAL_USE_TLDS = frozenset(
    name.rpartition(".")[2].lower() for name in email_validator.SPECIAL_USE_DOMAIN_NAMES
)
# RFC 2142 mailbox names email-validator lower-cases in a local part (Info@ is stored as info@).
_CASE_INSENSITIVE_LOCAL_PARTS = frozenset(CASE_INSENSITIVE_MAILBOX_NAMES)
_LONGEST_CASE_INSENSITIVE = max(map(len, _CASE_INSENSITIVE_LOCAL_PARTS))


def _fast(address: str) -> str | None:
    """email-validator's normalized form of an ordinary, already trimmed ASCII address, or
    None for "not sure: ask email-validator". It accepts only addresses the library accepts
    and never decides that an address is invalid.
    """
    # Checked first: it is the library's limit on the address as given, and it keeps the
    # regex below from ever running over a long input.
    if not _FAST_PATH_ON or len(address) > _EMAIL_MAX_LENGTH:
        return None
    match = _ORDINARY.fullmatch(address)
    if match is None:
        return None
    local, domain, tld = match.groups()
    if (
        len(local) > _LOCAL_MAX_LENGTH
        # "--" covers two rules: Punycode ("xn--") labels are decoded to Unicode in the
        # normalized form, and other labels with "--" in 3rd/4th place are refused (RFC 5890).
        or "--" in domain
        or tld.lower() in _SPECIAL_USE_TLDS
    ):
        return None
    if len(local) <= _LONGEST_CASE_INSENSITIVE and local.lower() in _CASE_INSENSITIVE_LOCAL_PARTS:
        local = local.lower()
    # UTS-46 mapping of an ASCII hostname is lower-casing, and nothing else here changes it.
    return local + "@" + domain.lower()
