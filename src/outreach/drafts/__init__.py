"""Drafts: emails written for a contact, edited and approved by a person before sending."""
