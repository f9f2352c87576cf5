"""Where one Microsoft 365 mailbox is reached through Microsoft Graph, and as whom."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import quote, urlsplit

from outreach.config import AUTHORITY_URL, GRAPH_URL


@dataclass(frozen=True)
class GraphSettings:
    """How to reach one mailbox as an app registered in its tenant.

    `mailbox` is the user principal name or address to send from. The two URLs are Microsoft's
    global cloud by default; tests (and national clouds) point them elsewhere. Both must be
    https: MSAL refuses any other authority.
    """

    tenant_id: str
    client_id: str
    client_secret: str = field(repr=False)
    mailbox: str
    graph_url: str = GRAPH_URL
    authority_url: str = AUTHORITY_URL
    one_click_unsubscribe: bool = True
    """Whether to ask Exchange for a List-Unsubscribe-Post header (see graph/transport.py)."""
    delegated: bool = False
    """Signed in as the mailbox's owner (delegated.py) rather than as the app itself:
    the token reaches only their own mailbox, as /me."""

    def __post_init__(self) -> None:
        for name in ("tenant_id", "client_id", "client_secret", "mailbox"):
            if not getattr(self, name).strip():
                raise ValueError(f"a Graph sender needs a {name.replace('_', ' ')}")
        for name in ("graph_url", "authority_url"):
            if urlsplit(getattr(self, name)).scheme != "https":
                raise ValueError(f"the Graph {name.replace('_', ' ')} must be https")

    @property
    def authority(self) -> str:
        return f"{self.authority_url.rstrip('/')}/{self.tenant_id}"

    @property
    def scope(self) -> str:
        """`<Graph origin>/.default`: every application permission the admin consented to."""
        parts = urlsplit(self.graph_url)
        return f"{parts.scheme}://{parts.netloc}/.default"

    @property
    def delegated_scopes(self) -> list[str]:
        """What the mailbox's owner consents to: reading and writing their mail, and sending it
        (full URIs, so that a Graph elsewhere than Microsoft's global cloud is asked)."""
        parts = urlsplit(self.graph_url)
        return [
            f"{parts.scheme}://{parts.netloc}/{scope}" for scope in ("Mail.ReadWrite", "Mail.Send")
        ]

    @property
    def signed_in_as(self) -> str:
        if self.delegated:
            return f"{self.mailbox} (through app {self.client_id})"
        return f"app {self.client_id} in tenant {self.tenant_id}"

    @property
    def mailbox_url(self) -> str:
        if self.delegated:
            return f"{self.graph_url.rstrip('/')}/me"
        return f"{self.graph_url.rstrip('/')}/users/{quote(self.mailbox, safe='@')}"
