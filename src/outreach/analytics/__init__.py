"""Analytics: read-only figures of what was drafted, approved, sent and answered."""
