"""Webhook subscriptions in the web app (admins only): who receives events, how it goes, stop one.

Never a secret, sealed or not, and never a URL's query string: it may carry the receiver's token.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy.orm import Session

from service.accounts.admin_render import render_admin, with_language
from service.accounts.page_permissions import PageAdmin
from service.accounts.pages import page_language
from service.accounts.principal import Principal
from service.api.deps import SessionDep
from service.webhooks.models import WebhookSubscription
from service.webhooks.overview import HEALTH_DAYS, active_subscriptions, with_key
from service.webhooks.service import LOG_LIMIT, Owner, delivery_log, remove_subscription

router = APIRouter(prefix="/admin/webhooks", include_in_schema=False)
# The ids the database can hold: a larger number is refused (422) before any query.
Id = Annotated[int, Path(ge=1, le=2**31 - 1)]


def _active(session: Session, subscription_id: int) -> WebhookSubscription:
    """The active subscription, or the 404 page (a removed one is gone for the admin too)."""
    found = session.get(WebhookSubscription, subscription_id)
    if found is None or not found.active:
        raise HTTPException(404, f"no active webhook subscription has the id {subscription_id}")
    return found


def admin_owner(principal: Principal) -> Owner:
    """The admin as the one who acts, so the audit names them and where they were."""
    return Owner(
        actor=principal.actor,
        key_id=None,
        test_only=False,
        may_read_reports=True,
        source=principal.source,
    )


@router.get("", response_class=HTMLResponse)
def webhooks_page(request: Request, principal: PageAdmin, session: SessionDep) -> HTMLResponse:
    """Every active subscription: owner, URL, events and the last week's deliveries."""
    who = request.query_params.get("who", "")[:12]
    return render_admin(
        request,
        "webhooks/list.html",
        principal,
        current="/admin/webhooks",
        rows=active_subscriptions(session),
        days=HEALTH_DAYS,
        done=request.query_params.get("done", "")[:20],
        who=who if who.isdigit() else "",
    )


@router.get("/{subscription_id}", response_class=HTMLResponse)
def subscription_page(
    request: Request, subscription_id: Id, principal: PageAdmin, session: SessionDep
) -> HTMLResponse:
    """One subscription and its delivery log, newest first; the button that stops it."""
    found = _active(session, subscription_id)
    return render_admin(
        request,
        "webhooks/subscription.html",
        principal,
        current="/admin/webhooks",
        row=with_key(session, found),
        log=delivery_log(session, found.id),
        log_limit=LOG_LIMIT,
    )


@router.post("/{subscription_id}/remove", response_model=None)
async def remove(
    request: Request, subscription_id: Id, principal: PageAdmin, session: SessionDep
) -> RedirectResponse:
    """Stop the subscription (the CSRF token is checked first); what is queued is dropped."""
    found = _active(session, subscription_id)
    remove_subscription(session, found, admin_owner(principal))
    target = f"/admin/webhooks?done=removed&who={found.id}"
    return RedirectResponse(with_language(target, page_language(request)), status_code=303)
