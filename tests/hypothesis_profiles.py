"""How hard hypothesis tries: about 100 examples a property on a developer's machine ("dev"),
and in CI ("ci") the counts each property asks for, some of them in the thousands.

The ci profile is chosen when CI is set to anything but "", "0" or "false" (as CI services set
it), or when OUTREACH_REQUIRE_PG=1 (as .ci/run sets it); dev otherwise. `CI=1 make test` runs
the CI counts locally.
"""

from __future__ import annotations

import os

from hypothesis import settings

DEV_EXAMPLES = 100
IN_CI = (
    os.environ.get("CI", "").lower() not in ("", "0", "false")
    or os.environ.get("OUTREACH_REQUIRE_PG") == "1"
)
PROFILE = "ci" if IN_CI else "dev"


def load_profile() -> None:
    """Registers both profiles and loads the one this run uses. Neither has a deadline: the
    suite runs in parallel on busy machines, where a single example's time says nothing."""
    settings.register_profile("ci", deadline=None)
    settings.register_profile("dev", max_examples=DEV_EXAMPLES, deadline=None)
    settings.load_profile(PROFILE)


def examples(in_ci: int) -> int:
    """`in_ci` examples in CI; at most the dev profile's count elsewhere."""
    return in_ci if IN_CI else min(in_ci, DEV_EXAMPLES)
