"""Contacts: imported people, the upload batches they came in, and the lists they belong to."""
