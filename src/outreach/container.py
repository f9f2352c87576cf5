"""Composition root: the one place that turns Settings into the things the app runs on."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from outreach.clock import Clock, SystemClock
from outreach.config import Settings
from outreach.db import create_engine, session_factory


@dataclass
class Container:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    clock: Clock = field(default_factory=SystemClock)

    @property
    def session_lifetime(self) -> timedelta:
        return timedelta(days=self.settings.session_days)

    def close(self) -> None:
        self.engine.dispose()


def build_container(settings: Settings, clock: Clock | None = None) -> Container:
    engine = create_engine(settings.database_url)
    return Container(
        settings=settings,
        engine=engine,
        sessions=session_factory(engine),
        clock=clock or SystemClock(),
    )
