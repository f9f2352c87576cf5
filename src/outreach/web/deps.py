"""Request-scoped dependencies: the database session, the signed-in user, CSRF checks.

Every route hangs off one of three routers (web/app.py): public, pages (signed-in user and CSRF
on every unsafe method) and api (bearer token). Nothing else decides who may call what.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from fastapi import BackgroundTasks, Depends, Request
from fastapi.dependencies.utils import get_flat_params
from fastapi.params import Query
from fastapi.routing import APIRoute
from sqlalchemy.orm import Session

from outreach.access import service as access
from outreach.access.credentials import same
from outreach.access.models import User
from outreach.container import Container
from outreach.db import READ_ONLY, transaction
from outreach.errors import Forbidden, Unauthorized, ValidationFailed
from outreach.inbox import conversations
from outreach.web.errors import SignInRequired

SESSION_COOKIE = "outreach_session"
CSRF_COOKIE = "outreach_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True)
class Viewer:
    """Who is looking at a page: plain values that stay valid after the request's transaction,
    so that even an error page rendered after a rollback can show the layout."""

    email: str
    role: str
    time_zone: str = "UTC"
    """The IANA zone the pages show this person's times in (the `local_time` filter)."""


def container_of(request: Request) -> Container:
    container: Container = request.app.state.container
    return container


def database(request: Request) -> Iterator[Session]:
    """One transaction per request, committed before the response is sent.

    A request that changes nothing (GET, HEAD, OPTIONS) only reads: on SQLite it begins without
    the write lock (READ_ONLY), so pages never queue behind the worker's writes, nor the worker
    behind them. Its handler must not write there: a write after the first read could find the
    database changed since and fail. A GET that must write (a sign-in Microsoft redirects back
    with) does it after finish_transaction.
    """
    with transaction(container_of(request).sessions) as session:
        if request.method in SAFE_METHODS:
            read_only(session)
        yield session


def read_only(session: Session) -> None:
    """The session's transaction from here on only reads: on SQLite it begins without the write
    lock. For a GET that read and wrote, then finish_transaction'ed, and reads again."""
    session.connection(execution_options={READ_ONLY: True})


DbSession = Annotated[Session, Depends(database, scope="function")]


def finish_transaction(session: Session) -> None:
    """Commits the request's work so far, before a job that opens sessions of its own (an inbox
    poll, an account check, a backup) or talks to the network.

    On SQLite the request's transaction holds the one write lock (BEGIN IMMEDIATE), which such a
    job, and the worker meanwhile, would wait on until they failed; and no transaction may stay
    open across network I/O. Using the session again begins a new transaction, committed with
    the response; in a GET, that one may write (the request's first transaction only reads).
    """
    session.commit()


def page_user(request: Request, session: DbSession) -> User:
    token = request.cookies.get(SESSION_COOKIE)
    user = token and access.user_for_session(session, token, container_of(request).clock.now())
    if not user:
        raise SignInRequired
    request.state.viewer = Viewer(email=user.email, role=user.role, time_zone=user.time_zone)
    request.state.inbox_counts = conversations.counts(session)  # the navigation shows them
    return user


def known_parameters(request: Request) -> None:
    """Refuses a query parameter the operation does not take (a misspelt `limt=5` would
    otherwise be ignored without a word), naming it and those it takes."""
    route = request.scope.get("route")
    if not isinstance(route, APIRoute):
        return
    taken = {
        each.alias
        for each in get_flat_params(route.dependant)
        if isinstance(each.field_info, Query)
    }
    unknown = sorted(set(request.query_params) - taken)
    if unknown:
        named = ", ".join(f"`{name}`" for name in unknown)
        takes = ", ".join(f"`{name}`" for name in sorted(taken)) or "none"
        raise ValidationFailed(
            f"No such query parameter here: {named}. This takes {takes}.", field=unknown[0]
        )


def api_user(request: Request, session: DbSession, after: BackgroundTasks) -> User:
    scheme, _, secret = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        raise Unauthorized("Send an API token as `Authorization: Bearer <token>`.")
    container = container_of(request)
    now = container.clock.now()
    caller = access.api_caller(session, secret.strip(), now)
    if caller is None:
        raise Unauthorized("This API token is not valid: it was revoked or never existed.")
    if caller.use_to_note:
        after.add_task(_note_token_use, container, caller.token_id, now)
    return caller.user


def _note_token_use(container: Container, token_id: uuid.UUID, now: datetime) -> None:
    """Once the response is sent, in a transaction of its own: a GET's only reads, and a
    POST's has ended by then (on SQLite it held the write lock this one needs)."""
    with transaction(container.sessions) as session:
        access.note_token_use(session, token_id, now)


async def csrf_checked(request: Request) -> None:
    """Unsafe requests from pages must carry the token rendered into the page (form or header).

    The token is an HMAC of a random per-browser cookie, so another site can neither read nor
    forge it (double-submit, signed).
    """
    if request.method in SAFE_METHODS:
        return
    sent = request.headers.get(CSRF_HEADER)
    if sent is None:
        form = await request.form()
        field = form.get(CSRF_FIELD)
        sent = field if isinstance(field, str) else None
    expected = getattr(request.state, "csrf_token", "")
    if not sent or not expected or not same(sent, expected):
        raise Forbidden(
            "This form has expired or came from another site. Reload the page and try again."
        )


PageUser = Annotated[User, Depends(page_user)]
ApiUser = Annotated[User, Depends(api_user)]
