"""Action first at the top of every easy-read page: the web page, the e-mail and the print.

The top of a page is its summary, the paragraph under the heading (`<p class="summary">` in
`_layouts/body.j2`): a reader who stops after it has been told what to do. Its first sentence
must be one of the scenario's declared instructions (`[instructions]` in scenario.toml):
`alert` for alerts and updates, `all_clear` for all-clears, where the "action" is what is safe
or normal again ("You can drink the water in Skultuna again.", "Now the power is back."), which
is what people act on when it is over. The same notices as the SMS test: every scenario but the
free-text one, as alert, update and all-clear, before and during the event, for every value of
every choice field and every role; every language with a catalog for the example, English for
the other branches (the order of the sentences is the template's, the same in every language).
"""

from __future__ import annotations

import html
import itertools
import re

import pytest

from service.audiences.schemas import Register, Role
from service.content import ContentLibrary
from service.notices.schemas import Channel
from service.rendering.bidi import strip_isolates
from service.rendering.catalogs import load_catalog
from service.rendering.schemas import VariantKey
from service.rendering.service import render_variant
from tests.variants.test_action_first import (
    PLACEHOLDER,
    PUBLIC_URL,
    SCENARIOS,
    _languages,
    _library,
    _notices,
)

PAGES = (Channel.web, Channel.email, Channel.print)
SUMMARY = re.compile(r'<p class="summary">(.*?)</p>', re.S)
TAG = re.compile(r"<[^>]+>")


def _summary(page: str) -> str:
    """The text of the page's summary paragraph, as a reader sees it."""
    found = SUMMARY.findall(page)
    assert len(found) == 1, f"{len(found)} summary paragraphs"
    return " ".join(strip_isolates(html.unescape(TAG.sub("", found[0]))).split())


def _opening(lang: str, msgids: list[str], library: ContentLibrary) -> re.Pattern[str]:
    """One of the translations of `msgids` at the start, its placeholders matching any text."""
    catalog = load_catalog(library.locales_dir, lang)
    texts = [(catalog.lookup(m)[0] or m) if lang != "en" else m for m in msgids]
    alternatives = []
    for text in texts:
        parts = PLACEHOLDER.split(" ".join(text.split()))
        alternatives.append(
            "".join(".+?" if i % 2 else re.escape(part) for i, part in enumerate(parts))
        )
    return re.compile(rf"(?:{'|'.join(alternatives)})(?: |$)")


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_the_top_of_every_easy_read_page_is_an_instruction(scenario: str) -> None:
    library = _library()
    spec = library.scenarios[scenario]
    failures: list[str] = []
    checked = 0
    languages = _languages(library)
    for name, notice in _notices(library, scenario):
        all_clear = notice.envelope.message_type.value == "all_clear"
        msgids = spec.instructions.all_clear if all_clear else spec.instructions.alert
        tags = languages if "example" in name else ["en"]
        # Every channel for the example in every language; the web page for the other branches
        # (the summary is the scenario's block, the same on every channel).
        channels = PAGES if "example" in name else (Channel.web,)
        for lang in tags:
            opening = _opening(lang, msgids, library)
            for role, channel in itertools.product(Role, channels):
                key = VariantKey(lang, Register.easy_read, role, channel)
                variant = render_variant(notice, key, library, public_url=PUBLIC_URL)
                assert variant.html is not None
                top = _summary(variant.html)
                checked += 1
                if not opening.match(top):
                    failures.append(f"{name} {lang} {role.value} {channel.value}: {top!r}")
    assert checked > 0
    assert not failures, f"{len(failures)} pages open without an instruction:\n" + "\n".join(
        failures[:12]
    )


def test_a_page_that_opens_with_the_situation_fails() -> None:
    """The check itself: a summary that leads with what happened does not pass."""
    library = _library()
    msgids = library.scenarios["power_outage"].instructions.alert
    page = '<h1>Power cut</h1><p class="summary">The power is off now. Use a torch.</p>'
    assert not _opening("en", msgids, library).match(_summary(page))
    page = '<h1>Power cut</h1><p class="summary">Use a torch. The power is off now.</p>'
    assert _opening("en", msgids, library).match(_summary(page))
