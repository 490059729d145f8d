"""Exactly one effective scheduler: a PostgreSQL advisory lock, or a file lock for SQLite.

APScheduler 3 has no coordination of its own: two schedulers on one database would both fire.
Every scheduler process runs, but only the one holding the lock fires; the others stand by and
try again every `scheduler_lock_retry_seconds`.

PostgreSQL: a session-level advisory lock on a dedicated connection, keyed by the schema (so
deployments, and tests, sharing a server but not a schema do not block each other). When the
holder dies its connection closes and the lock goes at once; when its machine vanishes, the
server's TCP keepalive (set on that connection) drops it within `scheduler_takeover_seconds`.
A standby then takes over within one retry interval. The holder checks its connection before
each tick and stops firing the moment it is lost (a database restart drops every lock).
SQLite: `flock` on a file beside the database, held while the process lives (one machine).
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
from pathlib import Path
from typing import IO

import sqlalchemy as sa
from sqlalchemy import Connection, Engine

from service.config import Settings

logger = logging.getLogger(__name__)

LOCK_NAME = "klarvarsel.scheduler"


def lock_key(schema: str) -> int:
    """The advisory lock key for a schema: a stable signed 64-bit number."""
    digest = hashlib.sha256(f"{LOCK_NAME}:{schema}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


class Leadership:
    """Holds, checks and gives up the scheduler lock."""

    def __init__(self, engine: Engine, settings: Settings) -> None:
        self.engine = engine
        self.settings = settings
        self._connection: Connection | None = None
        self._file: IO[bytes] | None = None

    @property
    def held(self) -> bool:
        """Whether this process believes it holds the lock (verify with `check`)."""
        return self._connection is not None or self._file is not None

    def acquire(self) -> bool:
        """Try to take the lock without waiting; True if this process holds it now."""
        if self.held:
            return self.check()
        dialect = self.engine.dialect.name
        if dialect == "postgresql":
            return self._acquire_postgres()
        if dialect == "sqlite":
            return self._acquire_file()
        return True  # no other database is supported for the scheduler; nothing to share

    def _acquire_postgres(self) -> bool:
        connection = None
        try:
            connection = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
            # Server-side keepalive: a holder whose machine vanished loses the lock in bounded time.
            takeover = self.settings.scheduler_takeover_seconds
            idle, interval = max(1, int(takeover / 3)), max(1, int(takeover / 9))
            for name, value in (
                ("tcp_keepalives_idle", idle),
                ("tcp_keepalives_interval", interval),
                ("tcp_keepalives_count", 3),
            ):
                connection.execute(sa.text(f"SET {name} = {value}"))
            schema = connection.scalar(sa.text("SELECT current_schema()"))
            got = connection.scalar(
                sa.text("SELECT pg_try_advisory_lock(:key)"), {"key": lock_key(str(schema))}
            )
        except sa.exc.SQLAlchemyError as exc:
            logger.warning("scheduler lock: the database cannot be reached: %s", exc)
            if connection is not None:
                connection.close()
            return False
        if not got:
            connection.close()
            return False
        self._connection = connection
        return True

    def _acquire_file(self) -> bool:
        url = self.engine.url
        database = url.database or ""
        path = Path(f"{database}.scheduler-lock") if database and database != ":memory:" else None
        if path is None:
            return True  # an in-memory database lives in this process only
        handle = path.open("ab")
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            return False
        handle.truncate(0)
        handle.write(f"{os.getpid()}\n".encode())
        handle.flush()
        self._file = handle
        return True

    def check(self) -> bool:
        """Whether the lock is still ours; on a lost connection it is given up at once."""
        if self._file is not None:
            return True
        if self._connection is None:
            return False
        try:
            self._connection.execute(sa.text("SELECT 1"))
        except sa.exc.SQLAlchemyError:
            logger.warning("scheduler lock: lost the database connection; no longer active")
            self._drop()
            return False
        return True

    def _drop(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            try:
                connection.invalidate()
                connection.close()
            except sa.exc.SQLAlchemyError:
                pass

    def release(self) -> None:
        """Give the lock up (a clean stop), so a standby takes over at once."""
        if self._connection is not None:
            try:
                self._connection.execute(sa.text("SELECT pg_advisory_unlock_all()"))
                self._connection.close()
            except sa.exc.SQLAlchemyError:
                self._drop()
            self._connection = None
        if self._file is not None:
            fcntl.flock(self._file.fileno(), fcntl.LOCK_UN)
            self._file.close()
            self._file = None
