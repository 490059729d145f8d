"""`klarvarsel worker`: run one dispatch worker until SIGTERM or SIGINT.

On PostgreSQL run as many as you like, on as many machines; on SQLite run one. The database must
be migrated first (`klarvarsel db upgrade`). `python -m service.delivery.worker_cli` is the same
command without the rest of the CLI.
"""

from __future__ import annotations

import logging
import signal
import threading
from types import FrameType
from typing import Annotated

import typer


def worker(
    once: Annotated[
        bool, typer.Option("--once", help="stop when no delivery is planned or being sent")
    ] = False,
) -> None:
    """Claim deliveries and send them until stopped (SIGTERM or Ctrl-C finish in-flight ones)."""
    from service.config import get_settings
    from service.delivery.worker import run_worker

    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    # The twilio client logs every request and its headers at INFO: far too much per message.
    logging.getLogger("twilio").setLevel(logging.WARNING)
    stop = threading.Event()

    def request_stop(signum: int, _frame: FrameType | None) -> None:
        logging.getLogger(__name__).info(
            "%s: finishing in-flight messages", signal.strsignal(signum)
        )
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    stats = run_worker(get_settings(), stop_event=stop, once=once)
    typer.echo(
        f"worker stopped: {stats.sent} sent, {stats.retried} retried, {stats.failed} failed, "
        f"{stats.released} given back"
    )


if __name__ == "__main__":
    typer.run(worker)
