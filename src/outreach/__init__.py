"""outreach: self-hosted cold email campaigns."""

__version__ = "0.1.0"
