"""Merge fields: what a template sees of one contact, and the names raw columns go by.

Merge fields (``merge_fields``)
    The contact's own fields (``CONTACT_FIELDS``), every ``raw_data`` column under its ``slug``,
    and ``raw``, the original columns, for ``{{ raw["Annual Revenue ($)"] }}``. The contact's
    own fields win over a column with the same slug, even when empty: the column mapping said
    which column is the company, and the other one stays reachable through ``raw[...]``. When
    two columns share a slug ("City" and "city "), the first with a value wins. Columns whose
    slug is empty or a name templates need (``RESERVED_NAMES``: ``raw``, ``range``, ``loop``...)
    are reachable only through ``raw[...]``.

Slugs (``slug``)
    Accents dropped and letters case-folded ("Straße" → "strasse", "Région" → "region"), every
    run of anything but ``a-z0-9`` → ``_``, leading and trailing ``_`` stripped. A slug that
    would start with a digit gets a leading ``_`` ("2023 Revenue" → ``_2023_revenue``), because
    a template name cannot start with a digit. A header without a Latin letter or digit ("名前",
    "#") has no slug.
"""

from __future__ import annotations

import json
import math
import re
import unicodedata
from collections.abc import Mapping
from typing import Final

CONTACT_FIELDS: Final = (
    "email",
    "name",
    "first_name",
    "last_name",
    "company",
    "title",
    "timezone",
    "website",
)
"""The contact's own merge fields: ``{name: getattr(contact, name) for name in CONTACT_FIELDS}``."""

RESERVED_NAMES: Final = frozenset(
    {
        "raw",
        "range",
        "dict",
        "cycler",
        "joiner",
        "namespace",
        "loop",
        "self",
        "caller",
        "varargs",
        "kwargs",
        "true",
        "false",
        "none",
        "not",
    }
)
"""Names templates need for themselves, and words a template cannot use as a name; a column
with such a slug is reachable through ``raw``."""


_NOT_ALNUM = re.compile(r"[^a-z0-9]+")
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff"))


def slug(header: str) -> str:
    """The merge field name of a raw column header: "Annual Revenue ($)" → ``annual_revenue``."""
    decomposed = unicodedata.normalize("NFKD", unicodedata.normalize("NFKD", header).casefold())
    latin = "".join(char for char in decomposed if not unicodedata.combining(char))
    name = _NOT_ALNUM.sub("_", latin).strip("_")
    return f"_{name}" if name[:1].isdigit() else name


def is_blank(value: object) -> bool:
    """Whether a merge field counts as empty: None, NaN, or only whitespace and zero-width."""
    if value is None:
        return True
    if isinstance(value, float):
        return math.isnan(value)
    if isinstance(value, str):
        return not value.translate(_INVISIBLE).strip()
    return False


def column_name(header: str) -> str | None:
    """The plain name a raw column is a merge field by, or None when its header makes none (it
    is still there as raw["…"])."""
    name = slug(header)
    return name if name and name not in RESERVED_NAMES else None


def column_merge_field(header: str) -> str:
    """How a template writes a raw column: ``{{ city }}``, or ``{{ raw["#"] }}``."""
    return f"{{{{ {column_name(header) or raw_label(header)} }}}}"


def merge_fields(
    contact_fields: Mapping[str, str | None], raw_data: Mapping[str, object]
) -> dict[str, object]:
    """The template context of one contact; None values are kept as None."""
    fields: dict[str, object] = {}
    for header, value in raw_data.items():
        name = column_name(str(header))
        if name is None:
            continue
        if name not in fields or (is_blank(fields[name]) and not is_blank(value)):
            fields[name] = value
    fields.update(contact_fields)
    fields["raw"] = dict(raw_data)
    return fields


def raw_label(column: str) -> str:
    """How a template writes a raw column by its header: ``raw["Annual Revenue ($)"]``."""
    return f"raw[{json.dumps(column, ensure_ascii=False)}]"
