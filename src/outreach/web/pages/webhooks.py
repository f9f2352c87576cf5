"""Webhooks: endpoints (the secret shown once), a test sent at once, and each endpoint's
deliveries with their attempts, any sent again."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from outreach.errors import OutreachError
from outreach.events import webhooks
from outreach.events.kinds import REPLY_KINDS, SUBSCRIBABLE
from outreach.providers.hooks import Answer
from outreach.web import flash
from outreach.web.deps import DbSession, PageUser, container_of, finish_transaction
from outreach.web.rendering import render

router = APIRouter(include_in_schema=False)
PAGE = "/webhooks"


def webhooks_page(request: Request, session: DbSession, **extra: object) -> Response:
    context = {
        "endpoints": webhooks.endpoints(session),
        "kinds": [kind.value for kind in SUBSCRIBABLE],
        "reply_kinds": [kind.value for kind in REPLY_KINDS],
        **extra,
    }
    return render(request, "webhooks.html", context, status_code=422 if "error" in extra else 200)


@router.get(PAGE)
def list_webhooks(request: Request, session: DbSession, user: PageUser) -> Response:
    return webhooks_page(request, session)


@router.post(PAGE)
def add_webhook(
    request: Request,
    session: DbSession,
    user: PageUser,
    url: Annotated[str, Form(max_length=2000)],
    format: Annotated[str, Form(max_length=20)] = "standard",
    kinds: Annotated[list[str] | None, Form()] = None,
    description: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    container = container_of(request)
    try:
        made = webhooks.add(
            session,
            url,
            kinds or [],
            format=webhooks.Format.slack if format == "slack" else webhooks.Format.standard,
            description=description,
            secret_key=container.settings.secret_key_value(),
            now=container.clock.now(),
        )
    except OutreachError as error:
        session.rollback()
        typed = {"url": url, "format": format, "kinds": kinds or [], "description": description}
        return webhooks_page(request, session, error=error.message, typed=typed)
    return flash.redirect(
        request,
        PAGE,
        notice=f"Added a webhook for {made.endpoint.url}.",
        secret=made.secret,
    )


@router.post(PAGE + "/{endpoint_id}/test")
def test_webhook(
    request: Request, session: DbSession, user: PageUser, endpoint_id: uuid.UUID
) -> Response:
    container = container_of(request)
    delivery = webhooks.queue_test(session, endpoint_id, container.clock.now())
    finish_transaction(session)
    answer = container.send_webhook_now(delivery)
    target = f"{PAGE}/{endpoint_id}"
    if isinstance(answer, Answer) and answer.ok:
        return flash.redirect(request, target, notice=f"The test was answered {answer.status}.")
    said = f"answered {answer.status}" if isinstance(answer, Answer) else f"no answer: {answer}"
    return flash.redirect(request, target, error=f"The test failed: {said}.")


@router.post(PAGE + "/{endpoint_id}/rotate")
def rotate_secret(
    request: Request, session: DbSession, user: PageUser, endpoint_id: uuid.UUID
) -> Response:
    container = container_of(request)
    secret = webhooks.rotate(
        session, endpoint_id, container.settings.secret_key_value(), container.clock.now()
    )
    notice = "A new signing secret; the old one signs too for 24 hours."
    return flash.redirect(request, PAGE, notice=notice, secret=secret)


@router.post(PAGE + "/{endpoint_id}/enable")
def enable_webhook(
    request: Request, session: DbSession, user: PageUser, endpoint_id: uuid.UUID
) -> Response:
    endpoint = webhooks.enable(session, endpoint_id)
    return flash.redirect(request, PAGE, notice=f"Enabled the webhook for {endpoint.url}.")


@router.post(PAGE + "/{endpoint_id}/remove")
def remove_webhook(
    request: Request, session: DbSession, user: PageUser, endpoint_id: uuid.UUID
) -> Response:
    webhooks.remove(session, endpoint_id)
    return flash.redirect(request, PAGE, notice="Removed the webhook.")


@router.get(PAGE + "/{endpoint_id}")
def show_webhook(
    request: Request, session: DbSession, user: PageUser, endpoint_id: uuid.UUID
) -> Response:
    endpoint = webhooks.get(session, endpoint_id)
    found = webhooks.deliveries_of(session, endpoint_id)
    attempts: dict[uuid.UUID, list[object]] = {delivery.id: [] for delivery, _ in found}
    for attempt in webhooks.attempts_of(session, list(attempts)):
        attempts[attempt.delivery_id].append(attempt)
    context = {"endpoint": endpoint, "deliveries": found, "attempts": attempts}
    return render(request, "webhook.html", context)


@router.post(PAGE + "/{endpoint_id}/deliveries/{delivery_id}/redeliver")
def redeliver(
    request: Request,
    session: DbSession,
    user: PageUser,
    endpoint_id: uuid.UUID,
    delivery_id: uuid.UUID,
) -> Response:
    webhooks.redeliver(session, delivery_id, container_of(request).clock.now())
    return flash.redirect(
        request, f"{PAGE}/{endpoint_id}", notice="It goes again on the worker's next pass."
    )
