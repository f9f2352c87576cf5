"""Events: each change integrators care about, written as a row in the same transaction as the
change, numbered in commit order for the feed, and delivered to webhook endpoints."""
