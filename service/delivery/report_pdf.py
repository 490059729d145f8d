"""The delivery report as a tagged PDF, for the crisis team's follow-up (it holds contact data)."""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy.orm import Session
from weasyprint import HTML

from service.channels.print.pdf import OfflineResources, write_tagged_pdf
from service.clock import utcnow
from service.delivery.tracking import STATUSES, not_reached, progress
from service.notices.models import NoticeRecord

_TEMPLATES = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(["html"]),
)


def report_pdf(session: Session, notice: NoticeRecord, *, timezone: str) -> bytes:
    """Progress by channel, language and audience, and the people not reached, as PDF/UA."""
    counts = progress(session, notice.id)
    html = _TEMPLATES.get_template("report.html").render(
        code=notice.code,
        scenario=notice.scenario,
        generated=utcnow().astimezone(ZoneInfo(timezone)).strftime("%Y-%m-%d %H.%M"),
        progress=counts,
        statuses=list(STATUSES),
        sections=[
            ("kanal", counts.by_channel),
            ("språk", counts.by_language),
            ("målgrupp", counts.by_audience),
        ],
        people=not_reached(session, notice.id),
    )
    document = HTML(string=html, url_fetcher=OfflineResources()).render()
    document.metadata.title = f"Leveransrapport {notice.code}"
    document.metadata.lang = "sv-SE"
    return write_tagged_pdf(document)
