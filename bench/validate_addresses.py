"""Addresses checked per second: check_address against email-validator alone, same list, same run.

    .venv/bin/python bench/validate_addresses.py [N]      (default N = 200,000)

The list looks like a contact import: mostly ordinary addresses with mixed case and some
surrounding whitespace, ~3% role addresses, ~1% invalid, ~0.3% internationalized. Both
figures are single-core rates measured with time.perf_counter. The script also checks that
both give the same answer for every address and exits non-zero if they do not.
"""

from __future__ import annotations

import random
import sys
import time
from collections.abc import Callable

from email_validator import EmailNotValidError, validate_email

from outreach.contacts.addresses import _fast, check_address


def words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


FIRST = words(
    "james mary john patricia robert jennifer michael linda william elizabeth david barbara "
    "richard susan joseph jessica thomas sarah charles karen christopher lisa daniel nancy "
    "matthew betty anthony sandra mark margaret donald ashley steven kimberly paul emily "
    "andrew donna joshua michelle kenneth carol kevin amanda brian melissa george deborah "
    "ahmed fatima wei mei hiroshi yuki olga ivan lucia mateo chloe noah sofia liam"
)
LAST = words(
    "smith johnson williams brown jones garcia miller davis rodriguez martinez hernandez "
    "lopez gonzalez wilson anderson thomas taylor moore jackson martin lee perez thompson "
    "white harris sanchez clark ramirez lewis robinson walker young allen king wright scott "
    "torres nguyen hill flores green adams nelson baker hall rivera campbell mitchell carter "
    "obrien mueller schmidt rossi dubois kowalski tanaka chen singh patel"
)
WEBMAIL = words(
    "gmail.com outlook.com hotmail.com yahoo.com icloud.com proton.me aol.com gmx.de "
    "web.de yahoo.co.uk hotmail.fr orange.fr libero.it mail.ru qq.com"
)
WORDS = words(
    "acme north blue river stone bright cloud data logic green peak summit harbor "
    "iron maple nova pixel quantum solar vertex atlas beacon cedar delta ember"
)
SUFFIXES = words("corp labs group tech systems consulting partners media works")
TLDS = words("com com com com io co.uk de fr nl com.au ca ch se es it net org co")
ROLES = words("info sales support hello contact office admin team billing marketing")
UNICODE = (
    "j\u00f6rg@m\u00fcller.de",
    "zo\u00eb@caf\u00e9.fr",
    "andr\u00e9@soci\u00e9t\u00e9.fr",
    "\u7528\u6237@\u4f8b\u5b50.\u5e7f\u544a",
    "\u0438\u0432\u0430\u043d@\u043f\u0440\u0438\u043c\u0435\u0440.\u0440\u0444",
    "jane@xn--mller-kva.de",
)
INVALID = (
    "jane.doe.example.com",
    "jane..doe@example.com",
    "jane.doe@example",
    ".jane@example.com",
    "jane.@example.com",
    "jane doe@example.com",
    "@example.com",
    "jane@",
    "jane@@example.com",
    "jane@exa_mple.com",
    "jane@localhost",
    "jane@example.123",
    "jane@printer.local",
    "Jane Doe <jane@example.com>",
    "jane@-example.com",
)


def company_domain(rng: random.Random) -> str:
    name = rng.choice(WORDS) + rng.choice(("", "-", "")) + rng.choice(SUFFIXES)
    return f"{name}.{rng.choice(TLDS)}"


def person_local(rng: random.Random) -> str:
    first, last = rng.choice(FIRST), rng.choice(LAST)
    local = rng.choice(
        (
            f"{first}.{last}",
            f"{first}.{last}",
            f"{first[0]}{last}",
            f"{first}",
            f"{first}_{last}",
            f"{first}{last}{rng.randint(1, 99)}",
            f"{first}.{last}+{rng.choice(('news', 'crm', 'work'))}",
        )
    )
    return local.title() if rng.random() < 0.15 else local


def address(rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.01:
        return rng.choice(INVALID)
    if roll < 0.013:
        return rng.choice(UNICODE)
    local = rng.choice(ROLES) if roll < 0.043 else person_local(rng)
    domain = rng.choice(WEBMAIL) if rng.random() < 0.4 else company_domain(rng)
    if rng.random() < 0.05:
        domain = domain.upper()
    text = f"{local}@{domain}"
    # Spreadsheet cells often carry stray whitespace.
    if rng.random() < 0.02:
        text = f" {text}\t"
    return text


def email_validator_alone(raw: str) -> str | None:
    try:
        return validate_email(raw.strip(), check_deliverability=False).normalized
    except EmailNotValidError:
        return None


def ours(raw: str) -> str | None:
    return check_address(raw).address


def rate(
    check: Callable[[str], str | None], addresses: list[str]
) -> tuple[float, list[str | None]]:
    started = time.perf_counter()
    results = [check(raw) for raw in addresses]
    return len(addresses) / (time.perf_counter() - started), results


def main() -> int:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 200_000
    rng = random.Random(20240601)
    addresses = [address(rng) for _ in range(n)]
    fast_share = sum(_fast(raw.strip()) is not None for raw in addresses) / n

    ours_rate, ours_results = rate(ours, addresses)
    baseline_rate, baseline_results = rate(email_validator_alone, addresses)

    invalid = sum(result is None for result in baseline_results)
    disagreements = [
        raw
        for raw, mine, theirs in zip(addresses, ours_results, baseline_results, strict=True)
        if mine != theirs
    ]
    print(f"addresses: {n:,} ({invalid / n:.1%} invalid), fast path taken: {fast_share:.1%}")
    print(f"check_address: {ours_rate:,.0f} addresses/s")
    print(f"email_validator: {baseline_rate:,.0f} addresses/s")
    print(f"ratio fast_path_vs_email_validator: {ours_rate / baseline_rate:.2f}")
    print(f"disagreements: {len(disagreements)}")
    for raw in disagreements[:10]:
        print(f"  {raw!r}")
    return 1 if disagreements else 0


if __name__ == "__main__":
    sys.exit(main())
