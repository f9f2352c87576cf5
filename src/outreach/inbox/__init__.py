"""Inbox: replies, auto-replies and bounces read from the sending mailboxes."""
