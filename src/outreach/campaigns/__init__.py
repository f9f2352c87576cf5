"""Campaigns: ordered steps sent to a list's contacts inside each campaign's rules."""
