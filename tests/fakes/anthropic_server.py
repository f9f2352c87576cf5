"""A fake Anthropic Messages API on loopback, for the SDK pointed at it by `base_url` (its HTTP
client cannot be mocked with respx).

It speaks the documented wire format of ``POST /v1/messages``:

- requests need the key, in ``x-api-key`` or (as SDK 2.x sends it) ``Authorization: Bearer``
  (401 authentication_error otherwise), and ``anthropic-version``,
  and a JSON body with model, max_tokens and messages (400 invalid_request_error otherwise); a
  forced ``tool_choice`` must name one of ``tools``;
- an answer is a ``message`` object: ``content`` holds one ``tool_use`` block calling the forced
  tool (``id``, ``name``, ``input``), ``stop_reason`` is "tool_use", and ``usage`` counts
  input_tokens, output_tokens, cache_creation_input_tokens and cache_read_input_tokens;
- errors are ``{"type": "error", "error": {"type", "message", "details"?}, "request_id"}``
  with a ``request-id`` header: 429 rate_limit_error with ``retry-after``, 529
  overloaded_error, and the spend-limit 429, a rate_limit_error whose
  ``error.details.error_code`` is "enforced_spend_limit_reached" and which carries no
  retry-after (as the SDK's error classes and Anthropic's error documentation describe it; the
  exact message wording is not documented and is made up here).

Prompt caching is imitated so that usage looks like the API's: each ``cache_control``
breakpoint in tools and system marks a prefix; a prefix seen before (and at least
`min_cache_tokens` long) is read from the cache, the longest new one is written, and
input_tokens counts only the rest. Tokens are characters / 4.

    with FakeAnthropic() as api:
        messages = AnthropicMessages(api_key=api.api_key, base_url=api.base_url)
        writer = AnthropicWriter(messages, model=...)
        api.rate_limit_next(retry_after="7")
        api.requests[-1].body   # every request body, parsed

A benchmark runs it in a process of its own, each answer `latency` seconds late:

    with serving_apart(latency=1.0) as base_url: ...

The `fake_anthropic` fixture reaches every test through tests/conftest.py's `pytest_plugins`.
"""

from __future__ import annotations

import json
import secrets
import socket
import subprocess
import sys
import threading
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self

import pytest

__all__ = ["API_KEY", "FakeAnthropic", "Recorded", "fake_anthropic_fixture", "serving_apart"]

API_KEY = "sk-ant-fake-key"
SPEND_LIMIT_MESSAGE = (
    "This request would exceed your organization's monthly usage tier spend limit. "
    "Access resumes on the first day of next month."
)

Answer = Callable[[dict[str, Any]], Any]
"""Makes the tool input of an answer from the request body."""


def default_answer(body: dict[str, Any]) -> dict[str, Any]:
    """A plausible input for the tool the request forces: a reply's category, else a draft."""
    if (body.get("tool_choice") or {}).get("name") == "categorize_reply":
        return {"category": "interested", "reason": "asks to hear more", "referred_email": None}
    return {
        "subject": "A quick question",
        "body": "Hello,\n\nA short note about your team.\n\nBest regards",
    }


@dataclass(frozen=True)
class Recorded:
    path: str
    headers: dict[str, str]
    raw: bytes

    def key(self) -> str | None:
        """The API key sent: ``x-api-key``, or ``Authorization: Bearer`` as SDK 2.x sends it."""
        bearer = self.headers.get("authorization", "")
        if bearer.startswith("Bearer "):
            return bearer.removeprefix("Bearer ")
        return self.headers.get("x-api-key")

    @property
    def body(self) -> dict[str, Any]:
        parsed: dict[str, Any] = json.loads(self.raw)
        return parsed

    def user_text(self) -> str:
        """Every text the request's messages carry, joined: what the model reads per contact."""
        texts: list[str] = []
        for message in self.body["messages"]:
            content = message["content"]
            if isinstance(content, str):
                texts.append(content)
            else:
                texts.extend(block.get("text", "") for block in content)
        return "\n".join(texts)

    def system_text(self) -> str:
        system = self.body.get("system", "")
        if isinstance(system, str):
            return system
        return "\n".join(block["text"] for block in system)


@dataclass
class _Scripted:
    status: int = 200
    error_type: str | None = None
    message: str | None = None
    error_code: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    tool_input: Any = None
    has_input: bool = False
    content: list[dict[str, Any]] | None = None
    stop_reason: str | None = None
    raw: tuple[bytes, str] | None = None


class FakeAnthropic:
    def __init__(
        self,
        *,
        api_key: str = API_KEY,
        answer: Answer = default_answer,
        min_cache_tokens: int = 0,
        latency: float = 0.0,
    ) -> None:
        self.api_key = api_key
        self.answer = answer
        self.min_cache_tokens = min_cache_tokens
        self.latency = latency
        """Seconds every answer waits (requests are answered concurrently, as the API does)."""
        self._lock = threading.Lock()
        self._requests: list[Recorded] = []
        self._script: deque[_Scripted] = deque()
        self._cached: set[str] = set()
        self._released = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # Running.

    def start(self) -> Self:
        fake = self

        class Handler(_Handler):
            api = fake

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        server.block_on_close = False
        self._server = server
        # A short poll, so that stopping (once per test) does not wait half a second.
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._released.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def requests(self) -> list[Recorded]:
        with self._lock:
            return list(self._requests)

    # Scripting the next answers (in order; then back to normal answers).

    def _push(self, scripted: _Scripted) -> None:
        with self._lock:
            self._script.append(scripted)

    def fail_next(
        self,
        status: int,
        error_type: str,
        message: str,
        *,
        headers: dict[str, str] | None = None,
        error_code: str | None = None,
    ) -> None:
        self._push(_Scripted(status, error_type, message, error_code, headers or {}))

    def rate_limit_next(self, retry_after: str | None = "7") -> None:
        headers = {"retry-after": retry_after} if retry_after is not None else {}
        self.fail_next(
            429,
            "rate_limit_error",
            "This request would exceed your organization's rate limit. Please try again later.",
            headers=headers,
        )

    def overload_next(self) -> None:
        self.fail_next(529, "overloaded_error", "Overloaded")

    def spend_limit_next(self) -> None:
        self.fail_next(
            429,
            "rate_limit_error",
            SPEND_LIMIT_MESSAGE,
            error_code="enforced_spend_limit_reached",
        )

    def answer_next(self, tool_input: Any, *, stop_reason: str = "tool_use") -> None:
        """The next answer calls the tool with this input, whatever its shape."""
        self._push(_Scripted(tool_input=tool_input, has_input=True, stop_reason=stop_reason))

    def answer_next_with_content(self, content: list[dict[str, Any]], stop_reason: str) -> None:
        """The next answer has exactly these content blocks (no tool call, say)."""
        self._push(_Scripted(content=content, stop_reason=stop_reason))

    def answer_next_raw(self, data: bytes, content_type: str = "application/json") -> None:
        """The next answer is a 200 with exactly this body (a proxy's error page, say)."""
        self._push(_Scripted(raw=(data, content_type)))

    def delay_next(self, seconds: float) -> None:
        """The next answer (a normal one) comes after `seconds`."""
        self._push(_Scripted(delay=seconds))

    # Serving.

    def handle(self, handler: _Handler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        recorded = Recorded(
            path=handler.path,
            headers={name.lower(): value for name, value in handler.headers.items()},
            raw=handler.rfile.read(length) if length else b"",
        )
        with self._lock:
            self._requests.append(recorded)
            scripted = self._script.popleft() if self._script else _Scripted()
        if scripted.delay or self.latency:
            self._released.wait(scripted.delay or self.latency)
        if handler.command != "POST" or recorded.path.split("?")[0] != "/v1/messages":
            handler.reply(404, _error("not_found_error", "Not found"))
            return
        if recorded.key() != self.api_key:
            handler.reply(401, _error("authentication_error", "invalid x-api-key"))
            return
        if "anthropic-version" not in recorded.headers:
            handler.reply(400, _error("invalid_request_error", "anthropic-version: required"))
            return
        if scripted.raw is not None:
            handler.reply_bytes(200, *scripted.raw)
            return
        if scripted.status != 200:
            handler.reply(
                scripted.status,
                _error(
                    scripted.error_type or "api_error",
                    scripted.message or "error",
                    scripted.error_code,
                ),
                scripted.headers,
            )
            return
        try:
            body = recorded.body
        except ValueError:
            handler.reply(400, _error("invalid_request_error", "The body is not JSON"))
            return
        problem = _invalid(body)
        if problem:
            handler.reply(400, _error("invalid_request_error", problem))
            return
        handler.reply(200, self._message(body, scripted))

    def _message(self, body: dict[str, Any], scripted: _Scripted) -> dict[str, Any]:
        tool_name = (body.get("tool_choice") or {}).get("name") or body["tools"][0]["name"]
        tool_input = scripted.tool_input if scripted.has_input else self.answer(body)
        content = scripted.content
        if content is None:
            content = [
                {
                    "type": "tool_use",
                    "id": f"toolu_{secrets.token_hex(12)}",
                    "name": tool_name,
                    "input": tool_input,
                }
            ]
        return {
            "id": f"msg_{secrets.token_hex(12)}",
            "type": "message",
            "role": "assistant",
            "model": body["model"],
            "content": content,
            "stop_reason": scripted.stop_reason or "tool_use",
            "stop_sequence": None,
            "usage": {**self._usage(body), "output_tokens": _tokens(json.dumps(content))},
        }

    def _usage(self, body: dict[str, Any]) -> dict[str, int]:
        """Input tokens split as the API splits them: read from cache, written to it, the rest."""
        parts = [json.dumps(tool, sort_keys=True) for tool in body.get("tools", [])]
        breakpoints = [
            index for index, tool in enumerate(body.get("tools", [])) if tool.get("cache_control")
        ]
        system = body.get("system", [])
        blocks = [{"type": "text", "text": system}] if isinstance(system, str) else system
        for block in blocks:
            parts.append(json.dumps(block, sort_keys=True))
            if block.get("cache_control"):
                breakpoints.append(len(parts) - 1)
        total = _tokens("".join(parts) + json.dumps(body["messages"], sort_keys=True))
        read = written = 0
        with self._lock:
            for end in breakpoints:
                prefix = "".join(parts[: end + 1])
                size = _tokens(prefix)
                if size < self.min_cache_tokens:
                    continue
                if prefix in self._cached:
                    read = size
                    written = 0
                else:
                    self._cached.add(prefix)
                    written = size - read
        return {
            "input_tokens": total - read - written,
            "cache_creation_input_tokens": written,
            "cache_read_input_tokens": read,
        }


def _tokens(text: str) -> int:
    return max(1, len(text) // 4)


def _error(kind: str, message: str, code: str | None = None) -> dict[str, Any]:
    error: dict[str, Any] = {"type": kind, "message": message}
    if code is not None:
        error["details"] = {"error_code": code}
    return {"type": "error", "error": error, "request_id": f"req_{secrets.token_hex(12)}"}


def _invalid(body: dict[str, Any]) -> str | None:
    if not isinstance(body.get("model"), str):
        return "model: Field required"
    if not isinstance(body.get("max_tokens"), int):
        return "max_tokens: Field required"
    if not isinstance(body.get("messages"), list) or not body["messages"]:
        return "messages: at least one message is required"
    tools = body.get("tools") or []
    if not tools:
        return "tools: this fake answers with a tool call only"
    choice = body.get("tool_choice")
    names = {tool.get("name") for tool in tools}
    if choice and choice.get("type") == "tool" and choice.get("name") not in names:
        return f"tool_choice.name: no tool named {choice.get('name')!r}"
    return None


class _Handler(BaseHTTPRequestHandler):
    api: FakeAnthropic
    protocol_version = "HTTP/1.1"
    timeout = 30

    def setup(self) -> None:
        super().setup()
        # Headers and body leave in separate writes: without this, Nagle's algorithm and the
        # client's delayed ACK hold each answer back for tens of milliseconds.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def do_POST(self) -> None:
        self.api.handle(self)

    do_GET = do_POST

    def reply(
        self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None
    ) -> None:
        self.reply_bytes(status, json.dumps(body).encode(), "application/json", headers)

    def reply_bytes(
        self, status: int, data: bytes, content_type: str, headers: dict[str, str] | None = None
    ) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.send_header("request-id", f"req_{secrets.token_hex(12)}")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except OSError:
            self.close_connection = True  # the client gave up waiting (a delayed answer)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(name="fake_anthropic")
def fake_anthropic_fixture() -> Iterator[FakeAnthropic]:
    with FakeAnthropic() as api:
        yield api


@contextmanager
def serving_apart(latency: float) -> Iterator[str]:
    """The fake with its default answers, each `latency` seconds late, in a process of its own
    (as a real API is: a benchmark's worker must not share the interpreter lock with it).
    Yields its base URL."""
    server = subprocess.Popen(
        [sys.executable, __file__, str(latency)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert server.stdout is not None
    assert server.stdin is not None
    try:
        yield server.stdout.readline().strip()
    finally:
        server.stdin.close()
        server.wait(timeout=30)


if __name__ == "__main__":  # serving_apart's process: serves until its stdin closes
    with FakeAnthropic(latency=float(sys.argv[1])) as apart:
        print(apart.base_url, flush=True)
        sys.stdin.read()
