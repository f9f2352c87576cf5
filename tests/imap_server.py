"""A real IMAP server on loopback: Debian's Dovecot, with a throwaway configuration, for the
inbox reader contract tests.

    with DovecotServer() as server:
        account = server.new_account()       # a fresh user with an empty INBOX
        account.append(raw_bytes)            # as a mail delivery would put it there
        ImapReader(account.settings("none"))

One server serves the whole test session; each test gets a user of its own (any name signs in
with PASSWORD), so no test sees another's mail. The server listens on two free ports: plain IMAP that offers STARTTLS, and
implicit TLS, both with a self-signed certificate made for the run (tests.smtp_server's).
Everything lives in one temporary folder: configuration, sockets, logs, and each user's
Maildir.

Dovecot refuses to run mail processes as root and its login processes as root, so when the
tests run as root (CI), mail belongs to the `dovecot` system user and the login processes run
as `dovenull`, both made by the Debian package; otherwise everything runs as the current user.

The `dovecot` and `imap_account` fixtures reach every test through tests/conftest.py's
`pytest_plugins`.
"""

from __future__ import annotations

import getpass
import grp
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Self

import pytest
from imapclient import IMAPClient

from outreach.providers.imap import ImapSettings, Security
from tests.fakes.oauth_server import FakeOAuth
from tests.loopback import LoopbackServer
from tests.smtp_server import tls_files

__all__ = [
    "DovecotServer",
    "ImapAccount",
    "dovecot_fixture",
    "imap_account_fixture",
    "oauth_dovecot_fixture",
    "oauth_mailbox",
    "require_dovecot",
]

REQUIRE_IMAP = os.environ.get("OUTREACH_REQUIRE_IMAP") == "1"
DOVECOT = os.environ.get("OUTREACH_DOVECOT") or shutil.which("dovecot") or "/usr/sbin/dovecot"
DOVEADM = shutil.which("doveadm") or "/usr/bin/doveadm"
PASSWORD = "correct-horse"
"""Every user's password. A static passdb rather than a passwd-file with a line per user:
Dovecot did not always notice a line added within the same second as the last sign-in, and
refused the next test's new user."""


def require_dovecot() -> None:
    """Skip the test with one line saying why when Dovecot is not installed, or fail when
    OUTREACH_REQUIRE_IMAP=1 (CI) says it must run."""
    if Path(DOVECOT).exists() and Path(DOVEADM).exists():
        return
    reason = f"no Dovecot at {DOVECOT} (apt install dovecot-imapd)"
    if REQUIRE_IMAP:
        pytest.fail(f"IMAP tests cannot run: {reason} (OUTREACH_REQUIRE_IMAP=1)")
    pytest.skip(f"IMAP tests skipped: {reason}")


@dataclass(frozen=True)
class ImapAccount:
    """One user on the server, with an INBOX of their own."""

    server: DovecotServer
    username: str
    password: str

    def settings(self, security: Security = "none", folder: str = "INBOX") -> ImapSettings:
        port = self.server.tls_port if security == "tls" else self.server.port
        return ImapSettings(
            host=self.server.host,
            port=port,
            security=security,
            username=self.username,
            password=self.password,
            folder=folder,
        )

    def client(self) -> IMAPClient:
        """A signed-in imapclient over the plain port, for arranging and inspecting."""
        client = IMAPClient(self.server.host, port=self.server.port, ssl=False, timeout=10)
        client.login(self.username, self.password)
        return client

    def append(
        self,
        raw: bytes,
        *,
        folder: str = "INBOX",
        received_at: datetime | None = None,
    ) -> int:
        """Put a message into the folder as a delivery would (not \\Seen); its UID."""
        return self.append_many([raw], folder=folder, received_at=received_at)[0]

    def append_many(
        self,
        messages: Sequence[bytes],
        *,
        folder: str = "INBOX",
        received_at: datetime | None = None,
    ) -> list[int]:
        """Append each message in order on one connection; their UIDs."""
        uids = []
        with self.client() as client:
            for raw in messages:
                answer = client.append(folder, raw, flags=(), msg_time=received_at)
                # "[APPENDUID <uidvalidity> <uid>] Append completed." (RFC 4315)
                uids.append(int(answer.split(b"]")[0].split()[-1]))
        return uids

    def flags(self, uid: int, folder: str = "INBOX") -> tuple[bytes, ...]:
        with self.client() as client:
            client.select_folder(folder, readonly=True)
            flags: tuple[bytes, ...] = client.get_flags([uid])[uid]
            return flags

    def create_folder(self, folder: str) -> None:
        with self.client() as client:
            client.create_folder(folder)

    def change_uidvalidity(self, folder: str = "INBOX") -> int:
        """Give the folder a new UIDVALIDITY, as a rebuilt or restored mailbox gets; the new
        value."""
        status = self.server.doveadm(
            "mailbox", "status", "-u", self.username, "uidvalidity", folder
        )
        current = int(status.rpartition("uidvalidity=")[2].split()[0])
        changed = current + 1
        self.server.doveadm(
            "mailbox", "update", "-u", self.username, "--uid-validity", str(changed), folder
        )
        return changed

    def kick(self) -> None:
        """Disconnect the user's open connections, as a server restart would (BYE)."""
        self.server.doveadm("kick", self.username, ok_codes=(0, 68))


class DovecotServer(LoopbackServer):
    """Dovecot on 127.0.0.1, ports chosen free (`.port` plain and STARTTLS, `.tls_port`
    implicit TLS), in a temporary folder removed by `stop()`."""

    host = "127.0.0.1"

    def __init__(
        self,
        *,
        introspection_url: str | None = None,
        oauth_mechanisms: tuple[str, ...] = ("xoauth2", "oauthbearer"),
    ) -> None:
        """`introspection_url`: also take these SASL OAuth sign-ins, their tokens checked by
        POSTing them there (Dovecot's oauth2 passdb, RFC 7662 introspection)."""
        self.introspection_url = introspection_url
        self.oauth_mechanisms = " ".join(oauth_mechanisms)
        self.port = 0
        self.tls_port = 0
        self.folder = Path()
        self._process: subprocess.Popen[bytes] | None = None

    # Life cycle.

    def start(self, attempts: int = 3) -> Self:
        """Dovecot binds its ports itself, so another process (another xdist worker's) may
        take a port between choosing it and Dovecot listening: then it starts again on
        others."""
        for attempt in range(1, attempts + 1):
            try:
                return self._start_on_free_ports()
            except RuntimeError as error:
                if "Address already in use" not in str(error) or attempt == attempts:
                    raise
                self.stop()
        raise AssertionError("unreachable")

    def _start_on_free_ports(self) -> Self:
        # Not pytest's tmp_path: its parents are private to this user, and Dovecot's own
        # users must reach the Maildirs.
        self.folder = Path(tempfile.mkdtemp(prefix="outreach-dovecot-"))
        self.folder.chmod(0o755)
        self.port, self.tls_port = _free_port(), _free_port()
        self._write_configuration()
        self._process = subprocess.Popen(
            [DOVECOT, "-F", "-c", str(self.config)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        self._wait_until_listening()
        return self

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is not None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            if process.stderr is not None:
                process.stderr.close()
        if self.folder != Path() and self.folder.exists():
            shutil.rmtree(self.folder, ignore_errors=True)

    # Users.

    def new_account(self) -> ImapAccount:
        """A user nobody has used yet, so an empty INBOX: Dovecot makes the Maildir on the
        first sign-in. Every user has the same password (see PASSWORD)."""
        return ImapAccount(self, f"user-{uuid.uuid4().hex[:10]}", PASSWORD)

    # Administration.

    @property
    def config(self) -> Path:
        return self.folder / "dovecot.conf"

    @property
    def log(self) -> str:
        path = self.folder / "dovecot.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def sign_in_methods(self, username: str) -> list[str]:
        """The SASL mechanism of each sign-in of `username` so far, from Dovecot's log."""
        return re.findall(rf"Login: user=<{re.escape(username)}>, method=([A-Z0-9-]+)", self.log)

    def doveadm(self, *arguments: str, ok_codes: tuple[int, ...] = (0,)) -> str:
        done = subprocess.run(
            [DOVEADM, "-c", str(self.config), *arguments],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        if done.returncode not in ok_codes:
            raise RuntimeError(f"doveadm {' '.join(arguments)}: {done.stderr.strip()}")
        return done.stdout.strip()

    # Inside.

    def _write_configuration(self) -> None:
        tls = tls_files()
        mail_user, login_user, internal_user = _users()
        mail_uid = pwd.getpwnam(mail_user).pw_uid
        mail_gid = grp.getgrgid(pwd.getpwnam(mail_user).pw_gid).gr_name
        mail = self.folder / "mail"
        mail.mkdir()
        if os.geteuid() == 0:
            shutil.chown(mail, mail_user, mail_gid)
        self.config.write_text(
            f"""# Written by tests/imap_server.py for one test session; nothing outside
# {self.folder} is read or written.
base_dir = {self.folder}/run
state_dir = {self.folder}/state
log_path = {self.folder}/dovecot.log
protocols = imap
listen = {self.host}
# Plain text sign-in is fine on loopback, and the reader's "none" security needs it.
disable_plaintext_auth = no
auth_mechanisms = plain login{self._oauth_mechanisms}
# Refuse a wrong password at once, every time: the tests try some on purpose, and Dovecot
# would otherwise delay each failure from an address longer than the last (up to 15 s).
auth_failure_delay = 0
service anvil {{
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
ssl = yes
ssl_cert = <{tls.certificate}
ssl_key = <{tls.key}
default_internal_user = {internal_user}
default_login_user = {login_user}
first_valid_uid = {mail_uid}
mail_location = maildir:{mail}/%u/Maildir
{self._oauth_passdb()}passdb {{
  driver = static
  args = password={PASSWORD}{self._password_mechanisms}
}}
userdb {{
  driver = static
  args = uid={mail_user} gid={mail_gid} home={mail}/%u
}}
service imap-login {{
  inet_listener imap {{
    port = {self.port}
  }}
  inet_listener imaps {{
    port = {self.tls_port}
    ssl = yes
  }}
}}
"""
        )

    @property
    def _oauth_mechanisms(self) -> str:
        return f" {self.oauth_mechanisms}" if self.introspection_url else ""

    @property
    def _password_mechanisms(self) -> str:
        # Only with the oauth2 passdb: doveadm's user lookups use no mechanism, and would
        # find no passdb if the only one were filtered.
        return "\n  mechanisms = plain login" if self.introspection_url else ""

    def _oauth_passdb(self) -> str:
        if self.introspection_url is None:
            return ""
        settings = self.folder / "dovecot-oauth2.conf.ext"
        settings.write_text(
            f"""introspection_mode = post
introspection_url = {self.introspection_url}
force_introspection = yes
username_attribute = email
active_attribute = active
active_value = true
"""
        )
        return f"""passdb {{
  driver = oauth2
  mechanisms = {self.oauth_mechanisms}
  args = {settings}
}}
"""

    def _wait_until_listening(self, timeout: float = 15) -> None:
        assert self._process is not None
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self._process.poll() is not None:
                said = (
                    self._process.stderr.read().decode(errors="replace")
                    if self._process.stderr
                    else ""
                )
                raise RuntimeError(f"dovecot exited ({self._process.returncode}): {said}{self.log}")
            # Dovecot writes its pid file once all its listeners are bound, so the ports are
            # its own, not another process's that happened to take them meanwhile.
            if (self.folder / "run" / "master.pid").exists():
                return
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"dovecot did not listen within {timeout} seconds: {self.log}")


def _users() -> tuple[str, str, str]:
    """(mail user, login user, internal user): see the module's docstring."""
    if os.geteuid() == 0:
        # root reads the passwd-file and the certificate in folders only root may enter.
        return "dovecot", "dovenull", "root"
    me = getpass.getuser()
    return me, me, me


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture(name="dovecot", scope="session")
def dovecot_fixture() -> Iterator[DovecotServer]:
    require_dovecot()
    with DovecotServer() as server:
        yield server


@pytest.fixture(name="oauth_dovecot", scope="session")
def oauth_dovecot_fixture() -> Iterator[tuple[FakeOAuth, DovecotServer]]:
    """A Dovecot that also takes XOAUTH2 and OAUTHBEARER, its tokens checked against a fake Google and
    Microsoft sign-in (tests/fakes/oauth_server.py) that lives as long as it does."""
    require_dovecot()
    with FakeOAuth() as oauth, DovecotServer(introspection_url=oauth.introspection_url) as server:
        yield oauth, server


@pytest.fixture(name="xoauth2_dovecot", scope="session")
def xoauth2_dovecot_fixture(
    oauth_dovecot: tuple[FakeOAuth, DovecotServer],
) -> Iterator[tuple[FakeOAuth, DovecotServer]]:
    """A Dovecot taking XOAUTH2 but not OAUTHBEARER, checking tokens with the same sign-in."""
    oauth = oauth_dovecot[0]
    with DovecotServer(
        introspection_url=oauth.introspection_url, oauth_mechanisms=("xoauth2",)
    ) as server:
        yield oauth, server


def oauth_mailbox(dovecot: DovecotServer, name: str) -> ImapAccount:
    """A user named by their address, as Google and Microsoft sign mailboxes in (the static
    passdb lets a test arrange their INBOX with a password too)."""
    return ImapAccount(dovecot, f"{name}-{uuid.uuid4().hex[:8]}@acme.example", PASSWORD)


@pytest.fixture(name="imap_account")
def imap_account_fixture(dovecot: DovecotServer) -> ImapAccount:
    """A fresh user with an empty INBOX on the session's Dovecot."""
    return dovecot.new_account()
