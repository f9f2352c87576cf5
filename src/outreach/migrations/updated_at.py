"""The updated_at trigger, shared by every migration that creates a table with updated_at.

It stamps the time on every update unless the writer set updated_at itself (an import keeps
the exported value). PostgreSQL uses the set_updated_at() function created in 0001.
"""

from __future__ import annotations

from outreach.db import SQLITE_NOW


def updated_at_trigger(table: str, dialect: str) -> str:
    if dialect == "postgresql":
        return (
            f"CREATE TRIGGER {table}_set_updated_at BEFORE UPDATE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION set_updated_at()"
        )
    return (
        f"CREATE TRIGGER {table}_set_updated_at AFTER UPDATE ON {table} FOR EACH ROW "
        "WHEN NEW.updated_at IS OLD.updated_at BEGIN "
        f"UPDATE {table} SET updated_at = {SQLITE_NOW} WHERE id = NEW.id; END"
    )
