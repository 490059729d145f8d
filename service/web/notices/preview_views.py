"""The preview grid: every audience x language x channel of a saved notice, checked and planned.

The page is a thin view of `workflow.approval.review` (render, check, plan for now), the very
function approval fingerprints, so what is previewed is what would be approved. One audience
and language is shown in full at a time; the grid links to each. `POST .../check` answers the
compose page's script with the same summary for the unsaved form (re-check as you type).
"""

from __future__ import annotations

import subprocess
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

from babel.numbers import format_decimal
from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, Response
from markupsafe import Markup, escape

from service.api.deps import LibraryDep, SessionDep
from service.channels.print.pdf import render_pdf
from service.clock import utcnow
from service.config import get_settings
from service.notices.links import notice_url, variant_url
from service.notices.service import NoticeInvalid
from service.rendering.service import render_variant
from service.variants.checks import VariantCheck
from service.variants.plan import plan_variants
from service.web.layout import render_staff, staff_language
from service.web.notices.deps import FormData, Reader, Writer, notice_or_404
from service.web.notices.display import BABEL_LOCALES, in_language
from service.web.notices.form import payload_from_form
from service.workflow.approval import Review, review
from service.workflow.drafts import check, problems_of

router = APIRouter(tags=["pages"])
FILE_TYPES = {"html": "text/html; charset=utf-8", "pdf": "application/pdf", "png": "image/png"}
# A rendered e-mail or page is shown as it will look: its own inline styles, nothing else.
FILE_POLICY = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; sandbox"


def highlighted(text: str, findings: list[Any]) -> Markup:
    """The text with every finding that has a place marked (<mark>), escaped."""
    spans = sorted(
        {(f.start, f.end) for f in findings if f.start is not None and f.end is not None}
    )
    out, at = [], 0
    for start, end in spans:
        if start < at:
            continue  # overlapping findings: the first one marks the place
        out += [escape(text[at:start]), Markup('<mark class="finding">'), escape(text[start:end])]
        out.append(Markup("</mark>"))
        at = end
    out.append(escape(text[at:]))
    return Markup("").join(out)


# What to do about a failed check (msgids of the webapp domain; %(language)s is filled in).
ADVICE = {
    "sms": "Shorten the note or the texts so the SMS fits, or leave SMS out for this audience.",
    "own_text": "Add a %(language)s translation of your text, or leave %(language)s out.",
    "catalog": "The %(language)s translation is incomplete: ask a translator, or leave "
    "%(language)s out.",
    "long": "Shorten the marked sentences and use everyday words; a note often adds the long ones.",
    "words": "Rewrite the marked text in plainer words.",
}


def advice(check: VariantCheck, language_name: str) -> list[str]:
    """What to do about each failed check, as msgids with `language` to fill in."""
    said: list[str] = []
    for finding in check.findings:
        if finding.severity != "error":
            continue
        kind = finding.details.get("kind", "")
        if finding.check == "sms":
            tip = ADVICE["sms"]
        elif finding.check == "translation" and "communicator" in finding.message:
            tip = ADVICE["own_text"]
        elif finding.check == "translation":
            tip = ADVICE["catalog"]
        elif kind in ("long_sentence", "limit_exceeded"):
            tip = ADVICE["long"]
        else:
            tip = ADVICE["words"]
        if tip not in said:
            said.append(tip)
    del language_name
    return said


def _grid(seen: Review, language: str, library: Any) -> list[dict[str, Any]]:
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    for item in seen.report.checks:
        key = item.variant.key
        row = rows.setdefault(
            (item.audience.id, key.language),
            {
                "audience": item.audience.id,
                "audience_name": in_language(item.audience.name, language, item.audience.id),
                "language": key.language,
                "language_name": library.languages[key.language].name,
                "dir": library.languages[key.language].direction,
                "cells": {},
                "failed": 0,
            },
        )
        row["cells"][key.channel.value] = item.passed
        row["failed"] += 0 if item.passed else 1
    return list(rows.values())


def _details(seen: Review, audience: str, language: str, code: str) -> list[dict[str, Any]]:
    shown = []
    for item in seen.report.checks:
        key = item.variant.key
        if item.audience.id != audience or key.language != language:
            continue
        base = f"/notices/{code}/preview/{key.language}/{key.name}"
        shown.append(
            {
                "check": item,
                "key": key,
                "channel": key.channel.value,
                "text": highlighted(item.variant.text, item.readability.findings),
                "metrics": item.readability.metrics,
                "limits": item.readability.limits,
                "html_href": f"{base}.html" if item.variant.html else "",
                "pdf_href": f"{base}.pdf" if key.channel.value == "print" else "",
                "png_href": f"{base}.png" if key.channel.value == "print" else "",
                "public_href": variant_url(f"/n/{code}", key) if key.channel.value == "web" else "",
            }
        )
    return shown


def _plan(seen: Review, language: str) -> dict[str, Any]:
    plan = seen.plan
    cost = format_decimal(plan.cost_sek, format="#,##0.00", locale=BABEL_LOCALES[language])
    return {
        "cost": cost,  # 4,50 on a Swedish page, as the approval page writes it
        "recipients": plan.recipients,
        "messages": plan.messages,
        "by_channel": dict(plan.by_channel),
        "by_language": dict(plan.by_language),
        "by_audience": dict(plan.by_audience),
        "unreachable": len(plan.unreachable),
        "reasons": dict(Counter(u.reason for u in plan.unreachable)),
        "sms_segments": plan.sms_segments,
        "cost_sek": round(plan.cost_sek, 2),
    }


@router.get(
    "/notices/{code}/preview",
    response_class=HTMLResponse,
    include_in_schema=False,
    operation_id="preview_page",
)
def preview_page(
    code: str, request: Request, principal: Reader, session: SessionDep, library: LibraryDep
) -> HTMLResponse:
    """Every version of the notice with its checks, and whom it would reach."""
    record = notice_or_404(session, code)
    language = staff_language(request)
    problems = problems_of(session, record, library)
    context: dict[str, Any] = {"record": record, "problems": problems}
    if not problems:
        seen = review(session, record, library, get_settings(), utcnow())
        grid = _grid(seen, language, library)
        failing = next((r for r in grid if r["failed"]), grid[0] if grid else None)
        audience = request.query_params.get("audience") or (failing or {}).get("audience", "")
        shown_language = request.query_params.get("language") or (failing or {}).get("language", "")
        details = _details(seen, audience, shown_language, record.code)
        language_name = (
            library.languages[shown_language].english_name
            if shown_language in library.languages
            else shown_language
        )
        context |= {
            "seen": seen,
            "grid": grid,
            "channels": ["sms", "email", "print", "web"],
            "details": details,
            "selected": {"audience": audience, "language": shown_language},
            "selected_names": next(
                (r for r in grid if r["audience"] == audience and r["language"] == shown_language),
                None,
            ),
            "advice_for": lambda item: advice(item, language_name),
            "language_name": language_name,
            "plan": _plan(seen, language),
            "audience_names": {
                a.id: in_language(a.name, language, a.id) for a in library.audiences.values()
            },
            "failed": seen.impact.failed_checks,
            "warnings": seen.impact.warnings,
            "public_url": notice_url(get_settings(), record.code),
        }
    return render_staff(request, principal, "preview.html", **context)


@router.get(
    "/notices/{code}/preview/{language}/{name}",
    include_in_schema=False,
    operation_id="preview_file",
)
def preview_file(
    code: str, language: str, name: str, principal: Reader, session: SessionDep, library: LibraryDep
) -> Response:
    """One rendered version as its file: the e-mail or page (HTML), the print PDF, or its image."""
    del principal
    record = notice_or_404(session, code)
    stem, _, suffix = name.rpartition(".")
    if suffix not in FILE_TYPES:
        raise HTTPException(404, "no such file")
    try:
        notice = check(session, record.payload, library)
    except NoticeInvalid:
        raise HTTPException(409, "the notice has problems; fix them first") from None
    keys = {row.key for row in plan_variants(notice, library)}
    key = next((k for k in keys if k.language == language and k.name == stem), None)
    if key is None or (suffix != "html" and key.channel.value != "print"):
        raise HTTPException(404, "the notice has no such version")
    url = variant_url(notice_url(get_settings(), record.code), key)
    variant = render_variant(notice, key, library, public_url=url)
    if suffix == "html":
        return Response(
            variant.html or "",
            media_type=FILE_TYPES["html"],
            headers={"Content-Security-Policy": FILE_POLICY, "Cache-Control": "no-store"},
        )
    pdf = render_pdf(variant, title=variant.subject, language=library.languages[key.language])
    if suffix == "pdf":
        filename = f"{record.code}-{key.language}-{key.name}.pdf"
        return Response(
            pdf,
            media_type=FILE_TYPES["pdf"],
            headers={"Content-Disposition": f'inline; filename="{filename}"'},
        )
    return Response(_first_page_png(pdf), media_type=FILE_TYPES["png"])


def _first_page_png(pdf: bytes) -> bytes:
    """The PDF's first page as a PNG (poppler's pdftoppm, 50 dpi: a preview, not a print)."""
    with tempfile.TemporaryDirectory() as folder:
        source = Path(folder) / "page.pdf"
        source.write_bytes(pdf)
        subprocess.run(
            ["pdftoppm", "-png", "-r", "50", "-f", "1", "-l", "1", "-singlefile", str(source),
             str(Path(folder) / "page")],
            check=True,
            timeout=30,
            capture_output=True,
        )  # fmt: skip
        return (Path(folder) / "page.png").read_bytes()


@router.post(
    "/notices/{code}/check",
    response_class=HTMLResponse,
    include_in_schema=False,
    operation_id="compose_check",
)
def check_form(
    code: str,
    request: Request,
    principal: Writer,
    session: SessionDep,
    library: LibraryDep,
    form: FormData,
) -> HTMLResponse:
    """The checks of the form as it is now (not saved): a fragment for the compose page."""
    record = notice_or_404(session, code)
    scenario = library.scenarios.get(record.scenario)
    if scenario is None:
        raise HTTPException(409, "unknown scenario")
    raw = payload_from_form(form, scenario, library.timezone, library.languages)
    context: dict[str, Any] = {"record": record, "problems": [], "failed": 0, "checks": 0}
    try:
        check(session, raw, library)
    except NoticeInvalid as exc:
        context["problems"] = exc.problems
    else:
        draft = type(record)(code=record.code, payload=raw, scenario=record.scenario)
        seen = review(session, draft, library, get_settings(), utcnow())
        context |= {
            "failed": seen.impact.failed_checks,
            "checks": len(seen.report.checks),
            "recipients": seen.plan.recipients,
        }
    return render_staff(request, principal, "check_fragment.html", **context)
