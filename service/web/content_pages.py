"""Audiences and scenarios, read-only, with their templates and translation coverage."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from service.accounts.admin_render import render_admin
from service.accounts.page_permissions import PageNoticesRead
from service.api.deps import LibraryDep
from service.config import get_settings
from service.rendering.messages import coverage

router = APIRouter(prefix="/admin", include_in_schema=False)


@router.get("/content", response_class=HTMLResponse)
def content_page(request: Request, principal: PageNoticesRead, library: LibraryDep) -> HTMLResponse:
    """Every scenario (templates, translation per language) and every audience profile."""
    settings = get_settings()
    rows = coverage(settings.templates_dir, settings.locales_dir, library.languages)
    languages = []
    for tag, language in library.languages.items():
        mine = [r for r in rows if r.language == tag]
        total = sum(r.total for r in mine)
        done = sum(r.translated for r in mine)
        languages.append(
            {
                "tag": tag,
                "language": language,
                "percent": 100 * done / total if total else 0.0,
                "fuzzy": sum(r.fuzzy for r in mine),
                "missing": sum(r.missing for r in mine),
                "review": mine[0].review_status.value if mine else "missing",
            }
        )
    scenarios = []
    for scenario in library.scenarios.values():
        folder = settings.templates_dir / scenario.id
        templates = sorted(p.name.removesuffix(".j2") for p in folder.glob("*.j2"))
        gaps = [
            (r.language, r.percent) for r in rows if r.scenario == scenario.id and r.percent < 100
        ]
        scenarios.append({"scenario": scenario, "templates": templates, "gaps": gaps})
    return render_admin(
        request,
        "web/content.html",
        principal,
        current="/admin/content",
        coverage_rows=languages,
        scenarios=scenarios,
        audiences=list(library.audiences.values()),
    )
