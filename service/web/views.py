"""Server-rendered pages. For now the start page: what the deployment offers, in Swedish."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from fastapi.responses import HTMLResponse
from markupsafe import escape

from service.accounts.permissions import open_route
from service.api.deps import LibraryDep
from service.config import get_settings
from service.exercises.alerts import start_page_alerts
from service.rendering.messages import coverage
from service.web.headers import CSP, page_policy

# Open to anyone: the start page shows only what the deployment offers, nothing private.
router = APIRouter(tags=["pages"], dependencies=[Depends(open_route)])

# The page's Content-Security-Policy allows exactly this stylesheet, by its hash.
STYLE = """body{font-family:sans-serif;max-width:60rem;margin:auto;padding:1rem;line-height:1.5;
color:#111;background:#fff}table{border-collapse:collapse}th,td{border:1px solid #555;
padding:.25rem .5rem;text-align:left}.alert{border:3px solid #a8321f;padding:.5rem 1rem}"""
HEADERS = {CSP: page_policy(STYLE)}

PAGE = """<!DOCTYPE html>
<html lang="sv"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Klarvarsel</title>
<style>{style}</style></head>
<body><main>
<h1>Klarvarsel</h1>
{alerts}
<p>Ett krismeddelande, anpassat för alla målgrupper. Personal skriver, granskar, godkänner
och skickar meddelanden i webbappen: <a href="/notices">logga in här</a>. Andra system använder
API:t (<a href="/docs">API-dokumentation</a>).</p>
<h2>Scenarier</h2><ul>{scenarios}</ul>
<h2>Målgrupper</h2><ul>{audiences}</ul>
<h2>Språk och översättningar</h2>
<p>Utkast betyder att ingen översättare har granskat texten ännu.</p>
<table><caption>Täckning per språk (alla scenarier)</caption>
<thead><tr><th scope="col">Språk</th><th scope="col">Täckning</th>
<th scope="col">Granskning</th></tr></thead><tbody>{languages}</tbody></table>
</main></body></html>"""

REVIEW_SV = {"source": "källtext", "reviewed": "granskad", "draft": "utkast", "missing": "saknas"}


@router.get("/", response_class=HTMLResponse, operation_id="start_page", include_in_schema=False)
def start_page(library: LibraryDep) -> HTMLResponse:
    """The start page: scenarios, audiences and translation status."""
    settings = get_settings()
    rows = coverage(settings.templates_dir, settings.locales_dir, library.languages)
    languages = []
    for tag, language in library.languages.items():
        mine = [r for r in rows if r.language == tag]
        total = sum(r.total for r in mine)
        percent = 100 * sum(r.translated for r in mine) / total if total else 0
        review = REVIEW_SV[mine[0].review_status.value] if mine else "saknas"
        languages.append(
            f'<tr><td><span lang="{escape(language.cap_language)}" dir="{language.direction}">'
            f"{escape(language.name)}</span> ({escape(tag)})</td>"
            f"<td>{percent:.0f} %</td><td>{review}</td></tr>"
        )
    html = PAGE.format(
        style=STYLE,
        alerts=start_page_alerts(settings, library),
        scenarios="".join(
            f"<li>{escape(s.title.get('sv', s.id))} ({escape(s.id)})</li>"
            for s in library.scenarios.values()
        ),
        audiences="".join(
            f"<li>{escape(a.name.get('sv', a.id))}</li>" for a in library.audiences.values()
        ),
        languages="".join(languages),
    )
    return HTMLResponse(html, headers=HEADERS)
