"""A readable line for each event, for Slack-compatible incoming webhooks (`{"text": ...}`).
Pure: the event's kind and data in, Slack's mrkdwn text out."""

from __future__ import annotations

from typing import Any

from outreach.events.kinds import EventKind


def message(kind: str, data: dict[str, Any]) -> dict[str, str]:
    """The body an incoming webhook takes: one `text`."""
    return {"text": text(kind, data)}


def text(kind: str, data: dict[str, Any]) -> str:
    get = data.get
    if kind == EventKind.reply_received:
        subject = f" — _{get('subject')}_" if get("subject") else ""
        snippet = f"\n> {get('snippet')}" if get("snippet") else ""
        return f":incoming_envelope: *{get('email')}* replied{subject}{snippet}"
    if kind == EventKind.reply_categorized:
        return f":label: The reply from *{get('email')}* is *{get('category')}*"
    if kind == EventKind.lead_status_changed:
        return f":bust_in_silhouette: *{get('email')}* is now *{get('status')}*"
    if kind == EventKind.email_sent:
        return f":outbox_tray: Sent _{get('subject')}_ to {get('recipient')}"
    if kind == EventKind.email_bounced:
        return f":warning: An email to {get('recipient')} bounced: {get('reason')}"
    if kind == EventKind.contact_unsubscribed:
        return f":no_entry_sign: {get('email')} unsubscribed"
    if kind == EventKind.campaign_launched:
        return f":rocket: Campaign *{get('name')}* launched for {get('enrolled')} contacts"
    if kind == EventKind.campaign_completed:
        return f":checkered_flag: Campaign *{get('name')}* completed"
    if kind in (EventKind.sender_paused, EventKind.sender_failing):
        state = "paused" if kind == EventKind.sender_paused else "failing"
        return f":rotating_light: Sender {get('email')} is {state}: {get('reason')}"
    return f"outreach: {kind}"
