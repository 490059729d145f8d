"""Mounting the administration and exercise pages, each domain's router from its own folder."""

from __future__ import annotations

from fastapi import FastAPI

from service.accounts import admin_views
from service.audit import pages as audit_pages
from service.exercises import canary_pages, report_pages, run_pages
from service.exercises import pages as exercise_pages
from service.recipients import pages as recipient_pages
from service.web import content_pages, outbox_pages
from service.webhooks import pages as webhook_pages


def install_admin_pages(app: FastAPI) -> None:
    """Add the staff's administration pages (users, keys, webhooks, recipients, audit...)."""
    app.include_router(admin_views.router)
    app.include_router(recipient_pages.router)
    app.include_router(audit_pages.router)
    app.include_router(content_pages.router)
    app.include_router(outbox_pages.router)
    app.include_router(exercise_pages.router)
    app.include_router(report_pages.router)
    app.include_router(run_pages.router)
    app.include_router(canary_pages.router)
    app.include_router(webhook_pages.router)
