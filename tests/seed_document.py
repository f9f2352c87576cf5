"""The seed document ("Database Migration Guide") read as data: tables, enums, indexes.

Tests compare our migrated schema with what this parser finds in the document itself, so the
contract is the document, not a copy of it typed into a test.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

SEED = (
    Path(__file__).resolve().parent.parent
    / "docs"
    / "original-system"
    / "database-migration-guide.md"
)


@dataclass(frozen=True)
class SeedColumn:
    name: str
    type: str
    not_null: bool
    default: str | None
    references: tuple[str, str] | None
    on_delete: str | None
    unique: bool


@dataclass
class SeedTable:
    name: str
    columns: list[SeedColumn] = field(default_factory=list)
    uniques: list[tuple[str, ...]] = field(default_factory=list)


@dataclass(frozen=True)
class SeedIndex:
    name: str
    table: str
    definition: str
    unique: bool


def _split_top_level(body: str) -> list[str]:
    parts, depth, current = [], 0, []
    for char in body:
        if char == "," and depth == 0:
            parts.append("".join(current).strip())
            current = []
            continue
        depth += {"(": 1, "[": 1, ")": -1, "]": -1}.get(char, 0)
        current.append(char)
    parts.append("".join(current).strip())
    return [part for part in parts if part]


COLUMN = re.compile(r"^(?P<name>\w+)\s+(?P<type>\w+(?:\[\])?)(?P<rest>.*)$", re.S)
DEFAULT = re.compile(
    r"DEFAULT\s+(?P<value>.+?)(?=\s+(?:NOT NULL|PRIMARY KEY|UNIQUE|REFERENCES)\b|$)", re.S
)
REFERENCES = re.compile(
    r"REFERENCES\s+(\w+)\((\w+)\)(?:\s+ON DELETE\s+(CASCADE|SET NULL|RESTRICT))?"
)


def _column(definition: str) -> SeedColumn:
    match = COLUMN.match(definition)
    assert match, definition
    rest = match["rest"]
    default = DEFAULT.search(rest)
    reference = REFERENCES.search(rest)
    return SeedColumn(
        name=match["name"],
        type=match["type"],
        not_null="NOT NULL" in rest or "PRIMARY KEY" in rest,
        default=default["value"].strip() if default else None,
        references=(reference[1], reference[2]) if reference else None,
        on_delete=reference[3] if reference else None,
        unique=bool(re.search(r"\bUNIQUE\b", rest)),
    )


def _sql_blocks() -> list[str]:
    return re.findall(r"```sql\n(.*?)```", SEED.read_text(), re.S)


def _statements() -> list[str]:
    text = "\n".join(_sql_blocks())
    without_comments = re.sub(r"--[^\n]*", "", text)
    return [
        " ".join(statement.split())
        for statement in without_comments.split(";")
        if statement.strip()
    ]


@cache
def tables() -> dict[str, SeedTable]:
    found: dict[str, SeedTable] = {}
    for statement in _statements():
        match = re.match(r"CREATE TABLE public\.(\w+) \((.*)\)$", statement)
        if not match:
            continue
        table = SeedTable(match[1])
        for part in _split_top_level(match[2]):
            unique = re.match(r"UNIQUE\s*\((.*)\)$", part)
            if unique:
                table.uniques.append(tuple(name.strip() for name in unique[1].split(",")))
            else:
                table.columns.append(_column(part))
        found[table.name] = table
    for statement in _statements():
        match = re.match(r"ALTER TABLE (\w+) ADD CONSTRAINT (\w+) UNIQUE \((.*)\)$", statement)
        if match:
            found[match[1]].uniques.append(tuple(name.strip() for name in match[3].split(",")))
    return found


@cache
def enums() -> dict[str, list[str]]:
    return {
        match[1]: re.findall(r"'(\w+)'", match[2])
        for statement in _statements()
        if (match := re.match(r"CREATE TYPE (\w+) AS ENUM \((.*)\)$", statement))
    }


@cache
def indexes() -> list[SeedIndex]:
    return [
        SeedIndex(name=match[2], table=match[3], definition=statement, unique=bool(match[1]))
        for statement in _statements()
        if (match := re.match(r"CREATE (UNIQUE )?INDEX (\w+) ON (\w+)", statement))
    ]


@cache
def export_order() -> list[str]:
    """The tables in the order of the seed's "Export All Data" (its dependency order)."""
    return re.findall(r"SELECT \* FROM (\w+);", _sql_blocks()[0])
