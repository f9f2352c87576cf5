"""Draft provenance: every draft says which writer and prompt produced it, from what input, at
what cost, or why it failed, so that any sent text can be traced back to its prompt.

New nullable columns on email_drafts (the seed's columns are untouched; drafts written before
this, by a person or imported, have none):

- model: the model that wrote the text ("claude-…" as the API reported it, or "template" for
  the template writer).
- prompt_version: the prompt file the text came from ("v1", prompts/), or the template row and
  a digest of its text for the template writer.
- input_sha256: SHA-256 of the exact request the writer sent (canonical JSON), to tell whether
  two drafts saw the same input and to find the input a sent email came from.
- input_tokens, output_tokens: the tokens the call used, as the API counted them, for cost.
- cache_read_tokens, cache_write_tokens: input tokens read from and written to the prompt
  cache, which are priced differently from plain input tokens.
- writer_error: why the writer could not write this draft (a malformed answer, a template that
  cannot be rendered for the contact), shown to the reviewer.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TEXT_COLUMNS = ("model", "prompt_version", "input_sha256")
COUNT_COLUMNS = ("input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens")


def upgrade() -> None:
    # Plain ADD COLUMN, never a batch copy: on SQLite a copied email_drafts would lose the
    # seed's draft-counting triggers.
    for name in TEXT_COLUMNS:
        op.add_column("email_drafts", sa.Column(name, sa.Text()))
    for name in COUNT_COLUMNS:
        op.add_column("email_drafts", sa.Column(name, sa.Integer()))
    op.add_column("email_drafts", sa.Column("writer_error", sa.Text()))


def downgrade() -> None:
    # SQLite (3.35+) drops a column in place when nothing refers to it, which none of these do.
    for name in ("writer_error", *reversed(COUNT_COLUMNS), *reversed(TEXT_COLUMNS)):
        op.drop_column("email_drafts", name)
