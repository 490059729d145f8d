"""Property tests for the sentence splitter."""

from hypothesis import given, settings
from hypothesis import strategies as st

from service.readability import split_sentences

PIECES = st.sampled_from(
    [
        "Ring", "112", "kl.", "10.30", "t.ex.", "Vattnet", "stängs", "www.vasteras.se/kris",
        "ማይ", "ኣሎ", "الماء", "Воду", "e.g.", "Mr.", "23.11.2026", "021-39 00 00",
        ".", "!", "?", "…", "؟", "۔", "።", "፧", "፡", ",", ":", "\"", ")", "(",
        " ", " ", "  ", "\n", "\n\n", "\r\n", "- ", "• ", "1. ", "\t",
    ]
)  # fmt: skip
TEXTS = st.one_of(st.lists(PIECES, max_size=40).map("".join), st.text(max_size=200))


@settings(max_examples=300, deadline=None)
@given(TEXTS)
def test_spans_are_ordered_trimmed_and_cover_every_letter(text: str) -> None:
    sentences = split_sentences(text, "sv")
    previous_end = 0
    covered: set[int] = set()
    for s in sentences:
        assert previous_end <= s.start < s.end <= len(text)
        assert text[s.start : s.end] == s.text
        assert s.text == s.text.strip()
        assert s.words
        for w in s.words:
            assert s.start <= w.start < w.end <= s.end
            assert text[w.start : w.end] == w.text
        covered.update(range(s.start, s.end))
        previous_end = s.end
    for i, c in enumerate(text):
        if c.isalpha():
            assert i in covered, (i, c)
