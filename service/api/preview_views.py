"""REST route to validate a notice and preview every variant with its checks, sending nothing."""

from __future__ import annotations

from collections import Counter
from typing import Annotated, Any

from fastapi import APIRouter, Body, Request
from fastapi.responses import JSONResponse

from service.accounts.permissions import PROTECTED_RESPONSES, NoticesWrite, refuse_test_key_for
from service.api.deps import LibraryDep, SessionDep
from service.api.json_body import LimitedJSONRoute
from service.config import get_settings
from service.delivery.planning import PlanPreview, preview_plan
from service.notices.links import notice_url
from service.notices.publish import content_hash, find_duplicate, next_code, reference_lookup
from service.notices.service import NoticeProblem, validate_notice
from service.variants.service import render_notice, report_dict, variant_files

router = APIRouter(
    prefix="/api/v1",
    tags=["notices"],
    route_class=LimitedJSONRoute,
    responses=PROTECTED_RESPONSES,
)


def _plan_dict(plan: PlanPreview) -> dict[str, Any]:
    """The plan in counts only: no names, numbers or addresses leave in a preview."""
    reasons = Counter(problem.reason for problem in plan.unreachable)
    return {
        "recipients": plan.recipients,
        "messages": plan.messages,
        "by_channel": dict(plan.by_channel),
        "by_language": dict(plan.by_language),
        "by_audience": dict(plan.by_audience),
        "unreachable": len(plan.unreachable),
        "unreachable_reasons": dict(reasons),
        "left_out_audiences": dict(plan.left_out),
        "sms_segments": plan.sms_segments,
        "cost_sek": round(plan.cost_sek, 2),
    }


@router.post(
    "/notices/preview",
    operation_id="preview_notice",
    responses={
        413: {"description": "the body is over the size limit (application/problem+json)"},
        422: {
            "description": "the notice is invalid (`problems` lists every field), or its JSON "
            "nests too deeply (application/problem+json)"
        },
    },
)
def preview_notice(
    library: LibraryDep,
    notice: Annotated[dict[str, Any], Body(examples=[{"scenario": "water_outage"}])],
    principal: NoticesWrite,
    request: Request,
    session: SessionDep,
) -> JSONResponse:
    """Validate a notice, render and check every variant, and plan it; sends nothing.

    The texts carry the link the notice will be published under, so characters and SMS segments
    are those that will be sent. `warnings` are things to see before sending (an end time that
    is over, nobody reached, the same notice published before).
    """
    # An invalid notice is a 422 problem listing every field (service.api.errors).
    valid = validate_notice(notice, library, references=reference_lookup(session))
    refuse_test_key_for(session, principal, request, valid.envelope.mode.value)
    settings = get_settings()
    digest = content_hash(notice)
    code = next_code(session, digest)
    url = notice_url(settings, code)
    report = render_notice(valid, library, public_url=url)
    plan = preview_plan(session, valid, library, library.areas, settings, public_url=url)
    warnings = list(valid.warnings)
    if plan.recipients == 0:
        warnings.append(
            NoticeProblem("areas", "nobody in the register is reached: check areas and audiences")
        )
    duplicate = find_duplicate(session, digest)
    if duplicate is not None:
        warnings.append(
            NoticeProblem(
                "",
                f"the same notice was published as {duplicate.code}; sending it again needs an "
                "explicit request for a new notice",
            )
        )
    files: dict[str, str] = {}
    for variant in report.variants.values():
        files.update(variant_files(variant))
    return JSONResponse(
        {
            "code": code,
            "public_url": url,
            "duplicate_of": duplicate.code if duplicate is not None else None,
            "warnings": [{"location": w.location, "message": w.message} for w in warnings],
            "plan": _plan_dict(plan),
            "report": report_dict(report),
            "files": files,
        }
    )
