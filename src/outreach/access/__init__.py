"""Access: people who use outreach, their sign-in sessions and their API tokens.

Not in the seed, whose row-level policies let anyone do anything; a self-hosted product needs
sign-in from day one.
"""
