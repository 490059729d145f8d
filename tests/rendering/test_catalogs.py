from __future__ import annotations

from pathlib import Path

from service.rendering.catalogs import MessageStatus, UsageTracker, load_catalog

# GNU gettext's Arabic Plural-Forms, as translators' tools write it.
ARABIC_HEADER = (
    'msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=UTF-8\\n"\n"Language: ar\\n"\n'
    '"Plural-Forms: nplurals=6; plural=(n==0 ? 0 : n==1 ? 1 : n==2 ? 2 : '
    'n%100>=3 && n%100<=10 ? 3 : n%100>=11 ? 4 : 5);\\n"\n\n'
)


def write_catalog(root: Path, lang: str, body: str) -> Path:
    folder = root / lang / "LC_MESSAGES"
    folder.mkdir(parents=True)
    (folder / "messages.po").write_text(body, "utf-8")
    return root


def test_arabic_plurals_follow_the_files_plural_forms(tmp_path: Path) -> None:
    body = ARABIC_HEADER + (
        'msgid "%(num)d day"\nmsgid_plural "%(num)d days"\n'
        + "".join(f'msgstr[{i}] "form{i}"\n' for i in range(6))
    )
    catalog = load_catalog(write_catalog(tmp_path, "ar", body), "ar")
    # GNU order: 0 zero, 1 one, 2 two, 3 few (3-10), 4 many (11-99), 5 other (100-102...).
    expected = {0: 0, 1: 1, 2: 2, 3: 3, 10: 3, 11: 4, 99: 4, 100: 5, 102: 5, 103: 3, 111: 4}
    for n, form in expected.items():
        assert catalog.lookup("%(num)d day", n) == (f"form{form}", MessageStatus.translated), n


def test_a_plural_forms_header_wrapped_over_two_lines_still_counts(tmp_path: Path) -> None:
    # `make messages` (Babel) and msgmerge wrap the long Arabic header like this.
    wrapped = ARABIC_HEADER.replace("2 : n%100", '2 : "\n"n%100')
    assert wrapped != ARABIC_HEADER
    body = wrapped + (
        'msgid "%(num)d day"\nmsgid_plural "%(num)d days"\n'
        + "".join(f'msgstr[{i}] "form{i}"\n' for i in range(6))
    )
    catalog = load_catalog(write_catalog(tmp_path, "ar", body), "ar")
    for n, form in {2: 2, 3: 3, 11: 4, 100: 5}.items():
        assert catalog.lookup("%(num)d day", n) == (f"form{form}", MessageStatus.translated), n


def test_fuzzy_and_missing_fall_back_to_english_and_are_recorded(tmp_path: Path) -> None:
    body = (
        'msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=UTF-8\\n"\n\n'
        '#, fuzzy\nmsgid "Boil the water."\nmsgstr "Koka vattnet."\n\n'
        'msgid "Save water."\nmsgstr "Spara vatten."\n\n'
        'msgid "Use little water."\nmsgstr ""\n'
    )
    tracker = UsageTracker(load_catalog(write_catalog(tmp_path, "sv", body), "sv"))
    assert tracker.gettext("Save water.") == "Spara vatten."
    assert tracker.gettext("Boil the water.") == "Boil the water."
    assert tracker.gettext("Use little water.") == "Use little water."
    assert tracker.gettext("Never heard of.") == "Never heard of."
    assert tracker.problems() == {
        "fuzzy": ["Boil the water."],
        "missing": ["Use little water.", "Never heard of."],
    }


def test_a_language_without_catalog_is_marked_missing(tmp_path: Path) -> None:
    catalog = load_catalog(tmp_path, "se")
    assert not catalog.exists
    assert catalog.lookup("Water outage") == (None, MessageStatus.missing)
