"""Delivery: sender accounts, the emails waiting to go out, and the record of what went."""
