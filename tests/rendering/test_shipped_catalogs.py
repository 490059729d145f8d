from __future__ import annotations

from service.content import ContentLibrary
from service.rendering.messages import coverage, placeholder_problems


def test_no_translation_changes_a_placeholder(library: ContentLibrary) -> None:
    for tag in library.languages:
        assert placeholder_problems(library.locales_dir, tag) == [], tag


def test_swedish_covers_every_scenario_completely(library: ContentLibrary) -> None:
    rows = coverage(library.root / "message_templates", library.locales_dir, library.languages)
    incomplete = [
        (r.scenario, r.fuzzy, r.missing) for r in rows if r.language == "sv" and r.percent < 100
    ]
    assert incomplete == []


def test_every_catalog_has_a_review_status(library: ContentLibrary) -> None:
    for tag, language in library.languages.items():
        path = library.locales_dir / tag / "LC_MESSAGES" / "messages.po"
        if tag == "en":
            assert language.review_status == "source"
        elif path.exists():
            assert language.review_status in ("draft", "reviewed"), tag
        else:
            assert language.review_status == "missing", tag


def test_messages_pot_matches_the_templates(library: ContentLibrary) -> None:
    from babel.messages.pofile import read_po

    from service.rendering.messages import extract_catalog

    with (library.locales_dir / "messages.pot").open("rb") as handle:
        committed = {m.id if isinstance(m.id, str) else m.id[0] for m in read_po(handle) if m.id}
    current = {
        m.id if isinstance(m.id, str) else m.id[0]
        for m in extract_catalog(library.root / "message_templates")
        if m.id
    }
    assert committed == current, "run: make messages"


def test_every_drafted_catalog_covers_every_scenario(library: ContentLibrary) -> None:
    rows = coverage(library.root / "message_templates", library.locales_dir, library.languages)
    gaps = [
        (r.language, r.scenario, r.fuzzy, r.missing)
        for r in rows
        if r.review_status in ("draft", "reviewed") and r.percent < 100
    ]
    assert gaps == []


def test_tigrinya_names_the_tap_in_words_eritrean_and_ethiopian_readers_know(
    library: ContentLibrary,
) -> None:
    """ "ቡምባ" is Eritrean usage: every message about the tap also says "ቧንቧ"."""
    import re

    from babel.messages.pofile import read_po

    with (library.locales_dir / "ti" / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        catalog = read_po(handle)
    about_the_tap = [
        m for m in catalog if m.id and re.search(r"\btaps?\b|running water", str(m.id))
    ]
    assert len(about_the_tap) > 10
    for message in about_the_tap:
        forms = message.string if isinstance(message.string, tuple) else (message.string,)
        for form in forms:
            assert "ቡምባ" in form and "ቧንቧ" in form, (message.id, form)
