"""`outreach run` and `outreach serve`: the web app on its address, with the worker beside it
for `run`. Imported only by those two commands: the web app is the heaviest import there is."""

from __future__ import annotations

import errno
import socket
import threading

import uvicorn

from outreach.access import service as access
from outreach.cli.context import console
from outreach.container import Container
from outreach.db import transaction
from outreach.errors import Conflict, ValidationFailed
from outreach.web.app import create_app, freeze_start_up
from outreach.worker.loop import run_until_stopped


def listening_socket(host: str, port: int) -> socket.socket:
    """The web app's address, taken before anything says outreach runs there.

    Made with IPPROTO_TCP named: asyncio sets TCP_NODELAY on the connections it accepts only
    when the listening socket says TCP, and without it every response on a kept-alive
    connection waits about 40 ms for Nagle's algorithm and the client's delayed ACK."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listening = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    listening.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listening.bind((host, port))
    except OSError as error:
        listening.close()
        if error.errno == errno.EADDRINUSE:
            raise Conflict(
                f"Port {port} on {host} is already in use (another outreach, or another "
                f"program). Stop it, or choose another port with OUTREACH_PORT, e.g. "
                f"OUTREACH_PORT={port + 1} outreach run."
            ) from error
        raise ValidationFailed(
            f"outreach cannot listen on {host}:{port}: {error.strerror or error}. "
            "Check OUTREACH_HOST and OUTREACH_PORT."
        ) from error
    return listening


def web_server(container: Container) -> uvicorn.Server:
    """The web app as `outreach serve` runs it, not yet started: `.run(sockets=[...])`."""
    settings = container.settings
    return uvicorn.Server(
        uvicorn.Config(
            create_app(container),
            host=settings.host,
            port=settings.port,
            proxy_headers=True,
            log_level="warning",
        )
    )


def _announce_first_admin(container: Container, email: str) -> None:
    with transaction(container.sessions) as session:
        password = access.create_first_admin(session, email)
    if password:
        console.print(
            f"First sign-in (shown once): [bold]{email}[/bold] / [bold]{password}[/bold]\n"
            "Change the password under your account once you are in."
        )


def serve(container: Container, with_worker: bool, first_admin: str | None = None) -> None:
    """Serves on the configured address; with `first_admin`, creates that admin once the
    address is taken (a run that cannot start must not use up the one-time password)."""
    server = web_server(container)
    settings = container.settings
    listening = listening_socket(settings.host, settings.port)
    if first_admin:
        _announce_first_admin(container, first_admin)
    stop = threading.Event()
    worker = threading.Thread(target=run_until_stopped, args=(container, stop), name="worker")
    if with_worker:
        worker.start()
    console.print(f"outreach is running at [bold]{settings.base_url}[/bold]")
    freeze_start_up()
    try:
        with listening:
            server.run(sockets=[listening])
    finally:
        stop.set()
        if with_worker:
            worker.join()
