"""Users, sign-in, sessions and API tokens, against the real database."""

from __future__ import annotations

from datetime import timedelta

import pytest

from outreach.access import credentials
from outreach.access import service as access
from outreach.access.models import Role
from outreach.errors import Conflict, RateLimited, Unauthorized, ValidationFailed

PASSWORD = "a long enough password"


def test_a_user_signs_in_with_the_right_password_whatever_the_case_of_the_address(session, clock):
    access.create_user(session, "Grace@Example.com", PASSWORD)
    user = access.authenticate(session, "  grace@EXAMPLE.com ", PASSWORD, "10.0.0.1", clock.now())
    assert user.email == "grace@example.com"
    assert user.last_sign_in_at == clock.now()


def test_passwords_are_stored_as_argon2_hashes_only(session):
    user = access.create_user(session, "grace@example.com", PASSWORD)
    assert user.password_hash.startswith("$argon2id$")
    assert PASSWORD not in user.password_hash


@pytest.mark.parametrize(
    ("email", "password"),
    [("nobody@example.com", PASSWORD), ("grace@example.com", "wrong password")],
)
def test_a_wrong_address_or_password_gets_the_same_answer(session, clock, email, password):
    access.create_user(session, "grace@example.com", PASSWORD)
    with pytest.raises(Unauthorized) as refused:
        access.authenticate(session, email, password, "10.0.0.1", clock.now())
    assert refused.value.message == access.WRONG_CREDENTIALS


def test_a_deactivated_user_cannot_sign_in(session, clock):
    user = access.create_user(session, "grace@example.com", PASSWORD)
    user.is_active = False
    with pytest.raises(Unauthorized):
        access.authenticate(session, "grace@example.com", PASSWORD, "10.0.0.1", clock.now())


def test_five_failures_lock_the_address_for_fifteen_minutes(session, clock):
    access.create_user(session, "grace@example.com", PASSWORD)
    for _ in range(access.MAX_FAILURES_PER_ADDRESS):
        with pytest.raises(Unauthorized):
            access.authenticate(session, "grace@example.com", "guess", "10.0.0.1", clock.now())
    with pytest.raises(RateLimited) as limited:
        access.authenticate(session, "grace@example.com", PASSWORD, "10.0.0.2", clock.now())
    assert limited.value.retry_after_seconds == 15 * 60
    clock.advance(access.FAILURE_WINDOW + timedelta(seconds=1))
    assert access.authenticate(session, "grace@example.com", PASSWORD, "10.0.0.2", clock.now())


def test_one_ip_address_guessing_many_accounts_is_stopped(session, clock):
    for n in range(access.MAX_FAILURES_PER_IP):
        with pytest.raises(Unauthorized):
            access.authenticate(session, f"user{n}@example.com", "guess", "10.0.0.9", clock.now())
    with pytest.raises(RateLimited):
        access.authenticate(session, "someone@example.com", "guess", "10.0.0.9", clock.now())


def test_a_second_user_with_the_same_address_is_refused(session):
    access.create_user(session, "grace@example.com", PASSWORD)
    with pytest.raises(Conflict):
        access.create_user(session, "GRACE@example.com", PASSWORD)


@pytest.mark.parametrize(
    ("email", "password"), [("not an address", PASSWORD), ("grace@example.com", "short")]
)
def test_a_bad_address_or_short_password_is_refused_with_the_reason(session, email, password):
    with pytest.raises(ValidationFailed) as refused:
        access.create_user(session, email, password)
    assert refused.value.details["field"] in ("email", "password")


def test_a_session_works_until_it_expires_or_ends(session, clock):
    user = access.create_user(session, "grace@example.com", PASSWORD)
    token = access.start_session(session, user, clock.now(), timedelta(days=14), "Firefox")
    assert access.user_for_session(session, token, clock.now()) == user
    assert access.user_for_session(session, token, clock.now() + timedelta(days=14)) is None
    access.end_session(session, token)
    assert access.user_for_session(session, token, clock.now()) is None


def test_changing_the_password_ends_every_session(session, clock):
    user = access.create_user(session, "grace@example.com", PASSWORD)
    token = access.start_session(session, user, clock.now(), timedelta(days=1), None)
    access.change_password(session, user, PASSWORD, "another long password")
    assert access.user_for_session(session, token, clock.now()) is None
    assert access.authenticate(
        session, "grace@example.com", "another long password", "10.0.0.1", clock.now()
    )


def test_an_api_token_is_shown_once_stored_hashed_and_can_be_revoked(session, clock):
    user = access.create_user(session, "grace@example.com", PASSWORD)
    issued = access.issue_api_token(session, user, "CRM sync", clock.now())
    assert issued.secret.startswith(credentials.API_TOKEN_PREFIX)
    assert issued.token.token_hash == credentials.digest(issued.secret)
    caller = access.api_caller(session, issued.secret, clock.now())
    assert caller is not None
    assert caller.user == user
    assert caller.use_to_note
    access.revoke_api_token(session, user, issued.token.id, clock.now())
    assert access.api_caller(session, issued.secret, clock.now()) is None


def test_a_tokens_use_is_noted_to_the_minute(session, clock):
    user = access.create_user(session, "grace@example.com", PASSWORD)
    issued = access.issue_api_token(session, user, "CRM sync", clock.now())
    first = clock.now()
    access.note_token_use(session, issued.token.id, first)
    session.refresh(issued.token)
    assert issued.token.last_used_at == first
    clock.advance(timedelta(seconds=59))
    assert not access.api_caller(session, issued.secret, clock.now()).use_to_note
    access.note_token_use(session, issued.token.id, clock.now())
    session.refresh(issued.token)
    assert issued.token.last_used_at == first
    clock.advance(timedelta(seconds=1))
    assert access.api_caller(session, issued.secret, clock.now()).use_to_note
    access.note_token_use(session, issued.token.id, clock.now())
    session.refresh(issued.token)
    assert issued.token.last_used_at == clock.now()


def test_a_member_cannot_revoke_someone_elses_token(session, clock):
    owner = access.create_user(session, "grace@example.com", PASSWORD)
    other = access.create_user(session, "alan@example.com", PASSWORD)
    issued = access.issue_api_token(session, owner, "mine", clock.now())
    with pytest.raises(Exception, match="no such API token"):
        access.revoke_api_token(session, other, issued.token.id, clock.now())


def test_the_first_admin_is_made_only_on_an_empty_database(session, clock):
    password = access.create_first_admin(session, "admin@example.com")
    assert password is not None
    user = access.authenticate(session, "admin@example.com", password, "127.0.0.1", clock.now())
    assert user.role == Role.admin
    assert access.create_first_admin(session, "other@example.com") is None


def test_pruning_forgets_expired_sessions_and_old_attempts(session, clock):
    user = access.create_user(session, "grace@example.com", PASSWORD)
    access.start_session(session, user, clock.now() - timedelta(days=30), timedelta(days=14), None)
    live = access.start_session(session, user, clock.now(), timedelta(days=14), None)
    with pytest.raises(Unauthorized):
        access.authenticate(
            session, "grace@example.com", "guess", "10.0.0.1", clock.now() - timedelta(days=2)
        )
    report = access.prune(session, clock.now())
    assert (report.sessions_removed, report.attempts_removed) == (1, 1)
    assert access.user_for_session(session, live, clock.now()) == user
