"""The one clock: every wall-clock time the service reads comes from here.

A notice's tense ("the water will be turned off" or "there is no water"), its sender line,
planning, retries, schedules and reports all depend on "now". Reading it in one place lets tests
pin it (so a test passes on any date) and lets a demo or an exercise run at a chosen time.
Durations (rate limits, timeouts, lease renewal intervals) use `time.monotonic()`, which is not a
date and needs no pinning.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    """Something that tells the time, always timezone-aware."""

    def now(self) -> datetime:
        """The current instant (aware)."""
        ...


class SystemClock:
    """The machine's clock: production."""

    def now(self) -> datetime:
        """The machine's time in UTC."""
        return datetime.now(UTC)


class ShiftedClock:
    """Starts at a chosen instant and then runs at real speed (demos, `KLARVARSEL_CLOCK_START`).

    Workers, retries and leases need time to move, so a pinned start that keeps ticking is the
    right tool anywhere outside a unit test.
    """

    def __init__(self, start: datetime) -> None:
        self._offset = _aware(start) - datetime.now(UTC)

    def now(self) -> datetime:
        """Real time moved by the offset chosen at start."""
        return datetime.now(UTC) + self._offset


class FrozenClock:
    """Stands still until moved (unit tests)."""

    def __init__(self, at: datetime) -> None:
        self._at = _aware(at)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        """The pinned instant."""
        with self._lock:
            return self._at

    def set(self, at: datetime) -> None:
        """Move to `at`."""
        with self._lock:
            self._at = _aware(at)

    def advance(self, delta: timedelta) -> None:
        """Move forward by `delta`."""
        with self._lock:
            self._at += delta


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError(f"a clock needs a time with an offset, not {value.isoformat()}")
    return value


_current: Clock | None = None
_lock = threading.Lock()


def get_clock() -> Clock:
    """The process clock: the system clock, or one started at `KLARVARSEL_CLOCK_START`."""
    global _current
    if _current is None:
        with _lock:
            if _current is None:
                from service.config import get_settings

                start = get_settings().clock_start
                _current = ShiftedClock(start) if start else SystemClock()
    return _current


def set_clock(clock: Clock | None) -> None:
    """Replace the process clock (tests); None goes back to the configured one."""
    global _current
    with _lock:
        _current = clock


def as_utc(value: datetime) -> datetime:
    """A stored time as an aware UTC time (SQLite hands back every stored time without zone)."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    """Now, in UTC, by the process clock (every stored time is UTC)."""
    return get_clock().now().astimezone(UTC)
