"""Test and exercise reports as HTML (server-side SVG charts), CSV and tagged PDF.

Each function takes a built report (service.exercises.reports) and returns the document, so a
command writes it and a web route can serve it as it is.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from service.clock import utcnow
from service.config import Settings
from service.exercises import charts
from service.exercises.reports import BroadcastReport, ExerciseReport, QuarterTrend
from service.exercises.reports_data import ChannelStats, DeliveryFigures

STATUS_SV = {"sent": "skickad", "sending": "skickas", "missed": "missad", "failed": "ej skickad"}
# Delivery statuses as the report shows them.
DELIVERY_SV = {
    "planned": "väntar",
    "sending": "skickas",
    "sent": "skickad",
    "delivered": "levererad",
    "failed": "misslyckad",
    "cancelled": "stoppad",
}


class _Charts:
    """The charts the template draws, from report objects."""

    @staticmethod
    def rates(figures: DeliveryFigures) -> Markup:
        rows = [
            (name, s.rate, f"{100 * s.rate:.0f} % ({s.reached} av {s.total})")
            for name, s in sorted(figures.channels.items())
        ]
        return charts.rate_bars("Andel nådda per kanal", rows)

    @staticmethod
    def spans(report: BroadcastReport) -> Markup:
        published = next((e.at for e in report.timeline if e.kind == "published"), None)
        rows = []
        for name, s in sorted(report.figures.channels.items()):
            if published is not None and s.first_at is not None and s.last_at is not None:
                first = (s.first_at - published).total_seconds()
                rows.append(
                    (name, max(0.0, first), max(0.0, (s.last_at - published).total_seconds()))
                )
        return charts.span_bars("Första och sista leverans per kanal efter publicering", rows)

    @staticmethod
    def trend(trend: list[QuarterTrend]) -> Markup:
        rows = [(q.quarter, q.rate, f"{100 * q.rate:.0f} %") for q in trend]
        return charts.column_chart("Andel nådda per kvartal", rows)


def _environment(settings: Settings) -> Environment:
    env = Environment(
        loader=FileSystemLoader(Path(__file__).parent / "templates"),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    zone = ZoneInfo(settings.timezone)

    def local(moment: datetime) -> str:
        aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
        return aware.astimezone(zone).strftime("%Y-%m-%d %H.%M.%S")

    env.filters["local"] = local
    env.globals["charts"] = _Charts()
    env.globals["DELIVERY"] = DELIVERY_SV
    return env


def _generated(settings: Settings) -> str:
    return utcnow().astimezone(ZoneInfo(settings.timezone)).strftime("%Y-%m-%d %H.%M")


def broadcast_title(report: BroadcastReport) -> str:
    """The report's title, as on the page and in the PDF's metadata."""
    kind = "övning" if report.mode == "exercise" else "provsändning"
    return f"Rapport: {kind} {report.title}" + (f" ({report.code})" if report.code else "")


def broadcast_html(report: BroadcastReport, trend: list[QuarterTrend], settings: Settings) -> str:
    """One test broadcast as an HTML page with SVG charts and the figures in tables."""
    # (Swedish, the service's English reason): the template marks the reason lang="en".
    alerts = [(f"Testmottagaren {c} nåddes inte", why) for c, why in report.canary_alerts]
    if report.status in ("missed", "failed"):
        alerts.insert(0, (f"Provet blev {STATUS_SV[report.status]}", report.reason or ""))
    elif report.late:
        alerts.insert(0, (f"Provet skickades {report.late_seconds / 60:.0f} min sent.", ""))
    return (
        _environment(settings)
        .get_template("report.html")
        .render(
            title=broadcast_title(report),
            generated=_generated(settings),
            mode=report.mode,
            alerts=alerts,
            broadcast=report,
            trend=trend,
            exercise=None,
        )
        .lstrip()
    )


def exercise_title(report: ExerciseReport) -> str:
    """The exercise report's title."""
    return f"Rapport: övning {report.run.id} {report.run.script}"


def exercise_html(report: ExerciseReport, settings: Settings) -> str:
    """One exercise run as an HTML page: injects, delivery, canaries, readability."""
    alerts = []
    for inject, broadcast in report.injects:
        if broadcast is None:
            continue
        if broadcast.status in ("missed", "failed"):
            alerts.append(
                f"Inspelet {inject.inject_key} {STATUS_SV[broadcast.status]}: {broadcast.reason}"
            )
        alerts += [
            f"Inspelet {inject.inject_key} nådde inte testmottagaren {a}"
            for a in broadcast.canary_alerts
        ]
    return (
        _environment(settings)
        .get_template("report.html")
        .render(
            title=exercise_title(report),
            generated=_generated(settings),
            mode="exercise",
            alerts=alerts,
            broadcast=None,
            trend=[],
            exercise=report,
        )
        .lstrip()
    )


CSV_COLUMNS = (
    "schedule",
    "inject",
    "code",
    "fire_time",
    "status",
    "late_seconds",
    "channel",
    "total",
    "reached",
    "delivered",
    "failed",
    "pending",
    "reached_percent",
    "first_delivery",
    "last_delivery",
    "median_seconds",
    "p90_seconds",
    "max_seconds",
    "canaries",
    "canaries_reached",
    "reason",
)


def _cell(value: object, zone: ZoneInfo) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=UTC)
        return aware.astimezone(zone).isoformat(timespec="seconds")
    if isinstance(value, float):
        return f"{value:.1f}"
    text = str(value)
    # CSV injection: a cell starting like a formula is prefixed with an apostrophe (OWASP).
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _rows(report: BroadcastReport, inject: str) -> list[list[object]]:
    head: list[object] = [report.schedule, inject, report.code, report.fire_time, report.status]
    head.append(report.late_seconds)
    canaries = report.figures.canaries
    tail = [len(canaries), sum(c.reached for c in canaries), report.reason]
    channels = sorted(report.figures.channels.items()) or [("", ChannelStats(""))]
    rows = []
    for name, s in channels:
        rows.append(
            [
                *head,
                name,
                s.total,
                s.reached,
                s.delivered,
                s.failed,
                s.pending,
                100 * s.rate if s.total else None,
                s.first_at,
                s.last_at,
                s.median,
                s.percentile(0.9),
                s.slowest,
                *tail,
            ]
        )
    return rows


def _csv(rows: list[list[object]], settings: Settings) -> bytes:
    zone = ZoneInfo(settings.timezone)
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for row in rows:
        writer.writerow([_cell(v, zone) for v in row])
    return "\ufeff".encode() + out.getvalue().encode("utf-8")


def broadcast_csv(report: BroadcastReport, settings: Settings) -> bytes:
    """One row per channel, for Swedish Excel (UTF-8 with BOM, `;`)."""
    return _csv(_rows(report, ""), settings)


def exercise_csv(report: ExerciseReport, settings: Settings) -> bytes:
    """One row per inject and channel (an inject not yet handled: one row with its status)."""
    rows: list[list[object]] = []
    for inject, broadcast in report.injects:
        if broadcast is None:
            rows.append([inject.name, inject.inject_key, None, inject.run_at, inject.status])
            continue
        rows += _rows(broadcast, inject.inject_key or "")
    return _csv(rows, settings)


def html_to_pdf(html: str, *, title: str) -> bytes:
    """A report page as a tagged PDF (PDF/UA-1) with its title and language."""
    from weasyprint import HTML  # loaded only when a PDF is asked for

    from service.channels.print.pdf import OfflineResources, write_tagged_pdf

    document = HTML(string=html, url_fetcher=OfflineResources()).render()
    document.metadata.title = title
    document.metadata.lang = "sv-SE"
    return write_tagged_pdf(document)
