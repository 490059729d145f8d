"""Deliveries over time as a small SVG drawn on the server (works without JavaScript).

The chart has a title and a description (role="img") and the page shows the same figures as
text beside it, so nothing is said by the picture alone.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from markupsafe import Markup, escape

WIDTH, HEIGHT = 600, 220
LEFT, RIGHT, TOP, BOTTOM = 50, 15, 15, 35
LINE = "#1d3f72"
AXIS = "#0b0c0c"


def deliveries_chart(
    title: str,
    points: Sequence[tuple[datetime, int]],
    total: int,
    label: Callable[[datetime], str],
    start: datetime | None = None,
) -> Markup:
    """Finished deliveries (cumulative, a step line) from `start`; `label` writes a time."""
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    body = [
        f'<line x1="{LEFT}" y1="{TOP + plot_h}" x2="{WIDTH - RIGHT}" y2="{TOP + plot_h}" '
        f'stroke="{AXIS}"/>',
        f'<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{TOP + plot_h}" stroke="{AXIS}"/>',
        f'<text x="{LEFT - 6}" y="{TOP + 5}" text-anchor="end" fill="{AXIS}">{total}</text>',
        f'<text x="{LEFT - 6}" y="{TOP + plot_h}" text-anchor="end" fill="{AXIS}">0</text>',
    ]
    desc = "no deliveries yet"
    if points and total:
        start = min(start or points[0][0], points[0][0])
        end = points[-1][0]
        span = max((end - start).total_seconds(), 1.0)
        coords: list[tuple[float, float]] = [(LEFT, TOP + plot_h)]
        done = 0
        for moment, count in points:
            x = LEFT + plot_w * (moment - start).total_seconds() / span
            coords.append((x, coords[-1][1]))
            done += count
            coords.append((x, TOP + plot_h - plot_h * min(done, total) / total))
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
        body += [
            f'<polyline points="{path}" fill="none" stroke="{LINE}" stroke-width="3"/>',
            f'<text x="{LEFT}" y="{HEIGHT - 10}" fill="{AXIS}">{escape(label(start))}</text>',
            f'<text x="{WIDTH - RIGHT}" y="{HEIGHT - 10}" text-anchor="end" fill="{AXIS}">'
            f"{escape(label(end))}</text>",
        ]
        desc = f"{done} of {total} finished between {label(start)} and {label(end)}"
    return Markup(
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" width="{WIDTH}" '
        f'height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" aria-labelledby="chart-t chart-d" '
        'font-family="sans-serif" font-size="13">'
        f'<title id="chart-t">{escape(title)}</title><desc id="chart-d">{escape(desc)}</desc>'
        + "".join(body)
        + "</svg>"
    )
