"""Small server-side SVG charts for the reports: no JavaScript, readable in a PDF.

Each chart has a title and a description (role="img"), and the report shows the same figures
in a table beside it, so nothing is said by the picture alone. Colours meet 3:1 contrast against
white; values are also printed as text on the bars.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import count

from markupsafe import Markup, escape

BAR = "#1f5fa8"
BAR_WARN = "#a8321f"
AXIS = "#333333"
WIDTH = 640
ROW = 28
LABEL_WIDTH = 170
_ids = count(1)


def _frame(title: str, desc: str, height: int, body: list[str]) -> Markup:
    number = next(_ids)
    return Markup(
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{WIDTH}" height="{height}" '
        f'viewBox="0 0 {WIDTH} {height}" aria-labelledby="chart{number}t chart{number}d" '
        'font-family="Noto Sans, DejaVu Sans, sans-serif" font-size="13">'
        f'<title id="chart{number}t">{escape(title)}</title>'
        f'<desc id="chart{number}d">{escape(desc)}</desc>' + "".join(body) + "</svg>"
    )


def rate_bars(title: str, rows: Sequence[tuple[str, float, str]]) -> Markup:
    """Horizontal bars of shares (0-1): label, share, and the text printed after the bar."""
    span = WIDTH - LABEL_WIDTH - 90
    body = []
    for index, (label, share, text) in enumerate(rows):
        y = 10 + index * ROW
        length = max(0.0, min(1.0, share)) * span
        colour = BAR if share >= 0.95 else BAR_WARN
        body += [
            f'<text x="{LABEL_WIDTH - 8}" y="{y + 15}" text-anchor="end" fill="{AXIS}">'
            f"{escape(label)}</text>",
            f'<rect x="{LABEL_WIDTH}" y="{y + 3}" width="{length:.1f}" height="{ROW - 10}" '
            f'fill="{colour}"/>',
            f'<text x="{LABEL_WIDTH + length + 6:.1f}" y="{y + 15}" fill="{AXIS}">'
            f"{escape(text)}</text>",
        ]
    body.append(
        f'<line x1="{LABEL_WIDTH}" y1="6" x2="{LABEL_WIDTH}" y2="{14 + len(rows) * ROW}" '
        f'stroke="{AXIS}"/>'
    )
    desc = "; ".join(f"{label}: {text}" for label, _share, text in rows) or "no data"
    return _frame(title, desc, 20 + max(1, len(rows)) * ROW, body)


def _clock(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def span_bars(title: str, rows: Sequence[tuple[str, float, float]]) -> Markup:
    """Delivery windows: label, first and last seconds after publishing, on one time axis."""
    end = max((last for _label, _first, last in rows), default=0.0) or 1.0
    span = WIDTH - LABEL_WIDTH - 30
    body = []
    for index, (label, first, last) in enumerate(rows):
        y = 10 + index * ROW
        x = LABEL_WIDTH + first / end * span
        length = max(2.0, (last - first) / end * span)
        body += [
            f'<text x="{LABEL_WIDTH - 8}" y="{y + 15}" text-anchor="end" fill="{AXIS}">'
            f"{escape(label)}</text>",
            f'<rect x="{x:.1f}" y="{y + 3}" width="{length:.1f}" height="{ROW - 10}" '
            f'fill="{BAR}"/>',
        ]
    axis_y = 14 + len(rows) * ROW
    body += [
        f'<line x1="{LABEL_WIDTH}" y1="{axis_y}" x2="{LABEL_WIDTH + span}" y2="{axis_y}" '
        f'stroke="{AXIS}"/>',
        f'<text x="{LABEL_WIDTH}" y="{axis_y + 16}" fill="{AXIS}">0</text>',
        f'<text x="{LABEL_WIDTH + span}" y="{axis_y + 16}" text-anchor="end" fill="{AXIS}">'
        f"{escape(_clock(end))}</text>",
    ]
    desc = "; ".join(
        f"{label}: first after {_clock(first)}, last after {_clock(last)}"
        for label, first, last in rows
    )
    return _frame(title, desc or "no deliveries", axis_y + 24, body)


def column_chart(title: str, rows: Sequence[tuple[str, float, str]]) -> Markup:
    """Vertical columns of shares (0-1) over time: label (a quarter), share, value text."""
    height, top, bottom = 220, 20, 40
    plot = height - top - bottom
    width = (WIDTH - 60) / max(1, len(rows))
    body = [
        f'<line x1="40" y1="{top + plot}" x2="{WIDTH - 10}" y2="{top + plot}" stroke="{AXIS}"/>',
        f'<text x="34" y="{top + 5}" text-anchor="end" fill="{AXIS}">100 %</text>',
        f'<text x="34" y="{top + plot}" text-anchor="end" fill="{AXIS}">0</text>',
    ]
    for index, (label, share, text) in enumerate(rows):
        column = max(0.0, min(1.0, share)) * plot
        x = 46 + index * width
        body += [
            f'<rect x="{x:.1f}" y="{top + plot - column:.1f}" width="{width * 0.6:.1f}" '
            f'height="{column:.1f}" fill="{BAR if share >= 0.95 else BAR_WARN}"/>',
            f'<text x="{x + width * 0.3:.1f}" y="{top + plot - column - 4:.1f}" '
            f'text-anchor="middle" fill="{AXIS}">{escape(text)}</text>',
            f'<text x="{x + width * 0.3:.1f}" y="{top + plot + 18}" text-anchor="middle" '
            f'fill="{AXIS}">{escape(label)}</text>',
        ]
    desc = "; ".join(f"{label}: {text}" for label, _share, text in rows) or "no tests yet"
    return _frame(title, desc, height, body)
