"""Mounting the administration and exercise pages, each domain's router from its own folder."""

from __future__ import annotations

from fastapi import FastAPI

from service.accounts import admin_views
from service.recipients import pages as recipient_pages


def install_admin_pages(app: FastAPI) -> None:
    """Add the staff's administration pages (users, keys, recipients, audit, schedules...)."""
    app.include_router(admin_views.router)
    app.include_router(recipient_pages.router)
