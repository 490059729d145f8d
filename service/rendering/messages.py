"""Message extraction from templates, catalog updates, and per-scenario translation coverage."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_file
from babel.messages.pofile import read_po, write_po

from service.rendering.catalogs import MessageStatus, load_catalog
from service.rendering.languages import Language, ReviewStatus

JINJA_OPTIONS = {"extensions": "jinja2.ext.i18n", "trimmed": "false"}


def template_msgids(path: Path) -> list[tuple[str, str | None]]:
    """(msgid, msgid_plural) pairs used by one template, in order of appearance."""
    found: list[tuple[str, str | None]] = []
    for _line, message, _comments, _context in extract_from_file(
        "jinja2.ext:babel_extract", str(path), options=JINJA_OPTIONS
    ):
        if isinstance(message, tuple):
            found.append((message[0], message[1] if len(message) > 1 else None))
        else:
            found.append((message, None))
    return found


@lru_cache
def scenario_msgids(templates_dir: Path) -> dict[str, frozenset[str]]:
    """For each scenario, every msgid its variants can use (its templates plus the layouts).

    Cached per process like the templates themselves: the start page and the languages API
    would otherwise re-extract every template on each request.
    """
    shared = {m for p in (templates_dir / "_layouts").glob("*.j2") for m, _ in template_msgids(p)}
    result: dict[str, frozenset[str]] = {}
    for folder in sorted(p for p in templates_dir.iterdir() if (p / "scenario.toml").exists()):
        own = {m for p in folder.glob("*.j2") for m, _ in template_msgids(p)}
        result[folder.name] = frozenset(own | shared)
    return result


def extract_catalog(templates_dir: Path) -> Catalog:
    """A template catalog (.pot) of every message in every template."""
    catalog = Catalog(project="Klarvarsel", charset="utf-8", fuzzy=False)
    for path in sorted(templates_dir.rglob("*.j2")):
        for msgid, plural in template_msgids(path):
            relative = str(path.relative_to(templates_dir))
            catalog.add((msgid, plural) if plural else msgid, locations=[(relative, 0)])
    return catalog


def update_catalogs(templates_dir: Path, locales_dir: Path, languages: list[str]) -> list[Path]:
    """Merge the extracted messages into each language's messages.po (changed ones go fuzzy)."""
    template = extract_catalog(templates_dir)
    with (locales_dir / "messages.pot").open("wb") as handle:
        write_po(handle, template, omit_header=False, no_location=True, sort_output=True)
    written = []
    for language in languages:
        path = locales_dir / language / "LC_MESSAGES" / "messages.po"
        if not path.exists():
            continue
        with path.open("rb") as handle:
            catalog = read_po(handle)
        catalog.update(template, no_fuzzy_matching=False)
        with path.open("wb") as handle:
            write_po(handle, catalog, no_location=True, sort_output=True, include_previous=True)
        written.append(path)
    load_catalog.cache_clear()
    scenario_msgids.cache_clear()
    return written


@dataclass(frozen=True)
class Coverage:
    """How much of one scenario's text one language has, and how far it is to be trusted."""

    language: str
    scenario: str
    total: int
    translated: int
    fuzzy: int
    missing: int
    review_status: ReviewStatus

    @property
    def percent(self) -> float:
        """Share of usable translations, 0..100."""
        return 100.0 * self.translated / self.total if self.total else 100.0


def coverage(
    templates_dir: Path, locales_dir: Path, languages: dict[str, Language]
) -> list[Coverage]:
    """Coverage for every language and scenario."""
    msgids = scenario_msgids(templates_dir)
    rows = []
    for tag, language in languages.items():
        catalog = load_catalog(locales_dir, tag)
        for scenario, ids in msgids.items():
            counts = dict.fromkeys(MessageStatus, 0)
            for msgid in ids:
                status = MessageStatus.source if tag == "en" else catalog.lookup(msgid)[1]
                counts[status] += 1
            review = language.review_status if catalog.exists else ReviewStatus.missing
            rows.append(
                Coverage(
                    tag,
                    scenario,
                    len(ids),
                    counts[MessageStatus.translated] + counts[MessageStatus.source],
                    counts[MessageStatus.fuzzy],
                    counts[MessageStatus.missing],
                    review,
                )
            )
    return rows


PLACEHOLDER_RE = re.compile(r"%\((\w+)\)[sd]")


def placeholder_problems(locales_dir: Path, language: str) -> list[str]:
    """Translations whose %(name)s placeholders differ from the English.

    Such a translation would make the render fail, or lose a fact such as a time or a place.
    """
    path = locales_dir / language / "LC_MESSAGES" / "messages.po"
    if not path.exists():
        return []
    with path.open("rb") as handle:
        catalog = read_po(handle)
    problems = []
    for message in catalog:
        if not message.id or not message.string:
            continue
        ids = message.id if isinstance(message.id, tuple | list) else (message.id,)
        expected = set().union(*(PLACEHOLDER_RE.findall(i) for i in ids))
        strings = message.string if isinstance(message.string, tuple | list) else (message.string,)
        for form in strings:
            found = set(PLACEHOLDER_RE.findall(form or ""))
            # A plural form may leave out %(num)d (Arabic "two days" needs no number).
            if form and (found - expected or expected - found - {"num"}):
                problems.append(
                    f"{path.relative_to(locales_dir)}: {ids[0]!r} -> {form!r}: placeholders "
                    f"{sorted(found)} should be {sorted(expected)}"
                )
    return problems
