"""The audit log in the web app (admins): filter by actor, action and time; data masked."""

from __future__ import annotations

import json

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from service.accounts.admin_render import render_admin
from service.accounts.page_permissions import PageAdmin
from service.api.deps import SessionDep
from service.audit.query import list_events, parse_since

router = APIRouter(prefix="/admin", include_in_schema=False)
LIMITS = (50, 200, 1000)
FILTER_MAX = 200


@router.get("/audit", response_class=HTMLResponse)
def audit_page(request: Request, principal: PageAdmin, session: SessionDep) -> HTMLResponse:
    """The newest events first; phone numbers and e-mail addresses of residents are masked."""
    query = {k: request.query_params.get(k, "").strip()[:FILTER_MAX] for k in ("actor", "action")}
    since_text = request.query_params.get("since", "").strip()[:40]
    limit_text = request.query_params.get("limit", "50")
    limit = int(limit_text) if limit_text.isdigit() and int(limit_text) in LIMITS else LIMITS[0]
    errors = []
    since = None
    if since_text:
        try:
            since = parse_since(since_text)
        except ValueError:
            errors.append({"field": "since", "code": "since_invalid", "text": "", "params": {}})
    events = (
        []
        if errors
        else list_events(
            session,
            actor=query["actor"] or None,
            action=query["action"] or None,
            since=since,
            limit=limit,
        )
    )
    rows = [
        (e, json.dumps(e.details, ensure_ascii=False, sort_keys=True) if e.details else "")
        for e in events
    ]
    return render_admin(
        request,
        "audit/log.html",
        principal,
        status_code=400 if errors else 200,
        current="/admin/audit",
        query={**query, "since": since_text, "limit": limit},
        limits=LIMITS,
        rows=rows,
        errors=errors,
    )
