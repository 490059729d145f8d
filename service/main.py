"""The FastAPI application: REST API under /api/v1 and server-rendered pages."""

from __future__ import annotations

from fastapi import FastAPI

from service.api import content_views, preview_views
from service.web import views as web_views

app = FastAPI(
    title="Klarvarsel",
    version="0.1.0",
    summary="Accessible crisis communication: one notice, every audience.",
)
app.include_router(content_views.router)
app.include_router(preview_views.router)
app.include_router(web_views.router)


@app.get("/healthz", operation_id="health", tags=["health"])
def health() -> dict[str, str]:
    """Liveness: the process answers."""
    return {"status": "ok"}
