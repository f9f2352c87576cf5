"""Transports: one small module per way of handing an email to the world."""
