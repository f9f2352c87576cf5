"""Post/redirect/get: a form action answers with a redirect to a page, and what happened travels
to that page in a flash, a sealed cookie that the next full page shown reads and deletes.

So the address bar holds a page, reloading it shows the page again (never "Method Not Allowed"
nor the action a second time), and the outcome is shown once. The cookie is sealed (sealing.py)
because it may carry what only this person may see (a new API token, a test draft).
"""

from __future__ import annotations

import base64
import json
import zlib
from typing import Any

from fastapi import Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from outreach.errors import ValidationFailed
from outreach.sealing import seal, unseal

FLASH_COOKIE = "outreach_flash"
MOST = 3800
"""Bytes a flash cookie may take: browsers keep cookies up to about 4 KB."""
TOO_LONG = "The full result was too long to show here; try again to see it."


def redirect(request: Request, target: str, **shown: Any) -> Response:
    """A 303 to `target`, whose page then shows `shown` (notice, error, and what the page's
    template reads) once. Values must be JSON: dataclasses go as dicts."""
    response = RedirectResponse(target, status_code=303)
    shown = {name: value for name, value in shown.items() if value is not None}
    if not shown:
        return response
    key = _key(request)
    value = _packed(key, shown)
    if len(value) > MOST:
        brief: dict[str, Any] = {name: shown[name] for name in ("notice", "error") if name in shown}
        value = _packed(key, {**brief, "error": brief.get("error") or TOO_LONG})
    response.set_cookie(
        FLASH_COOKIE,
        value,
        max_age=300,
        path="/",
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
    )
    return response


def shown(request: Request) -> dict[str, Any]:
    """What the last action left for this page; empty when none (or sealed with another key)."""
    try:
        packed = unseal(_key(request), request.cookies.get(FLASH_COOKIE)).get("z", "")
    except ValidationFailed:
        return {}
    if not packed:
        return {}
    opened: dict[str, Any] = json.loads(zlib.decompress(base64.b64decode(packed)))
    return opened


def forget(request: Request, response: Response) -> None:
    """Deletes the flash once a page has shown it."""
    if FLASH_COOKIE in request.cookies:
        response.delete_cookie(FLASH_COOKIE, path="/")


def _packed(key: str, values: dict[str, Any]) -> str:
    # Compressed, so that a test draft's text fits in a cookie.
    compact = zlib.compress(json.dumps(values, default=str).encode())
    return seal(key, {"z": base64.b64encode(compact).decode()})


def _key(request: Request) -> str:
    key: str = request.app.state.container.settings.secret_key_value()
    return key
