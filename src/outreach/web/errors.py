"""Domain errors to HTTP, in one table. API clients get JSON, browsers get a page."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import quote, urlsplit

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from sqlalchemy.exc import DataError
from starlette.exceptions import HTTPException
from starlette.routing import Match

from outreach import errors
from outreach.web.rendering import render

log = logging.getLogger("outreach.web")

STATUS_OF: dict[type[errors.OutreachError], int] = {
    errors.ValidationFailed: 422,
    errors.NotFound: 404,
    errors.Conflict: 409,
    errors.InvalidTransition: 409,
    errors.Unauthorized: 401,
    errors.Forbidden: 403,
    errors.RateLimited: 429,
    errors.Gone: 410,
    errors.DatabaseNotReady: 503,
    errors.UpstreamUnavailable: 503,
}

HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    410: "gone",
    413: "too_large",
    415: "unsupported_media_type",
    422: "validation_failed",
    429: "rate_limited",
    500: "internal_error",
}

NO_SUCH_PAGE = "There is no such page: the address may be mistyped, or what it showed was deleted."
UNEXPECTED = (
    "Something went wrong on our side and it has been logged. Try again in a moment; "
    "if it keeps happening, tell whoever runs outreach."
)


class SignInRequired(Exception):
    """A page was asked for without a signed-in user: the browser goes to the sign-in page."""


def status_of(error: errors.OutreachError) -> int:
    for kind in type(error).__mro__:
        if kind in STATUS_OF:
            return STATUS_OF[kind]
    return 400


def wants_json(request: Request) -> bool:
    """The API always answers in JSON; a page only when the caller asks for JSON and not HTML.

    Browsers send `text/html`, htmx sends no Accept at all: both get HTML.
    """
    if request.url.path.startswith("/api/"):
        return True
    accept = request.headers.get("accept", "")
    return "application/json" in accept and "text/html" not in accept


def way_back(request: Request) -> str:
    """The page the person came from on this site, else home.

    A GET of the page that failed would only fail again, so it does not count.
    """
    came_from = urlsplit(request.headers.get("referer", ""))
    if came_from.netloc != request.url.netloc or not came_from.path.startswith("/"):
        return "/"
    if request.method == "GET" and came_from.path == request.url.path:
        return "/"
    return came_from.path + (f"?{came_from.query}" if came_from.query else "")


def error_response(
    request: Request, status: int, code: str, message: str, details: Any = None
) -> Response:
    headers = {}
    if status == 401 and request.url.path.startswith("/api/"):
        headers["WWW-Authenticate"] = "Bearer"
    if wants_json(request):
        body = {"error": {"code": code, "message": message, "details": details or {}}}
        return JSONResponse(body, status_code=status, headers=headers)
    context = {"status": status, "message": message, "back": way_back(request)}
    if request.headers.get("HX-Request"):
        # htmx swaps error answers too (base.html): the message replaces the page's content,
        # whatever part of the page the request was meant to update.
        headers = {"HX-Retarget": "main", "HX-Reswap": "innerHTML", "HX-Reselect": "#error"}
        return render(request, "_error.html", context, status_code=status, headers=headers)
    return render(request, "error.html", context, status_code=status)


def in_plain_words(problem: Any) -> str:
    """One refused form field, said the way the form would say it."""
    field = str(problem["loc"][-1]).replace("_", " ").capitalize() if problem["loc"] else "A value"
    limits = problem.get("ctx") or {}
    if problem["type"] == "missing":
        return f"{field} is needed."
    if problem["type"] == "string_too_long":
        return f"{field} is too long: at most {limits['max_length']} characters."
    return f"{field}: {problem['msg']}."


METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")


def methods_at(request: Request) -> list[str]:
    """Every method some route takes at the request's path. Routes that share a path are
    separate routes, and the router's own 405 names only the first one's; so each method is
    asked of the router as the request would be, with that method."""

    def taken(method: str) -> bool:
        probe = {**request.scope, "method": method}
        return any(route.matches(probe)[0] is Match.FULL for route in request.app.router.routes)

    return [method for method in METHODS if taken(method)] + ["OPTIONS"]


def wrong_method(request: Request) -> Response:
    """OPTIONS says which methods the path takes; any other method it does not take is a 405
    that says the same, in `Allow`."""
    allow = {"Allow": ", ".join(methods_at(request))}
    if request.method == "OPTIONS":
        return Response(status_code=204, headers=allow)
    message = f"{request.method} is not taken here; use {allow['Allow']}."
    response = error_response(request, 405, HTTP_CODES[405], message)
    response.headers.update(allow)
    return response


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(errors.OutreachError)
    async def domain_error(request: Request, error: errors.OutreachError) -> Response:
        response = error_response(
            request, status_of(error), error.code, error.message, error.details
        )
        if isinstance(error, errors.RateLimited):
            response.headers["Retry-After"] = str(error.retry_after_seconds)
        return response

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, error: RequestValidationError) -> Response:
        problems = [
            {"field": ".".join(str(part) for part in problem["loc"][1:]), "message": problem["msg"]}
            for problem in error.errors()
        ]
        message = "; ".join(f"{p['field'] or 'request'}: {p['message']}" for p in problems)
        if not wants_json(request):
            if any(problem["loc"][0] == "path" for problem in error.errors()):
                # A malformed id in an address is, to a person, a page that does not exist.
                return error_response(request, 404, "not_found", NO_SUCH_PAGE)
            message = " ".join(in_plain_words(problem) for problem in error.errors())
        return error_response(request, 422, "validation_failed", message, {"problems": problems})

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, error: HTTPException) -> Response:
        if error.status_code == 405:
            return wrong_method(request)
        code = HTTP_CODES.get(error.status_code, "http_error")
        message = str(error.detail)
        if error.status_code == 404 and not wants_json(request):
            message = NO_SUCH_PAGE
        response = error_response(request, error.status_code, code, message)
        response.headers.update(error.headers or {})
        return response

    @app.exception_handler(DataError)
    async def unstorable_value(request: Request, error: DataError) -> Response:
        # A value that passed validation but that the database cannot take (a NUL character,
        # which PostgreSQL refuses in text; a number out of range) is the request's fault.
        reason = str(error.orig).splitlines()[0] if error.orig else "invalid value"
        return error_response(
            request, 422, "validation_failed", f"A value in the request cannot be used: {reason}"
        )

    @app.exception_handler(Exception)
    async def unexpected(request: Request, error: Exception) -> Response:
        # Starlette raises the error on after this answer, so the server logs its traceback;
        # this event says which request it was.
        log.error(
            "web.request_failed",
            extra={"method": request.method, "path": request.url.path, "error": repr(error)},
        )
        return error_response(request, 500, HTTP_CODES[500], UNEXPECTED)

    @app.exception_handler(SignInRequired)
    async def sign_in_required(request: Request, error: SignInRequired) -> Response:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        location = f"/sign-in?next={quote(target)}" if request.method == "GET" else "/sign-in"
        if request.headers.get("HX-Request"):
            return Response(status_code=401, headers={"HX-Redirect": location})
        return RedirectResponse(location, status_code=303)
