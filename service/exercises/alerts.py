"""The start page's warning when the latest scheduled test missed a canary or did not go out."""

from __future__ import annotations

import logging
from pathlib import Path

from markupsafe import escape
from sqlalchemy.exc import SQLAlchemyError

from service.config import Settings
from service.content import ContentLibrary

logger = logging.getLogger(__name__)


def start_page_alerts(settings: Settings, library: ContentLibrary) -> str:
    """A `role="alert"` section for the start page, or "" when the latest test was fine."""
    from service.exercises.reports import latest_test_alerts, latest_test_firing
    from service.store.database import session_scope

    url = settings.effective_database_url
    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).exists():
        return ""  # no database yet: no tests either (and the page must not create one)
    try:
        with session_scope() as session:
            alerts = latest_test_alerts(session, library, settings)
            firing = latest_test_firing(session) if alerts else None
    except SQLAlchemyError:  # a database not migrated yet has had no tests either
        logger.debug("no test alerts: the database cannot be read", exc_info=True)
        return ""
    if not alerts:
        return ""
    # The reasons are the service's own (English) words, marked as such for screen readers.
    items = "".join(
        f'<li>{escape(alert)}: <span lang="en">{escape(why)}</span></li>' for alert, why in alerts
    )
    # The report page is for staff: a visitor who follows the link is asked to sign in.
    report = (
        f'<p><a href="/exercises/reports/firings/{firing.id}">Se rapporten</a> (för personal).</p>'
        if firing is not None
        else ""
    )
    return (
        '<section role="alert" class="alert">'
        "<h2>Senaste provsändningen nådde inte fram</h2>"
        f"<ul>{items}</ul>{report}</section>"
    )
