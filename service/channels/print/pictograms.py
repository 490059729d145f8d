"""Scenario pictograms (message_templates/_pictograms/<scenario>.svg), black on white.

Each file is a small template: its only variable is `title`, the scenario's translated title,
which becomes the SVG's <title> (its text alternative, also the PDF figure's /Alt). The print
layout includes the file directly; this module gives the same SVG to Python callers (the web
page, an e-mail, the tests) through the content library's environment, which caches templates.
"""

from __future__ import annotations

import base64
from functools import lru_cache
from pathlib import Path

from markupsafe import Markup

from service.content import ContentLibrary
from service.rendering.environment import make_environment

PICTOGRAM_FOLDER = "_pictograms"


def pictogram_template(scenario: str) -> str:
    """Template name of a scenario's pictogram, as the print layout includes it."""
    return f"{PICTOGRAM_FOLDER}/{scenario}.svg"


def missing_pictograms(library: ContentLibrary) -> list[str]:
    """Scenarios without a pictogram file (the print layout would fail for them)."""
    folder = library.root / "message_templates" / PICTOGRAM_FOLDER
    return sorted(s for s in library.scenarios if not (folder / f"{s}.svg").is_file())


@lru_cache(maxsize=512)
def _render(templates_dir: Path, scenario: str, title: str) -> str:
    # The same cached environment the library renders with (make_environment is memoised).
    template = make_environment(templates_dir).get_template(pictogram_template(scenario))
    return template.render(title=title).strip()


def pictogram_svg(library: ContentLibrary, scenario: str, title: str) -> Markup:
    """Inline SVG for `scenario` whose text alternative is `title` (escaped)."""
    return Markup(_render(library.root / "message_templates", scenario, title))


def pictogram_data_uri(library: ContentLibrary, scenario: str, title: str) -> str:
    """The pictogram as a data: URI, for an <img> (give the <img> the same alt text)."""
    data = base64.b64encode(pictogram_svg(library, scenario, title).encode("utf-8"))
    return f"data:image/svg+xml;base64,{data.decode('ascii')}"
