"""Sender accounts: the mailboxes we send from, their state and health, and the mailbox
their replies arrive in."""
