"""Rate limits per API key: a token bucket in each process, refused with 429 and Retry-After.

Each key may make `api_rate_limit_burst` requests at once and `api_rate_limit_per_minute` on
average. The buckets live in the process's memory: with N web processes a key gets up to N
times the limit, and a restart refills them. The 429 says so, and README "REST API" too; a
deployment that needs one limit across processes puts it in its proxy. People signed in on the
web are not limited here (their sign-in is, in service.accounts.limits).
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from datetime import datetime

from fastapi import HTTPException

from service.clock import utcnow
from service.config import Settings

MAX_BUCKETS = 10_000  # keys seen recently; beyond this the fullest buckets are forgotten


@dataclass
class _Bucket:
    tokens: float
    at: datetime


class RateLimited(HTTPException):
    """429: the key has used its requests for now; Retry-After says when to try again."""

    kind = "rate-limited"

    def __init__(self, retry_after: int, settings: Settings) -> None:
        self.members = {
            "retry_after_seconds": retry_after,
            "limit_per_minute": settings.api_rate_limit_per_minute,
            "burst": settings.api_rate_limit_burst,
            "scope": "per API key, per server process",
        }
        super().__init__(
            429,
            f"this API key has made more than {settings.api_rate_limit_burst} requests at once "
            f"or {settings.api_rate_limit_per_minute} a minute; try again in {retry_after} s "
            "(the limit is counted per API key in each server process)",
            headers={"Retry-After": str(retry_after)},
        )


class TokenBuckets:
    """One bucket per key; thread-safe (sync routes run in a thread pool)."""

    def __init__(self) -> None:
        self._buckets: dict[str, _Bucket] = {}
        self._lock = threading.Lock()

    def take(self, who: str, per_minute: int, burst: int) -> int:
        """Take one token for `who`: 0 when allowed, else the seconds until one is back."""
        now = utcnow()
        rate = per_minute / 60.0
        with self._lock:
            bucket = self._buckets.get(who)
            if bucket is None:
                if len(self._buckets) >= MAX_BUCKETS:
                    self._forget_full(now, rate, burst)
                bucket = self._buckets[who] = _Bucket(float(burst), now)
            elapsed = max(0.0, (now - bucket.at).total_seconds())
            bucket.tokens = min(float(burst), bucket.tokens + elapsed * rate)
            bucket.at = now
            if bucket.tokens >= 1.0:
                bucket.tokens -= 1.0
                return 0
            return max(1, math.ceil((1.0 - bucket.tokens) / rate))

    def _forget_full(self, now: datetime, rate: float, burst: int) -> None:
        # A bucket that has refilled holds nothing worth keeping.
        for who, bucket in list(self._buckets.items()):
            if bucket.tokens + (now - bucket.at).total_seconds() * rate >= burst:
                del self._buckets[who]

    def clear(self) -> None:
        """Forget every bucket (tests; a changed setting)."""
        with self._lock:
            self._buckets.clear()


BUCKETS = TokenBuckets()


def enforce(who: str, settings: Settings) -> None:
    """Count one request of key `who`; RateLimited when it is over its limit."""
    if settings.api_rate_limit_per_minute <= 0:
        return  # 0 turns the limit off (a proxy in front limits instead)
    wait = BUCKETS.take(who, settings.api_rate_limit_per_minute, settings.api_rate_limit_burst)
    if wait:
        raise RateLimited(wait, settings)
