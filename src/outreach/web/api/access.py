"""The caller, users and API tokens."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request

from outreach.access import queries as access_queries
from outreach.access import service as access
from outreach.web.api.access_schemas import IssuedTokenOut, TokenIn, TokenOut, UserIn, UserOut
from outreach.web.deps import ApiUser, DbSession, container_of

router = APIRouter(tags=["access"])


@router.get("/me")
def me(user: ApiUser) -> UserOut:
    """The user the token belongs to."""
    return UserOut.model_validate(user)


@router.get("/tokens")
def list_tokens(session: DbSession, user: ApiUser) -> list[TokenOut]:
    """The caller's API tokens, newest first; revoked ones included, with when."""
    return [
        TokenOut.model_validate(token) for token in access_queries.api_tokens_of(session, user.id)
    ]


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


@router.get("/users")
def list_users(session: DbSession, user: ApiUser) -> list[UserOut]:
    """Every user (admins only)."""
    access.require_admin(user)
    return [UserOut.model_validate(each) for each in access_queries.all_users(session)]


@router.post("/users", status_code=201)
def create_user(session: DbSession, user: ApiUser, body: UserIn) -> UserOut:
    """Add a user who can sign in (admins only)."""
    access.require_admin(user)
    return UserOut.model_validate(access.create_user(session, body.email, body.password, body.role))
