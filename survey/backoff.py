"""The one backoff for trying a remote service again: exponential, capped, with jitter.

Used by the Prolific client between tries of one request and by the scheduler between tries of one
action. (Celery tasks use Celery's own ``retry_backoff``.)
"""

from __future__ import annotations

import random


def backoff_s(attempt: int, *, base_s: float, cap_s: float) -> float:
    """Seconds to wait after failed try ``attempt`` (1, 2, ...): ``base_s`` doubled for each try
    after the first, capped at ``cap_s``, then a random 50-100 % of that, so that clients that
    failed together do not come back together."""
    wait = min(cap_s, base_s * 2 ** max(0, attempt - 1))
    return wait / 2 + random.uniform(0, wait / 2)
