"""REST routes for webhooks: subscribe (the secret shown once), list, remove, log, redeliver.

Every route needs notices:read; each caller sees and changes only its own subscriptions (one
per API key or person); delivery events need reports:read too.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from service.accounts.permissions import PROTECTED_RESPONSES, NoticesRead
from service.accounts.principal import Principal
from service.accounts.roles import Scope
from service.api.deps import SessionDep
from service.api.idempotency import Idempotent, json_response
from service.api.problems import located, problem_response
from service.clock import as_utc
from service.config import get_settings
from service.webhooks.events import EVENT_TYPES
from service.webhooks.models import WebhookDelivery, WebhookSubscription
from service.webhooks.secret_box import SecretKeyMissing
from service.webhooks.service import (
    Owner,
    SubscriptionInvalid,
    create_subscription,
    delivery_log,
    find_owned,
    owned,
    redeliver,
    remove_subscription,
)

router = APIRouter(prefix="/api/v1/webhooks", tags=["webhooks"], responses=PROTECTED_RESPONSES)
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "not one of yours"}}
Id = Annotated[int, Path(ge=1, le=2**31 - 1)]


class NewSubscription(BaseModel):
    """Where to send which events."""

    url: str = Field(max_length=2000, examples=["https://larm.example.se/klarvarsel-hook"])
    events: list[Annotated[str, Field(max_length=64)]] = Field(
        min_length=1,
        max_length=len(EVENT_TYPES) + 2,
        examples=[["notice.*", "delivery.failed"]],
        description="event types, or notice.* / delivery.* for all of a kind",
    )
    description: str = Field("", max_length=200)

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "url": "https://larm.example.se/klarvarsel-hook",
                    "events": ["notice.sent", "delivery.failed"],
                    "description": "the alarm centre",
                }
            ]
        }
    }


class SubscriptionOut(BaseModel):
    """A subscription (never its secret, except once when it is made)."""

    id: int
    url: str
    events: list[str]
    description: str
    test_only: bool
    created_at: datetime


class CreatedSubscription(SubscriptionOut):
    """A new subscription and its signing secret: store it now, it is not shown again."""

    secret: str


class AttemptOut(BaseModel):
    """One request to the receiver."""

    attempted_at: datetime
    status_code: int | None
    error: str | None
    duration_ms: int


class DeliveryOut(BaseModel):
    """One event sent (or being sent) to the subscription, with every attempt."""

    id: int
    webhook_id: str
    type: str
    status: str
    attempts: int
    next_attempt_at: datetime | None
    give_up_at: datetime
    delivered_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    payload: dict[str, Any]
    log: list[AttemptOut]


def _owner(principal: Principal) -> Owner:
    return Owner(
        actor=principal.actor,
        key_id=None if principal.is_user else principal.id,
        test_only=principal.is_test,
        may_read_reports=principal.has(Scope.reports_read),
        source=principal.source,
    )


def _out(subscription: WebhookSubscription) -> dict[str, Any]:
    out = SubscriptionOut.model_validate(subscription, from_attributes=True)
    return {**out.model_dump(), "created_at": as_utc(subscription.created_at)}


def _missing(what: str) -> JSONResponse:
    return problem_response(404, "not-found", "Not found", f"you have no {what}")


@router.post(
    "",
    operation_id="webhook_subscribe",
    status_code=201,
    response_model=CreatedSubscription,
    responses={
        422: {"description": "the problems, all at once"},
        503: {"description": "the key that seals the signing secrets is missing"},
    },
)
def subscribe(
    body: NewSubscription, session: SessionDep, principal: NoticesRead, idempotent: Idempotent
) -> Response:
    """Subscribe a URL to events; the answer carries the signing secret, shown only now."""
    return idempotent.run(session, principal, lambda: _subscribe(body, session, principal))


def _subscribe(body: NewSubscription, session: Session, principal: Principal) -> Response:
    try:
        subscription, secret = create_subscription(
            session,
            _owner(principal),
            get_settings(),
            url=body.url,
            events=body.events,
            description=body.description,
        )
    except SubscriptionInvalid as exc:
        return problem_response(
            422,
            "webhook-invalid",
            "Subscription refused",
            str(exc),
            problems=located(exc.problems),
        )
    except SecretKeyMissing as exc:  # a deployment problem the operator must fix, said plainly
        return problem_response(503, "webhook-key-missing", "Webhook key missing", str(exc))
    created = CreatedSubscription(**_out(subscription), secret=secret)
    return json_response(created, 201, location=f"/api/v1/webhooks/{subscription.id}")


@router.get("", operation_id="webhook_list")
def list_subscriptions(session: SessionDep, principal: NoticesRead) -> list[SubscriptionOut]:
    """Your subscriptions."""
    return [SubscriptionOut(**_out(s)) for s in owned(session, principal.actor)]


@router.get(
    "/{subscription_id}",
    operation_id="webhook_get",
    response_model=SubscriptionOut,
    responses=NOT_FOUND,
)
def get_subscription(
    subscription_id: Id, session: SessionDep, principal: NoticesRead
) -> SubscriptionOut | JSONResponse:
    """One of your subscriptions."""
    found = find_owned(session, principal.actor, subscription_id)
    if found is None:
        return _missing(f"subscription {subscription_id}")
    return SubscriptionOut(**_out(found))


@router.delete(
    "/{subscription_id}",
    operation_id="webhook_remove",
    status_code=204,
    response_class=Response,
    responses=NOT_FOUND,
)
def remove(subscription_id: Id, session: SessionDep, principal: NoticesRead) -> Response:
    """Stop a subscription; what is still queued for it is dropped."""
    found = find_owned(session, principal.actor, subscription_id)
    if found is None:
        return _missing(f"subscription {subscription_id}")
    remove_subscription(session, found, _owner(principal))
    return Response(status_code=204)


@router.get(
    "/{subscription_id}/deliveries",
    operation_id="webhook_deliveries",
    response_model=list[DeliveryOut],
    responses=NOT_FOUND,
)
def deliveries(
    subscription_id: Id, session: SessionDep, principal: NoticesRead
) -> list[DeliveryOut] | JSONResponse:
    """The delivery log, newest first (the latest 200): every event and every attempt."""
    found = find_owned(session, principal.actor, subscription_id)
    if found is None:
        return _missing(f"subscription {subscription_id}")
    return [
        DeliveryOut(
            id=d.id,
            webhook_id=e.message_id,
            type=e.type,
            status=d.status,
            attempts=d.attempts,
            next_attempt_at=as_utc(d.next_attempt_at) if d.status == "pending" else None,
            give_up_at=as_utc(d.give_up_at),
            delivered_at=as_utc(d.delivered_at) if d.delivered_at else None,
            last_status_code=d.last_status_code,
            last_error=d.last_error,
            payload=e.payload,
            log=[
                AttemptOut(
                    attempted_at=as_utc(a.attempted_at),
                    status_code=a.status_code,
                    error=a.error,
                    duration_ms=a.duration_ms,
                )
                for a in attempts
            ],
        )
        for d, e, attempts in delivery_log(session, found.id)
    ]


@router.post(
    "/{subscription_id}/deliveries/{delivery_id}/redeliver",
    operation_id="webhook_redeliver",
    status_code=202,
    response_model=dict[str, int],
    responses=NOT_FOUND,
)
def redeliver_route(
    subscription_id: Id,
    delivery_id: Id,
    session: SessionDep,
    principal: NoticesRead,
    idempotent: Idempotent,
) -> Response:
    """Send an event again (same webhook-id); the new delivery's id."""
    found = find_owned(session, principal.actor, subscription_id)
    delivery = session.get(WebhookDelivery, delivery_id)
    if found is None or delivery is None or delivery.subscription_id != found.id:
        return _missing(f"delivery {delivery_id} of subscription {subscription_id}")

    def work() -> Response:
        settings = get_settings()
        again = redeliver(session, delivery, settings, principal.actor, principal.source)
        return json_response({"delivery_id": again.id}, 202)

    return idempotent.run(session, principal, work)
