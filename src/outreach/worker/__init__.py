"""The worker: jobs that move rows from state to state, run on an interval."""
