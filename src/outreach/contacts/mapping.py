"""Which column of a file holds which contact field: proposed from the headers, overridable.

A mapping is {field: header}. Every column is kept in raw_data whatever the mapping says; the
mapping only decides which ones fill the contact's own fields.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence

from outreach.errors import ValidationFailed

FIELDS = ("email", "name", "first_name", "last_name", "company", "title", "timezone", "website")

# Header spellings seen in CRM exports, prospecting tools and hand-made sheets, in English and
# the languages of European sheets (German, French, Spanish, Italian, Dutch), compared after
# lower-casing, dropping accents and everything but letters and digits ("E-mail Address" →
# "emailaddress", "Société" → "societe"). Within a field, earlier spellings win.
SPELLINGS: dict[str, tuple[str, ...]] = {
    "email": (
        "email",
        "emailaddress",
        "email1",
        "emailaddress1",
        "workemail",
        "businessemail",
        "primaryemail",
        "contactemail",
        "mail",
        "emailid",
        "emails",
        "personalemail",
        "emailadresse",
        "courriel",
        "adresseemail",
        "correo",
        "correoelectronico",
        "postaelettronica",
        "indirizzoemail",
        "emailadres",
        "mailadres",
    ),
    "name": (
        "name",
        "fullname",
        "contactname",
        "contact",
        "person",
        "displayname",
        "vollername",
        "nomcomplet",
        "nombrecompleto",
        "nomecompleto",
        "naam",
        "volledigenaam",
        "kontakt",
        "ansprechpartner",
    ),
    "first_name": (
        "firstname",
        "first",
        "givenname",
        "forename",
        "fname",
        "prenom",
        "vorname",
        "nombre",
        "nome",
        "voornaam",
    ),
    "last_name": (
        "lastname",
        "last",
        "surname",
        "familyname",
        "lname",
        "nachname",
        "familienname",
        "nom",
        "nomdefamille",
        "apellido",
        "apellidos",
        "cognome",
        "achternaam",
    ),
    "company": (
        "company",
        "companyname",
        "organization",
        "organisation",
        "org",
        "organizationname",
        "account",
        "accountname",
        "employer",
        "business",
        "firm",
        "firma",
        "unternehmen",
        "firmenname",
        "societe",
        "entreprise",
        "empresa",
        "azienda",
        "societa",
        "bedrijf",
        "bedrijfsnaam",
    ),
    "title": (
        "title",
        "jobtitle",
        "position",
        "role",
        "designation",
        "jobrole",
        "titel",
        "funktion",
        "poste",
        "fonction",
        "cargo",
        "puesto",
        "ruolo",
        "functie",
    ),
    "timezone": (
        "timezone",
        "tz",
        "timezonename",
        "zone",
        "zeitzone",
        "fuseauhoraire",
        "zonahoraria",
        "fusoorario",
        "tijdzone",
    ),
    "website": (
        "website",
        "url",
        "web",
        "companywebsite",
        "site",
        "homepage",
        "domain",
        "companyurl",
        "webseite",
        "siteweb",
        "sitioweb",
        "paginaweb",
        "sitoweb",
        "sitointernet",
    ),
}
# Second chance for headers like "Primary Work E-mail": a field whose word appears inside.
CONTAINED_WORDS = {"email": "email", "company": "company", "website": "website", "title": "title"}


def folded(header: str) -> str:
    """The header as SPELLINGS spell it: lower case, without accents, letters and digits only."""
    bare = unicodedata.normalize("NFKD", header.casefold())
    return re.sub(r"[^0-9a-z]", "", "".join(c for c in bare if not unicodedata.combining(c)))


def propose_mapping(headers: Sequence[str]) -> dict[str, str]:
    """The likely header for each field: the best-ranked exact spelling first ("Name" before
    "Contact" for the name), then a field word inside. A header fills one field at most."""
    proposal: dict[str, str] = {}
    for field in FIELDS:
        ranked = [
            (SPELLINGS[field].index(folded(h)), h) for h in headers if folded(h) in SPELLINGS[field]
        ]
        free = [header for _, header in sorted(ranked) if header not in proposal.values()]
        if free:
            proposal[field] = free[0]
    for field, word in CONTAINED_WORDS.items():
        found = [h for h in headers if word in folded(h) and h not in proposal.values()]
        if field not in proposal and found:
            proposal[field] = found[0]
    return proposal


def checked_mapping(mapping: Mapping[str, str], headers: Sequence[str]) -> dict[str, str]:
    """The mapping if it can be imported with, else ValidationFailed listing what is wrong."""
    problems = [f"{field!r} is not a contact field" for field in mapping if field not in FIELDS]
    problems += [
        f"{field} → {header!r}: the file has no such column"
        for field, header in mapping.items()
        if header and header not in headers
    ]
    cleaned = {field: header for field, header in mapping.items() if header}
    if "email" not in cleaned:
        problems.append("choose the column that holds the email address")
    if problems:
        raise ValidationFailed(
            "The column mapping cannot be used: " + "; ".join(problems), problems=problems
        )
    return cleaned


def parse_overrides(pairs: Sequence[str]) -> dict[str, str]:
    """`field=Column` pairs from the command line, as a mapping."""
    mapping = {}
    for pair in pairs:
        field, separator, header = pair.partition("=")
        if not separator or not field.strip():
            raise ValidationFailed(
                f"--map {pair!r}: write it as field=Column, e.g. email='Work Email'"
            )
        mapping[field.strip()] = header.strip()
    return mapping
