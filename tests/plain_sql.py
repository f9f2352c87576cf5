"""Rows written the way psql or another tool would: plain SQL, no ORM, no app code."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa


def insert(connection: sa.Connection, table: str, **values: Any) -> str:
    """INSERT one row and return its id as text."""
    names = ", ".join(values)
    placeholders = ", ".join(f":{name}" for name in values)
    statement = sa.text(f"INSERT INTO {table} ({names}) VALUES ({placeholders}) RETURNING id")
    return str(connection.scalar(statement, values))


def one(connection: sa.Connection, sql: str, **params: Any) -> sa.Row[Any]:
    return connection.execute(sa.text(sql), params).one()


def contact(connection: sa.Connection, email: str = "jane@example.com") -> str:
    batch = insert(connection, "upload_batches", file_name="people.csv")
    return insert(connection, "contacts", upload_batch_id=batch, raw_data="{}", email=email)


def sender(connection: sa.Connection) -> str:
    return insert(connection, "sender_accounts", email="me@ourco.example")
