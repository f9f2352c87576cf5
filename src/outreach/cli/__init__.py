"""The command line: `outreach ...`, one module per domain."""
