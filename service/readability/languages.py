"""Which measures are validated for which language, and why the others are only indicative."""

from __future__ import annotations

from dataclasses import dataclass

NEUTRAL_MEASURES = ("words_per_sentence", "longest_sentence_words")
LIX_LANGUAGES = frozenset({"sv", "da", "no", "nb", "nn"})
# Scripts where "more than six letters" does not mean what LIX assumes: Arabic script omits
# short vowels, Ethiopic letters are whole syllables (fidel).
NON_ALPHABETIC_LANGUAGES = frozenset({"ar", "fa", "ps", "ur", "ti", "am"})
KNOWN_LANGUAGES = frozenset(
    {"sv", "en", "ar", "fa", "so", "ti", "fi", "uk", "pl", "se", "fit", "rom", "yi"} | LIX_LANGUAGES
)


@dataclass(frozen=True, slots=True)
class LanguageProfile:
    """What the checker knows about one language."""

    tag: str
    primary: str
    validated_measures: tuple[str, ...]
    notes: tuple[str, ...]

    @property
    def english(self) -> bool:
        """True if Flesch measures apply."""
        return self.primary == "en"

    @property
    def swedish(self) -> bool:
        """True if Swedish passive and plain-word checks apply."""
        return self.primary == "sv"


def primary_subtag(lang: str) -> str:
    """The primary language subtag of a BCP 47 tag, lower-cased ("fa-AF" -> "fa")."""
    return lang.replace("_", "-").split("-", 1)[0].strip().lower()


def language_profile(lang: str) -> LanguageProfile:
    """Validated measures and explanatory notes for a BCP 47 tag."""
    primary = primary_subtag(lang)
    validated: list[str] = list(NEUTRAL_MEASURES)
    notes: list[str] = []
    if primary not in KNOWN_LANGUAGES:
        notes.append(
            f"Language {lang!r} is not known to the checker: only sentence length is validated."
        )
    elif primary in NON_ALPHABETIC_LANGUAGES:
        why = (
            "Ethiopic letters are syllables"
            if primary in {"ti", "am"}
            else "Arabic script omits short vowels"
        )
        notes.append(
            f"LIX and long-word share are computed but not validated for {lang}: {why}, "
            "so 'more than six letters' does not mark a long word."
        )
    else:
        validated.append("long_word_share")
    if primary in LIX_LANGUAGES:
        validated.append("lix")
    elif primary not in NON_ALPHABETIC_LANGUAGES:
        notes.append(
            f"LIX is computed but validated only for Swedish (and Danish/Norwegian), not {lang}."
        )
    if primary == "en":
        validated += ["flesch_reading_ease", "flesch_kincaid_grade", "plain_words"]
    else:
        notes.append("Flesch reading ease and Flesch-Kincaid grade apply to English only.")
    if primary == "sv":
        validated += ["passive_share", "plain_words"]
    return LanguageProfile(
        tag=lang, primary=primary, validated_measures=tuple(validated), notes=tuple(notes)
    )
