"""The receipt inbox writer: provider callbacks are appended here, cheaply, and answered at once.

A burst of callbacks (thousands a second when an alert goes out) must never wait on the
database pool that the rest of the application uses, nor on a thread pool that slow requests
hold. So receipts are written by one thread with its own connection, group-committed: every
receipt that arrived while the previous insert ran goes into the next one. A callback is
answered only once its receipt is committed (Twilio does not retry callbacks).
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from concurrent.futures import Future
from functools import lru_cache
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy import Engine

from service.channels.models import ReceiptInbox
from service.clock import utcnow
from service.config import get_settings
from service.store.database import make_engine

logger = logging.getLogger(__name__)

GROUP_LIMIT = 1000  # receipts per insert, at most


class ReceiptWriter:
    """Appends receipts to the inbox in group-committed inserts from one thread of its own."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._queue: queue.SimpleQueue[tuple[dict[str, Any], Future[None]] | None] = (
            queue.SimpleQueue()
        )
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    async def append(self, provider_id: str, status: str, error_code: str | None) -> None:
        """Store one receipt; returns once it is committed (raises if it could not be)."""
        row = {
            "provider_id": provider_id,
            "status": status,
            "error_code": error_code,
            "received_at": utcnow(),
            "tries": 0,
        }
        done: Future[None] = Future()
        self._start()
        self._queue.put((row, done))
        await asyncio.wrap_future(done)

    def _start(self) -> None:
        if self._thread is None:
            with self._lock:
                if self._thread is None:
                    self._thread = threading.Thread(
                        target=self._run, name="kv-receipts", daemon=True
                    )
                    self._thread.start()

    def close(self) -> None:
        """Stop the writing thread once what was queued is written."""
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout=10)
            self._thread = None

    def _run(self) -> None:
        table = cast(sa.Table, ReceiptInbox.__table__)
        stopping = False
        while not stopping:
            first = self._queue.get()
            if first is None:
                return
            batch = [first]
            while len(batch) < GROUP_LIMIT:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    stopping = True
                    break
                batch.append(item)
            try:
                with self.engine.begin() as connection:
                    connection.execute(sa.insert(table), [row for row, _ in batch])
            except Exception as exc:
                logger.exception("could not store %d provider receipts", len(batch))
                for _, done in batch:
                    done.set_exception(exc)
                continue
            for _, done in batch:
                done.set_result(None)


def get_receipt_writer() -> ReceiptWriter:
    """The process's writer, with a connection of its own (not the application's pool)."""
    return _writer_for(get_settings().effective_database_url)


@lru_cache
def _writer_for(url: str) -> ReceiptWriter:
    return ReceiptWriter(make_engine(url, pool=(1, 1, 30.0)))
