"""`klarvarsel scheduler`: run one scheduler until SIGTERM or SIGINT.

Run one or more (on PostgreSQL, on any machines: one fires, the others stand by and take over
when it stops or dies); on SQLite run one. Migrate first (`klarvarsel db upgrade`).
`python -m service.exercises.scheduler_cli` is the same command without the rest of the CLI.
"""

from __future__ import annotations

import logging
import signal
import threading
from types import FrameType

import typer


def scheduler() -> None:
    """Fire scheduled test broadcasts and exercise injects (one active per database)."""
    from service.config import get_settings
    from service.exercises.scheduler import run_scheduler

    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    settings = get_settings()
    stop = threading.Event()

    def request_stop(signum: int, _frame: FrameType | None) -> None:
        logging.getLogger(__name__).info("%s: stopping the scheduler", signal.strsignal(signum))
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    run_scheduler(settings, stop_event=stop)
    typer.echo("scheduler stopped")


if __name__ == "__main__":
    typer.run(scheduler)
