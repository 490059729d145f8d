"""What people act on: the action first, one time in easy-read, the end, nothing silently dropped.

For every scenario (but the free-text one) the example is rendered as alert, update and
all-clear, for every role, before and during the event, and once for every value of every choice
field (the reason, the cause, the warning level...), since each value takes its own branch:

- the first sentence of every easy-read SMS is one of the scenario's declared instructions
  (`[instructions]` in scenario.toml), in every language with a catalog;
- an SMS (easy-read or standard) that tells people to stay, avoid or boil (`lasting`) also says
  how they will know it is over (`ends`);
- easy-read text says a time in words, without "kl." or "klo", and never "now" together with
  a later deadline;
- a list cut short for an SMS says how many places it left out, and where to find them.

Msgid use is read from the variant's record of the messages it used, so it does not depend on
the wording of any translation; the first sentence is matched against each translation.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest

from service.audiences.schemas import Register, Role
from service.channels.sms.encoding import normalise_for_sms
from service.content import ContentLibrary, get_library
from service.notices.scenarios import FieldType, ScenarioSpec
from service.notices.schemas import Channel
from service.notices.service import Notice, validate_notice
from service.rendering.bidi import strip_isolates
from service.rendering.catalogs import load_catalog
from service.rendering.schemas import RenderedVariant, VariantKey
from service.rendering.service import render_variant
from tests.conftest import ROOT, TEST_NOW, load_json

PUBLIC_URL = "https://kris.vasteras.se/n/K7M3PX"
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")
MORE_LINK = "There is %(num)d more place. See the link below."
MORE_PHONE = "There is %(num)d more place. Call %(phone)s to hear where."


def _library() -> ContentLibrary:
    return get_library()


def _languages(library: ContentLibrary) -> list[str]:
    return [
        tag
        for tag in library.languages
        if tag == "en" or load_catalog(library.locales_dir, tag).exists
    ]


SCENARIOS = sorted(s.id for s in _library().scenarios.values() if not s.free_text)


def _raw(scenario: str) -> dict[str, Any]:
    return load_json(ROOT / "message_templates" / scenario / "example.json")


def _moments(notice: Notice) -> list[datetime]:
    """Before the event (the suite's clock) and half an hour into it."""
    starts = [
        notice.fields[f.name]
        for f in notice.scenario.fields
        if f.type == FieldType.datetime and not f.after and f.name in notice.fields
    ]
    if not starts:
        return [TEST_NOW]
    return [TEST_NOW, starts[0] + timedelta(minutes=30)]


def _variations(spec: ScenarioSpec) -> Iterator[dict[str, Any]]:
    """Field changes: none, then each value of each choice field on its own."""
    yield {}
    for field in spec.fields:
        if field.type == FieldType.choice:
            for value in field.choices:
                yield {field.name: value}


def _notices(library: ContentLibrary, scenario: str) -> Iterator[tuple[str, Notice]]:
    raw = _raw(scenario)
    spec = library.scenarios[scenario]
    for changes in _variations(spec):
        for message_type in ("alert", "update", "all_clear"):
            notice = dict(raw, message_type=message_type, fields={**raw["fields"], **changes})
            if message_type != "alert":
                notice["references"] = "ABC234"
            first = validate_notice(notice, library, now=TEST_NOW)
            for at in _moments(first):
                name = f"{message_type} {changes or 'example'} at {at:%d %b %H:%M}"
                yield name, validate_notice(notice, library, now=at)


def _sms(
    notice: Notice,
    library: ContentLibrary,
    lang: str,
    register: Register,
    role: Role,
    url: str | None = PUBLIC_URL,
) -> RenderedVariant:
    key = VariantKey(lang, register, role, Channel.sms)
    return render_variant(notice, key, library, public_url=url)


def _pattern(text: str) -> str:
    """A translation as a regular expression: its placeholders match any text."""
    parts = PLACEHOLDER.split(normalise_for_sms(text))
    # split() with one group gives text, name, text, name, ..., text.
    return "".join(".+?" if i % 2 else re.escape(part) for i, part in enumerate(parts))


def _opening(lang: str, msgids: list[str], library: ContentLibrary) -> re.Pattern[str]:
    catalog = load_catalog(library.locales_dir, lang)
    texts = [(catalog.lookup(m)[0] or m) if lang != "en" else m for m in msgids]
    update = catalog.lookup("Update:")[0] if lang != "en" else "Update:"
    prefix = re.escape(normalise_for_sms(update or "Update:"))
    alternatives = "|".join(_pattern(t) for t in texts)
    return re.compile(rf"(?:{prefix} )?(?:{alternatives})(?: |$)")


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_easy_read_sms_opens_with_an_instruction(scenario: str) -> None:
    library = _library()
    spec = library.scenarios[scenario]
    assert spec.instructions.alert and spec.instructions.all_clear, (
        f"{scenario}/scenario.toml declares no [instructions]"
    )
    failures: list[str] = []
    checked = 0
    languages = _languages(library)
    for name, notice in _notices(library, scenario):
        all_clear = notice.envelope.message_type.value == "all_clear"
        msgids = spec.instructions.all_clear if all_clear else spec.instructions.alert
        # Every language for the example; English for the other branches (the order of the
        # sentences is the template's, the same in every language).
        tags = languages if "example" in name else ["en"]
        for lang, role in itertools.product(tags, Role):
            text = strip_isolates(_sms(notice, library, lang, Register.easy_read, role).text)
            first = text.splitlines()[0]
            checked += 1
            if not _opening(lang, msgids, library).match(first):
                failures.append(f"{name} {lang} {role.value}: {first!r}")
    assert checked > 0
    assert not failures, f"{len(failures)} open without an instruction:\n" + "\n".join(
        failures[:12]
    )


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_what_lasts_says_how_people_learn_it_is_over(scenario: str) -> None:
    library = _library()
    spec = library.scenarios[scenario]
    lasting, ends = set(spec.instructions.lasting), set(spec.instructions.ends)
    failures: list[str] = []
    said = 0
    for name, notice in _notices(library, scenario):
        for register, role in itertools.product(Register, Role):
            used = set(_sms(notice, library, "en", register, role).statuses)
            if used & lasting:
                said += 1
                if not used & ends:
                    failures.append(f"{name} {register.value} {role.value}: {used & lasting}")
    assert not lasting or said > 0, f"{scenario}: no SMS says any of {sorted(lasting)}"
    assert not failures, "an instruction to stay, avoid or boil without its end:\n" + "\n".join(
        failures[:12]
    )


def test_a_boil_water_sms_that_allows_showering_says_not_to_swallow() -> None:
    library = _library()
    for name, notice in _notices(library, "boil_water"):
        for register, role in itertools.product(Register, Role):
            used = set(_sms(notice, library, "en", register, role).statuses)
            if "You can shower as usual." in used:
                assert "Do not swallow the water." in used, (name, register, role)


EASY_TIME = {"sv": re.compile(r"\bkl\."), "fi": re.compile(r"\bklo\b")}


def test_easy_read_says_one_time_in_words() -> None:
    """No "kl."/"klo" in easy-read, and never "now" together with a later deadline."""
    library = _library()
    deadlines = {"Leave %(area)s by %(time)s today.", "Leave %(area)s by %(time)s on %(day)s."}
    for scenario in SCENARIOS:
        notice = dict(_notices(library, scenario))
        for name, one in notice.items():
            for lang, channel in itertools.product(EASY_TIME, (Channel.sms, Channel.web)):
                key = VariantKey(lang, Register.easy_read, Role.public, channel)
                variant = render_variant(one, key, library, public_url=PUBLIC_URL)
                assert not EASY_TIME[lang].search(variant.text), (scenario, name, lang, channel)
                if set(variant.statuses) & deadlines:
                    assert "Leave %(area)s now." not in variant.statuses, (scenario, name)


def _in_sms(scenario: str, field: str) -> bool:
    """Whether an SMS template of the scenario shows the field at all."""
    folder = ROOT / "message_templates" / scenario
    return any(f"f.{field}" in p.read_text("utf-8") for p in folder.glob("*.sms.j2"))


# Every list an SMS shows (part of).
LISTS = sorted(
    (s.id, f.name)
    for s in _library().scenarios.values()
    for f in s.fields
    if f.type == FieldType.text_list and _in_sms(s.id, f.name)
)


def _long_list(
    library: ContentLibrary, scenario: str, field: str, *, link: bool
) -> tuple[Notice, list[str]]:
    """The example with the list full; without `link`, contact is by phone only."""
    spec = library.scenarios[scenario].field(field)
    assert spec is not None and spec.max_items
    raw = _raw(scenario)
    items = [f"Plats {chr(65 + i)}, Gatan {i + 1}" for i in range(spec.max_items)]
    contact = raw["contact"] if link else {"phone": raw["contact"]["phone"]}
    notice = {**raw, "contact": contact, "fields": {**raw["fields"], field: items}}
    return validate_notice(notice, library), items


@pytest.mark.parametrize(("scenario", "field"), LISTS, ids=[f"{s}-{f}" for s, f in LISTS])
def test_a_list_cut_short_says_how_many_more_and_where(scenario: str, field: str) -> None:
    library = _library()
    failures: list[str] = []
    cut = 0
    for link in (True, False):
        notice, items = _long_list(library, scenario, field, link=link)
        phone = notice.envelope.contact.phone
        singular = MORE_LINK if link else MORE_PHONE
        plural = singular.replace("There is", "There are").replace("place.", "places.")
        # Every language with the link; Swedish and English when only a phone number is given.
        for lang in _languages(library) if link else ["sv", "en"]:
            catalog = load_catalog(library.locales_dir, lang)
            for register, role in itertools.product(Register, Role):
                url = PUBLIC_URL if link else None
                text = strip_isolates(_sms(notice, library, lang, register, role, url).text)
                shown = sum(item in text for item in items)
                if shown in (0, len(items)):  # not in the SMS at all, or all of it
                    continue
                cut += 1
                left = len(items) - shown
                form = catalog.lookup(singular, left)[0] if lang != "en" else None
                expected = form or (singular if left == 1 else plural)
                sentence = normalise_for_sms(expected % {"num": left, "phone": phone})
                if sentence not in text:
                    failures.append(
                        f"{lang} {register.value} {role.value}: {shown} of {len(items)} shown, "
                        f"no {sentence!r} in {text!r}"
                    )
    assert not failures, "\n".join(failures[:8])
    assert cut > 0, f"{scenario}: no SMS cuts {field} short: the test checks nothing"
