"""Compose: choose a scenario, then write the notice in a form generated from its scenario.toml.

Every save goes through the workflow (drafts.create_draft / update_draft) and then redirects
(POST-redirect-GET), so reloading or going back never saves twice. The problems shown are the
validator's own, next to each input and summarised at the top.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from service.api.deps import LibraryDep, SessionDep
from service.content import ContentLibrary
from service.notices.models import NoticeRecord
from service.notices.scenarios import ScenarioSpec
from service.notices.service import NoticeProblem
from service.rendering.messages import coverage
from service.web.layout import Words, render_staff, staff_language
from service.web.notices.deps import FormData, Writer, actor_of, notice_or_404
from service.web.notices.display import in_language
from service.web.notices.form import (
    MultiForm,
    form_values,
    payload_from_form,
    problem_label,
    problems_by_slot,
    slot_of,
)
from service.workflow.drafts import create_draft, problems_of, update_draft
from service.workflow.schemas import EDITABLE, WorkflowError

router = APIRouter(tags=["pages"])
EXTRA_LIST_ROWS = 1  # empty inputs after a list's items (more with "Add another")
MAX_GROW = 10


_COVERAGE: dict[int, dict[tuple[str, str], Any]] = {}


def _coverage(library: ContentLibrary) -> dict[tuple[str, str], Any]:
    """Coverage per (language, scenario), computed once per content library."""
    if id(library) not in _COVERAGE:
        root = library.root
        rows = coverage(root / "message_templates", library.locales_dir, library.languages)
        _COVERAGE[id(library)] = {(row.language, row.scenario): row for row in rows}
    return _COVERAGE[id(library)]


def _language_rows(library: ContentLibrary, scenario: ScenarioSpec) -> list[dict[str, Any]]:
    table = _coverage(library)
    rows = []
    for tag, language in library.languages.items():
        row = table.get((tag, scenario.id))
        rows.append(
            {
                "tag": tag,
                "name": language.name,
                "english_name": language.english_name,
                "dir": language.direction,
                "percent": round(row.percent) if row else 0,
                "review": (row.review_status.value if row else "missing"),
            }
        )
    return rows


def _area_rows(library: ContentLibrary) -> list[dict[str, str]]:
    areas = library.areas.areas
    return [
        {"code": a.code, "name": a.name, "parent": areas[a.parent].name if a.parent else ""}
        for a in areas.values()
    ]


def compose_context(
    request: Request,
    library: ContentLibrary,
    scenario: ScenarioSpec,
    raw: dict[str, Any],
    problems: list[NoticeProblem],
    *,
    record: NoticeRecord | None,
    grow: dict[str, int] | None = None,
) -> dict[str, Any]:
    """Everything compose.html needs to show the form for `raw` with its problems."""
    language = staff_language(request)
    values = form_values(raw, scenario, library.timezone)
    words = Words(language)
    summary = []
    for problem in problems:
        label = problem_label(problem.location, scenario, language)
        envelope_part = problem.location.split(".")[0] != "fields"
        summary.append(
            {
                "slot": slot_of(problem.location),
                "label": words.gettext(label) if label and envelope_part else label,
                "message": problem.message,
            }
        )
    return {
        "summary": summary,
        "scenario": scenario,
        "scenario_title": in_language(scenario.title, language, scenario.id),
        "values": values,
        "problems": problems,
        "by_slot": problems_by_slot(problems),
        "areas": _area_rows(library),
        "audiences": [
            {
                "id": a.id,
                "name": in_language(a.name, language, a.id),
                "description": in_language(a.description, language),
            }
            for a in library.audiences.values()
        ],
        "languages_available": _language_rows(library, scenario),
        "channels": ["sms", "email", "print", "web"],
        "record": record,
        "grow": grow or {},
        "extra_rows": EXTRA_LIST_ROWS,
        "saved": request.query_params.get("saved") == "1",
    }


def _example_payload(scenario: ScenarioSpec, library: ContentLibrary) -> dict[str, Any]:
    """A new notice's starting point: Swedish, every channel, the usual audiences."""
    return {
        "scenario": scenario.id,
        "mode": "actual",
        "languages": ["sv"],
        "channels": ["sms", "email", "print", "web"],
        "audiences": [a for a in ("general-public", "easy-read") if a in library.audiences],
        "contact": {},
        "fields": {},
    }


@router.get(
    "/notices/new", response_class=HTMLResponse, include_in_schema=False, operation_id="compose"
)
def compose_page(request: Request, principal: Writer, library: LibraryDep) -> HTMLResponse:
    """Choose a scenario; with `?scenario=`, the empty form for it."""
    language = staff_language(request)
    scenario = library.scenarios.get(request.query_params.get("scenario", ""))
    if scenario is None:
        choices = [
            {
                "id": s.id,
                "title": in_language(s.title, language, s.id),
                "description": in_language(s.description, language),
            }
            for s in library.scenarios.values()
        ]
        return render_staff(request, principal, "compose_choose.html", scenarios=choices)
    raw = _example_payload(scenario, library)
    context = compose_context(request, library, scenario, raw, [], record=None)
    return render_staff(request, principal, "compose.html", **context)


def _after_save(record: NoticeRecord, form: MultiForm, problems: list[NoticeProblem]) -> Response:
    action = next((v for k, v in form if k == "action"), "save")
    if action.startswith("grow:"):
        name = action.removeprefix("grow:")[:64]
        items = (record.payload.get("fields") or {}).get(name)
        filled = len(items) if isinstance(items, list) else 0
        rows = min(MAX_GROW, filled + EXTRA_LIST_ROWS + 1)
        anchor = f"f-{name}" if filled == 0 else f"f-{name}-{filled}"
        return RedirectResponse(
            f"/notices/{record.code}/edit?grow={name}:{rows}#{anchor}", status_code=303
        )
    if action == "update":  # languages changed without JavaScript: show their note boxes
        return RedirectResponse(f"/notices/{record.code}/edit#notes", status_code=303)
    if action == "preview" and not problems:
        return RedirectResponse(f"/notices/{record.code}/preview", status_code=303)
    return RedirectResponse(f"/notices/{record.code}/edit?saved=1", status_code=303)


@router.post(
    "/notices/new", include_in_schema=False, operation_id="compose_save_new", status_code=303
)
def save_new(
    request: Request,
    principal: Writer,
    session: SessionDep,
    library: LibraryDep,
    form: FormData,
) -> Response:
    """Save a new draft (complete or not), then show it (POST-redirect-GET)."""
    scenario = library.scenarios.get(next((v for k, v in form if k == "scenario"), ""))
    if scenario is None:
        return RedirectResponse("/notices/new", status_code=303)
    raw = payload_from_form(form, scenario, library.timezone, library.languages)
    try:
        record = create_draft(session, raw, library, actor_of(principal), complete=False)
    except WorkflowError as exc:
        raise HTTPException(exc.status, exc.message) from None
    problems = problems_of(session, record, library)
    session.commit()  # before the redirect: the next request must find the draft
    return _after_save(record, form, problems)


def _editable(session: Session, code: str) -> NoticeRecord:
    record = notice_or_404(session, code)
    if record.status not in EDITABLE:
        raise HTTPException(409, f"{record.code} is {record.status} and can no longer be edited")
    return record


@router.get(
    "/notices/{code}/edit",
    response_class=HTMLResponse,
    include_in_schema=False,
    operation_id="compose_edit",
)
def edit_page(
    code: str, request: Request, principal: Writer, session: SessionDep, library: LibraryDep
) -> Response:
    """The form of a saved draft, with everything still wrong shown (after a save)."""
    record = notice_or_404(session, code)
    if record.status not in EDITABLE:
        return RedirectResponse(f"/notices/{record.code}", status_code=303)
    scenario = library.scenarios.get(record.scenario)
    if scenario is None:
        raise HTTPException(409, f"{record.code} has an unknown scenario {record.scenario!r}")
    shown = "saved" in request.query_params
    problems = problems_of(session, record, library) if shown else []
    grow: dict[str, int] = {}
    name, _, rows = request.query_params.get("grow", "").partition(":")
    if name and rows.isdigit():
        grow[name] = min(MAX_GROW, int(rows))
    context = compose_context(
        request, library, scenario, record.payload, problems, record=record, grow=grow
    )
    return render_staff(request, principal, "compose.html", **context)


@router.post(
    "/notices/{code}/edit", include_in_schema=False, operation_id="compose_save", status_code=303
)
def save_edit(
    code: str,
    principal: Writer,
    session: SessionDep,
    library: LibraryDep,
    form: FormData,
) -> Response:
    """Save changes to a draft; an approved or scheduled notice goes back to draft."""
    record = _editable(session, code)
    scenario = library.scenarios[record.scenario]
    raw = payload_from_form(form, scenario, library.timezone, library.languages)
    try:
        update_draft(session, record, raw, library, actor_of(principal), complete=False)
    except WorkflowError as exc:
        raise HTTPException(exc.status, exc.message) from None
    problems = problems_of(session, record, library)
    session.commit()  # before the redirect: the next request must find the draft
    return _after_save(record, form, problems)
