"""The communicator web app's routes, one router per page (mounted by service.main)."""

from __future__ import annotations

from fastapi import APIRouter

from service.web import layout
from service.web.notices import (
    compose_views,
    list_views,
    page_views,
    preview_views,
    workflow_views,
)

router = APIRouter()
# Fixed paths before /notices/{code}: /notices/new must not be taken for a code.
for page in (layout, list_views, compose_views, preview_views, workflow_views, page_views):
    router.include_router(page.router)
