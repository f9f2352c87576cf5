"""Fixtures for tests that need a database of their own, full of realistic rows."""

from __future__ import annotations

import pytest

from tests.sample_data import container_on, fill_every_table


@pytest.fixture
def filled(backend, databases, tmp_path):
    """A fresh database on the backend with rows in every table, in a container at START."""
    container = container_on(databases.fresh_url(backend), tmp_path / "source")
    fill_every_table(container, tmp_path)
    yield container
    container.close()
