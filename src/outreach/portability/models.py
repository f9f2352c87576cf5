"""Tables of our own for moving data in and out."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from outreach.db import Base


class ImportGuard(Base):
    """One row while an import runs, inside the importing transaction only: the seed's counting
    triggers see it and stand aside (migration 0005)."""

    __tablename__ = "import_guard"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    started_at: Mapped[str] = mapped_column(sa.Text)
