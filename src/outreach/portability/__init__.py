"""Portability: exports, imports, migrations between databases, and backups."""
