"""REST route to validate a notice and preview every variant with its checks, sending nothing."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Request
from fastapi.responses import JSONResponse

from service.accounts.permissions import PROTECTED_RESPONSES, NoticesWrite, refuse_test_key_for
from service.api.deps import LibraryDep, SessionDep
from service.notices.service import NoticeInvalid, validate_notice
from service.variants.service import report_dict, variant_files

router = APIRouter(prefix="/api/v1", tags=["notices"], responses=PROTECTED_RESPONSES)


@router.post(
    "/notices/preview",
    operation_id="preview_notice",
    responses={422: {"description": "the notice is invalid; `problems` lists every field"}},
)
def preview_notice(
    library: LibraryDep,
    notice: Annotated[dict[str, Any], Body(examples=[{"scenario": "water_outage"}])],
    principal: NoticesWrite,
    request: Request,
    session: SessionDep,
) -> JSONResponse:
    """Validate a notice, render and check every variant; returns the report and the texts."""
    from service.variants.service import render_notice

    try:
        valid = validate_notice(notice, library)
    except NoticeInvalid as exc:
        problems = [{"location": p.location, "message": p.message} for p in exc.problems]
        return JSONResponse({"detail": "invalid notice", "problems": problems}, status_code=422)
    refuse_test_key_for(session, principal, request, valid.envelope.mode.value)
    report = render_notice(valid, library)
    files: dict[str, str] = {}
    for variant in report.variants.values():
        files.update(variant_files(variant))
    return JSONResponse({"report": report_dict(report), "files": files})
