"""Every table, imported in one place so that Base.metadata is whole (Alembic, tests)."""

from outreach.access import models as access
from outreach.analytics import models as analytics
from outreach.campaigns import models as campaigns
from outreach.contacts import models as contacts
from outreach.db import Base
from outreach.delivery import models as delivery
from outreach.drafts import models as drafts
from outreach.events import models as events
from outreach.inbox import models as inbox
from outreach.portability import models as portability
from outreach.senders import models as senders

__all__ = [
    "Base",
    "access",
    "analytics",
    "campaigns",
    "contacts",
    "delivery",
    "drafts",
    "events",
    "inbox",
    "portability",
    "senders",
]
