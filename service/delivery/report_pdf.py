"""The delivery report as a tagged PDF, for the crisis team's follow-up (it holds contact data).

The words are Swedish and live in templates/report.html; this module gathers the figures. The
report says exactly what is known: a message handed to a provider is `sent`, and only a
provider's callback makes it `delivered`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from sqlalchemy.orm import Session
from weasyprint import HTML

from service.channels.models import SentMessage
from service.channels.print.pdf import OfflineResources, write_tagged_pdf
from service.channels.status import DELIVERY_RECEIPTS
from service.clock import utcnow
from service.content import ContentLibrary, get_library
from service.delivery.models import Delivery
from service.delivery.tracking import STATUSES, not_reached, progress
from service.notices.models import NoticeRecord
from service.rendering.languages import language_name

_TEMPLATES = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(["html"]),
    undefined=StrictUndefined,  # a status without Swedish words fails instead of going blank
)


@dataclass(frozen=True)
class HandedOver:
    """How many of a channel's messages one transport took, and whether it confirms delivery."""

    channel: str
    transport: str
    messages: int
    receipts: bool


def handed_over(session: Session, notice_id: int) -> list[HandedOver]:
    """Messages of the notice each transport took, by channel (from the SentMessage rows)."""
    rows = session.execute(
        sa.select(Delivery.channel, SentMessage.transport, sa.func.count())
        .join(SentMessage, SentMessage.provider_id == Delivery.provider_id)
        .where(Delivery.notice_id == notice_id)
        .group_by(Delivery.channel, SentMessage.transport)
        .order_by(Delivery.channel, SentMessage.transport)
    )
    return [HandedOver(c, t, n, t in DELIVERY_RECEIPTS) for c, t, n in rows]


def _language_name(tag: str) -> str:
    name = language_name(tag, "sv")
    return f"{name} ({tag})" if name else tag


def _scenario_name(library: ContentLibrary, scenario_id: str) -> str:
    spec = library.scenarios.get(scenario_id)
    title = spec.title.get("sv") if spec is not None else None
    return f"{title} ({scenario_id})" if title else scenario_id


def report_pdf(
    session: Session,
    notice: NoticeRecord,
    *,
    timezone: str,
    library: ContentLibrary | None = None,
) -> bytes:
    """Progress by channel, language and audience, and the people not reached, as PDF/UA."""
    library = library or get_library()
    counts = progress(session, notice.id)
    audiences = {
        key: profile.name.get("sv", key)
        for key in counts.by_audience
        if (profile := library.audiences.get(key)) is not None
    }
    html = _TEMPLATES.get_template("report.html").render(
        code=notice.code,
        # The scenario as people know it ("Vattenavbrott"), its id after it for whoever searches.
        scenario=_scenario_name(library, notice.scenario),
        generated=utcnow().astimezone(ZoneInfo(timezone)).strftime("%Y-%m-%d %H.%M"),
        progress=counts,
        statuses=list(STATUSES),
        handed=handed_over(session, notice.id),
        languages={tag: _language_name(tag) for tag in counts.by_language},
        audiences=audiences,
        people=not_reached(session, notice.id),
    )
    document = HTML(string=html, url_fetcher=OfflineResources()).render()
    document.metadata.title = f"Leveransrapport {notice.code}"
    document.metadata.lang = "sv-SE"
    return write_tagged_pdf(document)
