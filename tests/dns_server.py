"""A DNS server on loopback that answers from a zone the test writes, for the sender domain
check (senders/dns_check.py) without the network.

    zone = {"example.com": {"MX": ["10 mx.example.com."], "TXT": ["v=spf1 -all"]}}
    with ZoneServer(zone) as server:
        resolver = DnsPythonResolver([server.host], server.port)

Names are written without the trailing dot; TXT values are the text itself (split into
255-byte strings as DNS carries them); a name with a CNAME answers every type through it.
The `dns_server` fixture reaches every test through tests/conftest.py's `pytest_plugins`.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from typing import Self

import dns.message
import dns.name
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset
import pytest

from tests.loopback import LoopbackServer

Zone = dict[str, dict[str, list[str]]]
"""Name → record type → values, as a zone file writes them."""


class ZoneServer(LoopbackServer):
    def __init__(self, zone: Zone | None = None) -> None:
        self.zone: Zone = {name.lower(): records for name, records in (zone or {}).items()}
        self.host = "127.0.0.1"
        self.port = 0
        self.questions: list[tuple[str, str]] = []
        self._socket: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._stopping = False

    def start(self) -> Self:
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._socket.bind((self.host, 0))
        self.port = self._socket.getsockname()[1]
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is not None:
            # Closing a socket does not wake a thread blocked reading it: an empty datagram does.
            self._stopping = True
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as waker:
                waker.sendto(b"", (self.host, self.port))
            self._thread.join(timeout=5)
        if self._socket is not None:
            self._socket.close()

    def _serve(self) -> None:
        assert self._socket is not None
        while True:
            data, client = self._socket.recvfrom(4096)
            if self._stopping:
                return
            self._socket.sendto(self._answer(dns.message.from_wire(data)).to_wire(), client)

    def _answer(self, query: dns.message.Message) -> dns.message.Message:
        response = dns.message.make_response(query)
        question = query.question[0]
        name = question.name.to_text(omit_final_dot=True).lower()
        kind = dns.rdatatype.to_text(question.rdtype)
        self.questions.append((name, kind))
        if not self._exists(name):
            response.set_rcode(dns.rcode.NXDOMAIN)
            return response
        for owner, values in self._records(name, kind):
            response.answer.append(_rrset(owner, values[0], values[1]))
        return response

    def _exists(self, name: str) -> bool:
        return name in self.zone or any(known.endswith("." + name) for known in self.zone)

    def _records(self, name: str, kind: str) -> Iterator[tuple[str, tuple[str, list[str]]]]:
        records = self.zone.get(name, {})
        if "CNAME" in records and kind != "CNAME":
            yield name, ("CNAME", records["CNAME"])
            yield from self._records(records["CNAME"][0].rstrip(".").lower(), kind)
        elif kind in records:
            yield name, (kind, records[kind])


def _rrset(owner: str, kind: str, values: list[str]) -> dns.rrset.RRset:
    texts = [_quoted(value) for value in values] if kind == "TXT" else values
    return dns.rrset.from_text_list(
        dns.name.from_text(owner), 300, dns.rdataclass.IN, dns.rdatatype.from_text(kind), texts
    )


def _quoted(text: str) -> str:
    """A TXT value as zone-file strings of at most 255 bytes (a DKIM key is longer)."""
    data = text.encode()
    chunks = [data[start : start + 255] for start in range(0, len(data), 255)] or [b""]
    return " ".join('"' + chunk.decode().replace('"', '\\"') + '"' for chunk in chunks)


@pytest.fixture(name="dns_server")
def dns_server_fixture() -> Iterator[ZoneServer]:
    """A DNS server with an empty zone; the test fills `dns_server.zone`."""
    with ZoneServer() as server:
        yield server
