"""The web app as `outreach run` and `outreach serve` serve it."""

from __future__ import annotations

import http.client
import socket
import threading

from outreach.cli.serving import listening_socket, web_server
from outreach.container import build_container
from tests.app_settings import isolated_settings


def test_a_kept_alive_connection_answers_without_waiting_for_nagle(backend, databases, tmp_path):
    container = build_container(
        isolated_settings(tmp_path / "data", DATABASE_URL=databases.fresh_url(backend))
    )
    server = web_server(container)
    listening = listening_socket("127.0.0.1", 0)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listening]}, daemon=True)
    thread.start()
    try:
        while not server.started:
            assert thread.is_alive(), "the server did not start"
            threading.Event().wait(0.02)
        client = http.client.HTTPConnection("127.0.0.1", listening.getsockname()[1], timeout=10)
        for _ in range(2):  # the second request rides the kept-alive connection
            client.request("GET", "/healthz")
            assert client.getresponse().read() == b'{"status":"ok"}'
        served = [
            connection.transport.get_extra_info("socket")
            for connection in server.server_state.connections
        ]
        assert len(served) == 1
        assert served[0].getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
        client.close()
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        listening.close()
        container.close()
