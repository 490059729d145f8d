"""The FastAPI application: REST API under /api/v1 and server-rendered pages."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from service.api import content_views, preview_views
from service.channels.sms import callback_views as sms_callback_views
from service.content import get_library
from service.delivery import views as delivery_views
from service.readability.service import warm_up
from service.web import public_views
from service.web import views as web_views


@asynccontextmanager
async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
    """Load content and the pronouncing dictionary before the first request, not during it."""
    get_library()
    warm_up()
    yield


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
