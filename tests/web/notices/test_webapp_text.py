"""The web app's words are in locales/<lang>/LC_MESSAGES/webapp.po: Swedish for every msgid."""

from __future__ import annotations

import re

from babel.messages.pofile import read_po

from service.rendering.messages import template_msgids
from service.web.error_pages import LINK_WORDS, OTHER, TEXTS
from service.web.layout import NAV, TEMPLATE_DIRS, Words
from service.web.notices.form import PART_LABELS, TRANSLATED_PROBLEMS
from service.web.notices.preview_views import ADVICE
from service.web.phrasebook import msgids as phrasebook_msgids
from tests.conftest import ROOT

PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]|%\((\w+)\)\.1f")


def used_msgids() -> set[str]:
    """Every msgid the staff templates and the web app's Python code ask for."""
    used = {m for d in TEMPLATE_DIRS for p in d.glob("*.html") for m, _ in template_msgids(p)}
    return (
        used
        | {n.label for n in NAV}
        | set(PART_LABELS.values())
        | set(ADVICE.values())
        | set(TRANSLATED_PROBLEMS)
        | {m for pair in [*TEXTS.values(), OTHER] for m in pair}
        | set(LINK_WORDS)
        | phrasebook_msgids()
    )


def catalog(language: str) -> dict[str, object]:
    path = ROOT / "locales" / language / "LC_MESSAGES" / "webapp.po"
    with path.open("rb") as handle:
        po = read_po(handle)
    return {(m.id[0] if isinstance(m.id, tuple | list) else m.id): m for m in po if m.id}


def test_every_word_has_swedish_with_the_same_placeholders_and_no_stale_entries() -> None:
    used = used_msgids()
    swedish, english = catalog("sv"), catalog("en")
    assert set(swedish) == set(english) == used
    for msgid, message in swedish.items():
        forms = message.string if isinstance(message.string, tuple) else (message.string,)  # type: ignore[attr-defined]
        assert not message.fuzzy, msgid  # type: ignore[attr-defined]
        ids = message.id if isinstance(message.id, tuple) else (message.id,)  # type: ignore[attr-defined]
        allowed = {p for i in ids for p in PLACEHOLDER.findall(i)}
        for form in forms:
            assert form, f"no Swedish for {msgid!r}"
            assert set(PLACEHOLDER.findall(form)) <= allowed, msgid
            if len(forms) == 1:
                assert set(PLACEHOLDER.findall(form)) == allowed, msgid


def test_a_validator_message_is_translated_or_left_in_english() -> None:
    swedish = Words("sv")
    assert swedish.translated("is required") == "måste fyllas i"
    assert swedish.translated("is 93 characters; at most 80 are allowed") is None
    assert Words("en").translated("anything") == "anything"
    assert swedish.ngettext("%(num)d notice", "%(num)d notices", 3) == "3 meddelanden"
