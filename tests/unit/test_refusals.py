"""Which permanent refusals blame our sending domain (its SPF, DKIM, DMARC) rather than the
recipient or the one email: those stop the account, never the recipient."""

from __future__ import annotations

import pytest

from outreach.providers.errors import refuses_our_domain


@pytest.mark.parametrize(
    "text",
    [
        "5.7.26 Unauthenticated email from ourco.example is not accepted due to domain's DMARC policy",
        "5.7.27 The sender does not pass SPF",
        "5.7.515 Access denied, sending domain ourco.example doesn't meet the required authentication level",
        "5.7.509 Access denied, sending domain ourco.example does not pass DMARC verification",
        "5.7.25 The IP address sending this message does not have a PTR record setup",
        "5.7.9 This mail has been blocked because the sender is unauthenticated",
        "5.7.1 Email rejected per DMARC policy for ourco.example",
    ],
)
def test_authentication_refusals_blame_our_domain(text):
    assert refuses_our_domain(text)


@pytest.mark.parametrize(
    "text",
    [
        "5.1.1 No such user here",
        "5.7.1 Relaying denied",
        "5.7.1 Message rejected as spam",
        "5.2.2 Mailbox full",
        "No such user: SPF is a fine acronym",
        "5.7.233 Your organization has exceeded its daily limit for sending to external recipients",
    ],
)
def test_other_refusals_do_not(text):
    assert not refuses_our_domain(text)
