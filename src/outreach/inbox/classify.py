"""What an inbound message is, in one vocabulary: a human reply, an auto-reply, a bounce, a
request to be removed, or something else (mailing lists, read receipts, delivery
confirmations).

Pure: a ParsedMessage and `now` in, a Classification out. The rules run in this order, and the
first that holds decides:

1. a delivery report about a failed or delayed delivery is a bounce (a DSN carries
   Auto-Submitted too, so this comes before auto-replies);
2. a read receipt, a spam complaint report or a delivery confirmation is other;
3. Auto-Submitted (RFC 3834), X-Autoreply, X-Autorespond, Precedence: auto_reply, or a subject
   that out-of-office assistants write ("Automatic reply:", "Abwesenheitsnotiz:", "Réponse
   automatique :") make an auto-reply, with the return date when its text gives one;
4. a mailing list or bulk mail (List-Id, List-Post, Precedence bulk/list/junk, a no-reply
   sender) is other;
5. a short reply asking to be removed is an unsubscribe request;
6. anything else is a human reply.

Asking to be removed is read conservatively: a long reply that says "stop" in passing is a
human reply (which stops the sequence anyway); suppressing someone who wanted a conversation
would be the worse mistake.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from outreach.inbox.bounces import Recipient
from outreach.inbox.kinds import Kind
from outreach.inbox.parse import ParsedMessage
from outreach.providers.errors import refuses_our_domain, tenant_limit_reached

__all__ = ["Bounce", "Classification", "Kind", "classify", "return_date", "unsubscribe_phrase"]


@dataclass(frozen=True)
class Bounce:
    hard: bool
    """The email was not delivered and will not be (Action: failed with a 5.x.x status): the
    enrollment is bounced. A soft bounce (delayed, mailbox full, 4.x.x) is recorded only."""
    address_rejected: bool
    """The refusal is about the address itself (no such mailbox, disabled mailbox): suppress
    it. False for a refusal about us or our content (5.7.x spam and policy blocks) and for
    reasons we cannot tell."""
    address: str | None
    """The failed recipient, lowercased; None when the report names nobody."""
    status: str | None
    diagnostic: str | None
    tenant_limit: bool = False
    """Exchange Online refused it because our Microsoft 365 tenant's external recipient limit
    was used up (5.7.233): about the sending tenant, not the recipient, and not final for the
    address (soft); the sender's tenant waits a day."""
    our_domain: bool = False
    """The receiving side refused it for how our domain is authenticated (SPF, DKIM, DMARC:
    5.7.26, 5.7.515 and the like): about us, not the recipient (soft, nobody suppressed); every
    other email from the domain would be refused too, so the sender account waits for a person."""


@dataclass(frozen=True)
class Classification:
    kind: Kind
    reason: str
    """Why, in words, for the person reading the inbox log."""
    bounce: Bounce | None = None
    returns_on: date | None = None
    """For an auto-reply whose text says when its author is back; None when it says nothing
    we can read, or a date in the past."""


def classify(parsed: ParsedMessage, now: datetime) -> Classification:
    """Classify one message (see the module's docstring for the order of the rules)."""
    report = parsed.report
    if report is not None:
        failed = _failure(report.recipients)
        if failed is not None or not report.recipients:
            bounce = _bounce(failed, parsed.subject)
            return Classification(Kind.bounce, _bounce_reason(bounce, report.standard), bounce)
        return Classification(Kind.other, "a delivery report that says the email was delivered")
    if parsed.report_type == "disposition-notification":
        return Classification(Kind.other, "a read receipt (RFC 8098)")
    if parsed.report_type == "feedback-report":
        return Classification(Kind.other, "an abuse or spam complaint report (RFC 5965)")
    automatic = _auto_reply_sign(parsed)
    if automatic is not None:
        back = return_date(parsed.reply_text, now) or return_date(parsed.subject, now)
        return Classification(Kind.auto_reply, automatic, returns_on=back)
    bulk = _bulk_sign(parsed)
    if bulk is not None:
        return Classification(Kind.other, bulk)
    phrase = unsubscribe_phrase(parsed)
    if phrase is not None:
        return Classification(Kind.unsubscribe_request, f"a short reply that says {phrase!r}")
    return Classification(Kind.human_reply, "a reply with no sign of automation")


# Bounces.

_SUCCESS = frozenset({"delivered", "relayed", "expanded"})
_REJECTED_ADDRESS = re.compile(
    r"user unknown|unknown user|unknown recipient|no such (?:user|mailbox|recipient|address)"
    r"|does ?n[o']t exist|address rejected|recipient ?not ?found|user not found|mailbox not found"
    r"|invalid (?:recipient|mailbox)|not a valid (?:recipient|mailbox)"
    r"|account (?:has been )?disabled|mailbox (?:is )?disabled"
    r"|address (?:could ?n[o']t|cannot) be found|unrouteable address",
    re.I,
)
_NOT_ABOUT_THE_ADDRESS = re.compile(r"5\.(?:[3567]\.\d+|1\.[78])\b")
"""Enhanced status codes (RFC 3463) about something other than the recipient's address: the
receiving system (5.3), protocol (5.5), content (5.6), policy and spam (5.7), our own sender
address (5.1.7, 5.1.8)."""
_REJECTED_STATUS = re.compile(r"5\.(?:1\.\d+|2\.1)\b")
_DELAY_SUBJECT = re.compile(r"delay|warning|verzögert|retard", re.I)


def _failure(recipients: tuple[Recipient, ...]) -> Recipient | None:
    """The recipient the report is about: a failed one, else a delayed one."""
    failed = [r for r in recipients if (r.action or "failed") not in _SUCCESS]
    return next((r for r in failed if r.action != "delayed"), next(iter(failed), None))


def _bounce(recipient: Recipient | None, subject: str) -> Bounce:
    if recipient is None:
        # A report that names nobody: what it was about is known only from the email it is
        # matched to, and whether it is final only from its subject.
        hard = _DELAY_SUBJECT.search(subject) is None
        return Bounce(hard, address_rejected=False, address=None, status=None, diagnostic=None)
    status = recipient.status or ""
    diagnostic = recipient.diagnostic or ""
    tenant_limit = tenant_limit_reached(status) or tenant_limit_reached(
        diagnostic.split(" ", 1)[-1]
    )
    our_domain = refuses_our_domain(f"{status} {diagnostic}")
    if recipient.action == "delayed" or status.startswith("4") or tenant_limit or our_domain:
        hard = False
    elif status == "5.2.2":
        hard = False  # mailbox full: it may have room next week
    elif status.startswith("5"):
        hard = True
    else:
        hard = not re.match(r"4\d\d", diagnostic)
    if not hard or _NOT_ABOUT_THE_ADDRESS.match(status):
        rejected = False
    else:
        rejected = bool(_REJECTED_STATUS.match(status)) or bool(
            _REJECTED_ADDRESS.search(diagnostic)
        )
    return Bounce(
        hard,
        rejected,
        recipient.address,
        recipient.status,
        recipient.diagnostic,
        tenant_limit,
        our_domain,
    )


def _bounce_reason(bounce: Bounce, standard: bool) -> str:
    kind = "a delivery report" if standard else "a bounce in a non-standard format"
    who = bounce.address or "an unnamed recipient"
    how = "failed permanently" if bounce.hard else "was delayed or failed for now"
    detail = "; ".join(filter(None, (bounce.status, bounce.diagnostic)))
    return f"{kind}: {who} {how}" + (f" ({detail})" if detail else "")


# Auto-replies.

_AUTO_SUBJECT = re.compile(
    r"^(?:(?:re|aw|wg|tr|fw|fwd)\s*:\s*)*"
    r"(?:automatic reply|auto[- ]?reply|autoreply|auto[- ]?response|auto:|out of (?:the )?office"
    r"|ooo\b|abwesenheitsnotiz|automatische antwort|abwesend|réponse automatique|message d'absence"
    r"|absence\b|absent\b|risposta automatica|respuesta automática|automatisch antwoord|autosvar)",
    re.I,
)


def _auto_reply_sign(parsed: ParsedMessage) -> str | None:
    auto_submitted = (parsed.header("auto-submitted") or "").split(";")[0].strip().lower()
    if auto_submitted and auto_submitted != "no":
        return f"Auto-Submitted: {auto_submitted}"
    for name in ("x-autoreply", "x-autorespond", "x-autogenerated"):
        value = parsed.header(name)
        if value is not None and value.strip().lower() not in ("no", "false", "0"):
            return f"{name}: {value}"
    if "auto_reply" in _precedence(parsed):
        return "Precedence: auto_reply"
    subject = parsed.subject.replace("\xa0", " ")
    if _AUTO_SUBJECT.match(subject):
        return f"the subject says it is automatic ({subject[:60]!r})"
    return None


def _precedence(parsed: ParsedMessage) -> list[str]:
    """Each Precedence value (a message may carry the header twice)."""
    value = parsed.header("precedence") or ""
    return [part.strip().lower() for part in value.split(",")]


# Mailing lists and bulk mail.

_NO_REPLY = re.compile(r"^(?:no-?reply|do-?not-?reply|donotreply|noreply-[^@]*)@", re.I)


def _bulk_sign(parsed: ParsedMessage) -> str | None:
    precedence = next((p for p in _precedence(parsed) if p in ("bulk", "list", "junk")), None)
    if precedence is not None:
        return f"bulk mail (Precedence: {precedence})"
    for name in ("list-id", "list-post"):
        if parsed.header(name) is not None:
            return f"mailing list mail ({name})"
    if parsed.sender is not None and _NO_REPLY.match(parsed.sender):
        return f"sent from a no-reply address ({parsed.sender})"
    return None


# Requests to be removed.

_SHORT_REPLY_WORDS = 60
"""Longer than this, a reply is a conversation, whatever words it uses."""
_BARE_REPLY_WORDS = 8

_REMOVE_ME = re.compile(
    "|".join(
        (
            # English
            r"\bunsubscribe\b",
            r"\bremove\s+(?:me|us|my\s+(?:e-?mail|address|name|details|data)|this\s+address)\b",
            r"\btake\s+(?:me|us|my\s+(?:e-?mail|address|name))\s+off\b",
            r"\boff\s+(?:your|the|this)\s+(?:mailing\s+|e-?mail\s+)?list\b",
            r"\bopt(?:ing)?[\s-]*(?:me\s+)?out\b",
            r"\bstop\s+(?:e-?mailing|mailing|contacting|sending|writing|messaging|spamming)\b",
            r"\b(?:do\s+not|don'?t|never)\s+(?:contact|e-?mail|write\s+to|message)\s+(?:me|us)\b",
            r"\bno\s+(?:more|further)\s+(?:e-?mails|messages|contact)\b",
            r"\bdelete\s+(?:me|my\s+(?:e-?mail|address|data|details))\b",
            # German
            r"\babmelden\b",
            r"\babbestellen\b",
            r"\baustragen\b",
            r"\b(?:aus|von)\s+(?:dem|ihrem|eurem|deinem|ihrer|eurer|der)\s+"
            r"(?:e-?mail-?)?(?:verteiler|liste|mailingliste|newsletter)",
            r"\bkeine\s+(?:weiteren\s+)?(?:e-?mails|mails|nachrichten|werbung)\b",
            r"\bnicht\s+mehr\s+(?:kontaktieren|anschreiben|schreiben|mailen|anmailen)\b",
            r"\b(?:entfernen|löschen)\s+sie\s+(?:mich|meine)\b",
            r"\bmich\s+(?:bitte\s+)?(?:zu\s+)?(?:entfernen|löschen|austragen)\b",
            # French
            r"\bd[ée]sabonne",
            r"\bd[ée]sinscri",
            r"\b(?:me|nous)\s+(?:retirer|supprimer|enlever|rayer)\b",
            r"\b(?:retirez|supprimez|enlevez|rayez)[\s-]*(?:moi|nous)\b",
            r"\bne\s+(?:plus\s+)?me\s+(?:plus\s+)?(?:contacter|écrire|envoyer)\b",
            r"\bne\s+me\s+contactez\s+plus\b",
        )
    ),
    re.IGNORECASE,
)
_BARE_STOP = re.compile(
    r"^\W*(?:stop|stopp|arrêt|arrêtez|unsubscribe|remove|abmelden|désabonner)\W*$",
    re.IGNORECASE | re.MULTILINE,
)
_REPLY_PREFIX = re.compile(r"^(?:(?:re|aw|wg|tr|fw|fwd)\s*:\s*)+", re.I)


def unsubscribe_phrase(parsed: ParsedMessage) -> str | None:
    """The words of a short reply that ask to be removed, None when it does not ask.

    The author's own words (the text above the quote and the signature) count, and the
    subject when the author wrote a new one: at most 60 words carrying an explicit request
    ("unsubscribe", "remove me", "take me off", "abmelden", "désabonner", ...), or at most 8
    words with a line that is only "stop"."""
    own = parsed.reply_text
    words = len(own.split())
    if words > _SHORT_REPLY_WORDS:
        return None
    found = _REMOVE_ME.search(own)
    if found is not None:
        return found.group(0)
    if words <= _BARE_REPLY_WORDS:
        bare = _BARE_STOP.search(own)
        if bare is not None:
            return bare.group(0).strip()
    # A subject the author wrote ("Unsubscribe") counts; ours with "Re:" in front does not,
    # except when the author replaced it with only the word.
    subject = parsed.subject.strip()
    unprefixed = _REPLY_PREFIX.sub("", subject)
    if words <= _BARE_REPLY_WORDS and _BARE_STOP.fullmatch(unprefixed):
        return unprefixed
    if unprefixed == subject and (found := _REMOVE_ME.search(subject)) is not None:
        return found.group(0)
    return None


# Return dates in out-of-office text.

_MONTHS = {
    **dict.fromkeys(("january", "jan", "januar", "jänner", "janvier", "janv"), 1),
    **dict.fromkeys(("february", "feb", "februar", "février", "fevrier", "févr", "fevr"), 2),
    **dict.fromkeys(("march", "mar", "märz", "maerz", "mrz", "mars"), 3),
    **dict.fromkeys(("april", "apr", "avril", "avr"), 4),
    **dict.fromkeys(("may", "mai"), 5),
    **dict.fromkeys(("june", "jun", "juni", "juin"), 6),
    **dict.fromkeys(("july", "jul", "juli", "juillet", "juil"), 7),
    **dict.fromkeys(("august", "aug", "août", "aout"), 8),
    **dict.fromkeys(("september", "sep", "sept", "septembre"), 9),
    **dict.fromkeys(("october", "oct", "oktober", "okt", "octobre"), 10),
    **dict.fromkeys(("november", "nov", "novembre"), 11),
    **dict.fromkeys(("december", "dec", "dezember", "dez", "décembre", "decembre", "déc"), 12),
}
_MONTH = "(?P<month>" + "|".join(sorted(map(re.escape, _MONTHS), key=len, reverse=True)) + r")\b\.?"
_DATES = (
    re.compile(r"(?P<year>\d{4})-(?P<m>\d{1,2})-(?P<day>\d{1,2})\b"),
    re.compile(
        rf"\b(?P<day>\d{{1,2}})(?:st|nd|rd|th|er|\.)?\s*(?:of\s+)?{_MONTH}"
        r"(?:,?\s+(?P<year>\d{4})\b)?",
        re.IGNORECASE,
    ),
    re.compile(
        rf"\b{_MONTH}\s+(?P<day>\d{{1,2}})(?:st|nd|rd|th)?\b(?:,?\s+(?P<year>\d{{4}})\b)?",
        re.IGNORECASE,
    ),
    re.compile(
        r"\b(?P<a>\d{1,2})(?P<sep>[./])(?P<b>\d{1,2})(?:(?P=sep)(?P<year>\d{4}|\d{2}))?(?![\d/])"
    ),
)
_INCLUSIVE_AFTER = re.compile(
    r"\s*(?:\(|,)?\s*(?:inclus|inclusive|einschließlich|inklusive)\b", re.I
)


@dataclass(frozen=True)
class _Trigger:
    pattern: re.Pattern[str]
    until: bool
    """The date is the last day away ("until", "bis", "jusqu'au"), not the first day back."""
    day_first: bool
    """How to read 03/04: German and French write the day first; English may not."""
    inclusive: bool = False
    """The last day away is named as such ("through", "bis einschließlich"): back the day
    after. A plain "until 6 March" is taken as back on the 6th; "until 6 March inclusive" as
    the 7th."""


def _trigger(pattern: str, *, until: bool, day_first: bool, inclusive: bool = False) -> _Trigger:
    return _Trigger(re.compile(pattern, re.IGNORECASE), until, day_first, inclusive)


_TRIGGERS = (
    _trigger(
        r"\bback\b(?:\s+(?:in|at|to)\s+(?:the\s+)?(?:office|work|my\s+desk))?(?:\s+(?:on|from))?",
        until=False,
        day_first=False,
    ),
    _trigger(
        r"\breturn(?:ing|s)?\b(?:\s+to\s+(?:the\s+)?(?:office|work))?(?:\s+on)?",
        until=False,
        day_first=False,
    ),
    _trigger(
        r"\b(?:available|reachable|in\s+the\s+office)\s+(?:again\s+)?(?:on|from)\b",
        until=False,
        day_first=False,
    ),
    _trigger(r"\b(?:until|till)\b", until=True, day_first=False),
    _trigger(
        r"\b(?:through|thru|until\s+and\s+including)\b", until=True, day_first=False, inclusive=True
    ),
    _trigger(r"\bab\b(?:\s+(?:dem|den))?", until=False, day_first=True),
    _trigger(r"\b(?:zurück|wieder)\s+(?:am|ab)\b", until=False, day_first=True),
    _trigger(r"\bbis\b(?:\s+zum)?", until=True, day_first=True),
    _trigger(
        r"\bbis\s+(?:zum\s+)?(?:einschließlich|einschl\.|inklusive|inkl\.)",
        until=True,
        day_first=True,
        inclusive=True,
    ),
    _trigger(
        r"\bde\s+retour\b(?:\s+au\s+bureau)?(?:\s+(?:le|à\s+partir\s+du|dès\s+le))?",
        until=False,
        day_first=True,
    ),
    _trigger(
        r"\b(?:retour\s+(?:prévu\s+)?le|à\s+partir\s+du|dès\s+le)\b", until=False, day_first=True
    ),
    _trigger(r"\bjusqu\s*['\u2019]\s*(?:au|à)\b", until=True, day_first=True),
)
_WINDOW = 50
"""Characters after a trigger word in which its date must start: room for a weekday, "the",
"Montag, den"."""
_NO_YEAR_HORIZON = timedelta(days=183)
_HORIZON = timedelta(days=366)
_MAX_TEXT = 5_000


def return_date(text: str, now: datetime) -> date | None:
    """The first day its author is back, from an out-of-office text in English, German or
    French: "I will be back on 3 March", "ab dem 03.03.2026 wieder", "de retour le 3 mars",
    "out until 6 March inclusive" (the day after an inclusive last day).

    The latest such date in the text wins (absences are often given as from-to). None when no
    date can be read, when it is past, more than a year ahead, or (without a year) more than
    six months ahead; and for dates like 03/04 in English, which could be either month."""
    today = now.date()
    text = text[:_MAX_TEXT]
    found: list[date] = []
    for trigger in _TRIGGERS:
        for hit in trigger.pattern.finditer(text):
            window = text[hit.end() : hit.end() + _WINDOW]
            day = _first_date(window, trigger, today)
            if day is not None:
                found.append(day)
    return max(found, default=None)


def _first_date(window: str, trigger: _Trigger, today: date) -> date | None:
    hits = sorted(
        (hit for rule in _DATES for hit in rule.finditer(window)), key=lambda h: h.start()
    )
    for hit in hits:
        if window[: hit.start()].count("\n") > 1:
            break  # a date two lines further down belongs to another sentence
        day = _date_of(hit, trigger.day_first, today)
        if day is None:
            continue
        inclusive = trigger.inclusive or _INCLUSIVE_AFTER.match(window, hit.end()) is not None
        if trigger.until and inclusive:
            day += timedelta(days=1)
        return day
    return None


def _date_of(hit: re.Match[str], day_first: bool, today: date) -> date | None:
    groups = hit.groupdict()
    if groups.get("month"):
        month = _MONTHS.get(groups["month"].lower().rstrip("."))
        day = int(groups["day"])
    elif groups.get("m"):
        month, day = int(groups["m"]), int(groups["day"])
    else:
        a, b = int(groups["a"]), int(groups["b"])
        if groups["sep"] == "." or day_first or a > 12:
            day, month = a, b
        elif b > 12:
            month, day = a, b
        else:
            return None  # 03/04 in English: March or April
    if month is None:
        return None
    year_text = groups.get("year")
    if year_text:
        year = int(year_text) + (2000 if len(year_text) == 2 else 0)
        candidate = _valid(year, month, day)
        if candidate is None or not today <= candidate <= today + _HORIZON:
            return None
        return candidate
    for year in (today.year, today.year + 1):
        candidate = _valid(year, month, day)
        if candidate is not None and candidate >= today:
            return candidate if candidate <= today + _NO_YEAR_HORIZON else None
    return None


def _valid(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None
