"""The caller, users and API tokens."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request

from outreach.access import queries as access_queries
from outreach.access import service as access
from outreach.web.api.access_schemas import IssuedTokenOut, TokenIn, TokenOut, UserIn, UserOut
from outreach.web.api.common_schemas import After, Limit, Page, errors_documented
from outreach.web.deps import ApiUser, DbSession, container_of

router = APIRouter(tags=["access"])


@router.get("/me")
def me(user: ApiUser) -> UserOut:
    """The user the token belongs to."""
    return UserOut.model_validate(user)


@router.get("/tokens")
def list_tokens(
    session: DbSession,
    user: ApiUser,
    after: After = None,
    limit: Limit = 100,
) -> Page[TokenOut]:
    """The caller's API tokens, newest first; revoked ones included, with when."""
    found, cursor = access_queries.api_tokens_page(session, user.id, after, limit)
    return Page(items=[TokenOut.model_validate(token) for token in found], next=cursor)


@router.post("/tokens", status_code=201)
def create_token(
    request: Request, session: DbSession, user: ApiUser, body: TokenIn
) -> IssuedTokenOut:
    """A new token for the caller. Its secret is in this response and nowhere else."""
    issued = access.issue_api_token(session, user, body.name, container_of(request).clock.now())
    return IssuedTokenOut(token=TokenOut.model_validate(issued.token), secret=issued.secret)


@router.delete("/tokens/{token_id}")
def revoke_token(
    request: Request, session: DbSession, user: ApiUser, token_id: uuid.UUID
) -> TokenOut:
    """Revoke one of the caller's tokens (admins: anyone's). Revoking twice is harmless."""
    token = access.revoke_api_token(session, user, token_id, container_of(request).clock.now())
    return TokenOut.model_validate(token)


ADMINS_ONLY = errors_documented((403, "Only an admin may"))


@router.get("/users", responses=ADMINS_ONLY)
def list_users(
    session: DbSession,
    user: ApiUser,
    after: After = None,
    limit: Limit = 100,
) -> Page[UserOut]:
    """Every user (admins only)."""
    access.require_admin(user)
    found, cursor = access_queries.users_page(session, after, limit)
    return Page(items=[UserOut.model_validate(each) for each in found], next=cursor)


@router.post("/users", status_code=201, responses=ADMINS_ONLY)
def create_user(session: DbSession, user: ApiUser, body: UserIn) -> UserOut:
    """Add a user who can sign in (admins only)."""
    access.require_admin(user)
    return UserOut.model_validate(access.create_user(session, body.email, body.password, body.role))
