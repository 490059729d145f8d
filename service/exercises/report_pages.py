"""Report pages of tests and exercises (HTML with SVG charts, CSV, tagged PDF); the calendar.

The calendar of upcoming tests is a download for people signed in, and a signed address per
person that calendar apps subscribe to.
"""

from __future__ import annotations

import re

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, Response
from markupsafe import Markup
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from service.accounts.admin_render import render_admin
from service.accounts.page_permissions import PageReportsRead
from service.accounts.permissions import Public
from service.api.deps import LibraryDep, SessionDep
from service.config import get_settings
from service.content import ContentLibrary
from service.exercises import report_render as render
from service.exercises.calendar import calendar_ics
from service.exercises.calendar_link import calendar_reader
from service.exercises.models import ExerciseRunRecord, FiringRecord
from service.exercises.reports import broadcast_report, exercise_report, quarterly_trend
from service.notices.publish import find_by_code

router = APIRouter(prefix="/exercises", include_in_schema=False)
_MAIN = re.compile(r"<main>(.*)</main>", re.DOTALL)
_TITLE = re.compile(r"<h1>.*?</h1>", re.DOTALL)
ICS = "text/calendar; charset=utf-8"


def _number(report_id: str) -> int:
    if not report_id.isdigit() or len(report_id) > 10:
        raise HTTPException(404, f"{report_id[:20]!r} is not a report id")
    return int(report_id)


def _built(
    session: Session, library: ContentLibrary, kind: str, report_id: str
) -> tuple[str, str, bytes]:
    """(title, HTML page, CSV) of a firing's, a notice's or a run's report; 404 when none."""
    settings = get_settings()
    if kind == "notices":
        notice = find_by_code(session, report_id[:20])
        if notice is None:
            raise HTTPException(404, f"no notice has the code {report_id[:20]!r}")
        report = broadcast_report(session, library, settings, notice=notice)
        trend = quarterly_trend(session, settings.timezone, mode=report.mode)
        return (
            render.broadcast_title(report),
            render.broadcast_html(report, trend, settings),
            render.broadcast_csv(report, settings),
        )
    if kind == "runs":
        run = session.get(ExerciseRunRecord, _number(report_id))
        if run is None:
            raise HTTPException(404, f"no exercise run has the id {report_id}")
        built = exercise_report(session, library, settings, run)
        return (
            render.exercise_title(built),
            render.exercise_html(built, settings),
            render.exercise_csv(built, settings),
        )
    if kind != "firings":
        raise HTTPException(404, "reports are of firings, notices or runs")
    firing = session.get(FiringRecord, _number(report_id))
    if firing is None:
        raise HTTPException(404, f"no firing has the id {report_id}")
    report = broadcast_report(session, library, settings, firing=firing)
    trend = quarterly_trend(session, settings.timezone, mode=report.mode)
    return (
        render.broadcast_title(report),
        render.broadcast_html(report, trend, settings),
        render.broadcast_csv(report, settings),
    )


def report_body(html: str) -> Markup:
    """The report page's content without its own title (the staff page has the heading)."""
    match = _MAIN.search(html)
    inner = match.group(1) if match else ""
    # The renderer escaped every value it put in; the page takes its markup as it is.
    return Markup(_TITLE.sub("", inner, count=1))


@router.get("/reports/{kind}/{report_id}", response_class=HTMLResponse)
def report_page(
    request: Request,
    kind: str,
    report_id: str,
    principal: PageReportsRead,
    session: SessionDep,
    library: LibraryDep,
) -> HTMLResponse:
    """A report as a page: timeline, delivery per channel with charts, canaries, trend."""
    title, html, _csv = _built(session, library, kind, report_id)
    return render_admin(
        request,
        "exercises/report.html",
        principal,
        current="/exercises/schedules",
        title=title,
        body=report_body(html),
        base=f"/exercises/reports/{kind}/{report_id}",
    )


def _download(data: bytes, media_type: str, name: str) -> Response:
    return Response(
        data,
        media_type=media_type,
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "no-store",
        },
    )


@router.get("/reports/{kind}/{report_id}/report.csv")
def report_csv(
    kind: str, report_id: str, _who: PageReportsRead, session: SessionDep, library: LibraryDep
) -> Response:
    """The report's figures as CSV for Excel (one row per channel)."""
    _title, _html, data = _built(session, library, kind, report_id)
    return _download(data, "text/csv; charset=utf-8", f"report-{kind}-{report_id}.csv")


@router.get("/reports/{kind}/{report_id}/report.pdf")
async def report_pdf(
    kind: str, report_id: str, _who: PageReportsRead, session: SessionDep, library: LibraryDep
) -> Response:
    """The report as a tagged PDF (PDF/UA-1) with its title and language."""
    title, html, _data = await run_in_threadpool(_built, session, library, kind, report_id)
    pdf = await run_in_threadpool(render.html_to_pdf, html, title=title)
    return _download(pdf, "application/pdf", f"report-{kind}-{report_id}.pdf")


def _calendar(session: Session) -> Response:
    data = calendar_ics(session, get_settings())
    return Response(data, media_type=ICS, headers={"Cache-Control": "no-store"})


@router.get("/calendar.ics")
def calendar_download(_who: PageReportsRead, session: SessionDep) -> Response:
    """Upcoming tests and injects for the next 12 months as an iCalendar file."""
    return _calendar(session)


@router.get("/calendar/{token}.ics")
def calendar_feed(token: str, _open: Public, session: SessionDep) -> Response:
    """The same calendar at a person's signed address, for calendar apps that subscribe.

    Open (a calendar app cannot sign in); the token is the credential, and it works only while
    its person is active and may read reports.
    """
    if calendar_reader(session, token) is None:
        raise HTTPException(404, "no calendar at this address (the link is wrong or closed)")
    return _calendar(session)
