"""Per-caller rate limit for the API: a fixed-window counter in the cache.

The rate comes from the `SCHOOLBRIDGE_API_RATE` setting ("600/m", "10000/h", ...), read on every
request; unset or empty means no limit. Callers are counted by user, anonymous ones by address.
Over the limit: 429 with code `rate_limited` and a Retry-After header.
"""

from __future__ import annotations

import time

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest
from ninja.throttling import BaseThrottle

PERIODS = {"s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "hour": 3600, "d": 86400, "day": 86400}


def parse_rate(rate: str) -> tuple[int, int] | None:
    """'600/m' -> (600, 60). Empty -> None. Malformed -> ValueError."""
    rate = (rate or "").strip()
    if not rate:
        return None
    count, _sep, period = rate.partition("/")
    if period not in PERIODS or not count.isdigit() or int(count) < 1:
        raise ValueError(f"bad API rate {rate!r}: expected like '600/m'")
    return int(count), PERIODS[period]


class ApiRateThrottle(BaseThrottle):
    def __init__(self) -> None:
        self._wait: float | None = None

    def allow_request(self, request: HttpRequest) -> bool:
        parsed = parse_rate(getattr(settings, "SCHOOLBRIDGE_API_RATE", ""))
        if parsed is None:
            return True
        limit, period = parsed
        user = getattr(request, "auth", None)
        pk = getattr(user, "pk", None)
        ident = f"u{pk}" if pk else f"ip{self.get_ident(request)}"
        now = time.time()
        window = int(now // period)
        key = f"sb:api-rate:{ident}:{period}:{window}"
        cache.add(key, 0, period + 1)
        try:
            count = cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.set(key, 1, period + 1)
            count = 1
        if count > limit:
            self._wait = period - (now % period)
            return False
        return True

    def wait(self) -> float | None:
        return self._wait
