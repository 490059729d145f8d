"""The communicator web app's routes, one router per page (mounted by service.main)."""

from __future__ import annotations

from fastapi import APIRouter

from service.web import layout
from service.web.notices import compose_views, list_views

router = APIRouter()
for page in (layout, list_views, compose_views):
    router.include_router(page.router)
