"""The worker's sending pass: delivery's, with what the container built."""

from __future__ import annotations

import random

from outreach.container import Container
from outreach.delivery import dispatch
from outreach.delivery.dispatch import PassReport
from outreach.runner import worker_name


def sending_pass(
    container: Container, *, dry_run: bool = False, rng: random.Random | None = None
) -> PassReport:
    """Sends every campaign step that may go now (delivery/dispatch.py)."""
    return dispatch.sending_pass(
        container.sessions,
        container.clock,
        container.links,
        container.transport_for,
        worker=worker_name(),
        dry_run=dry_run,
        rng=rng,
    )
