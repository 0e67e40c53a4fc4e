"""Input rules: every text neutralised on the way in (controls, bidi, invisible-only texts)
and a list of ideas that repeats itself refused."""

from __future__ import annotations

import doctest
import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

import ranker.rules
from ranker import errors as E
from ranker.rules import check_distinct, check_text

BIDI = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"


def test_module_doctests() -> None:
    result = doctest.testmod(ranker.rules)
    assert result.attempted > 0 and result.failed == 0


# -- check_text ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("\u202eevil\u202c", "evil"),  # displayed as "live" to a moderator before
        ("a\u2066b\u2069c\u200fd\u061c", "abcd"),
        ("a\x00b\x07c\x7fd\x9be", "abcde"),  # C0, DEL, C1 dropped
        ("two\nlines\r\nand\ttab", "two lines and tab"),  # never merges two words
        ("e\u0301te\u0301", "été"),  # NFC
        ("  \u00a0padded\u3000 ", "padded"),
        ("👩\u200d💻 coders", "👩\u200d💻 coders"),  # ZWJ emoji sequence kept
        ("می\u200cخواهم", "می\u200cخواهم"),  # Persian ZWNJ kept
        ("क्\u200dष", "क्\u200dष"),
        ("🏴\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f", None),  # flag tags
        ("\ufeffBOM", "BOM"),
        ("\U0001fae8", "\U0001fae8"),  # an emoji newer than this Python's Unicode data
    ],
)
def test_text_is_neutralised(raw: str, clean: str | None) -> None:
    assert check_text("idea", raw, 100) == (raw if clean is None else clean)


@pytest.mark.parametrize(
    "raw",
    [
        "\u200b",
        "\u200b\u200c\u200d",
        "\u2060\ufeff",
        BIDI,
        "\u202e \u202c",
        "\u00ad",  # soft hyphen
        "\u3164\u115f\uffa0",  # Hangul fillers (letters that show nothing)
        "\u2800",  # blank braille pattern
        "\ufe0f\U000e0100",  # variation selectors
        "\U000e0041\U000e0042",  # tag characters
        "\u0301",  # a mark with nothing to sit on
        "\x00\x01 \x85",
        " \u00a0\u2003\u3000\n\t",
    ],
)
def test_a_text_with_nothing_visible_is_empty(raw: str) -> None:
    with pytest.raises(E.TextEmpty, match="idea"):
        check_text("idea", raw, 100)
    assert check_text("reason", raw, 100, allow_empty=True) == ""


def test_multiline_texts_keep_their_line_breaks() -> None:
    raw = "first\r\nsecond\rthird\u2028fourth\n\u202enot reversed"
    assert check_text("comment", raw, 100, multiline=True) == (
        "first\nsecond\nthird\nfourth\nnot reversed"
    )
    assert check_text("comment", raw, 100) == "first second third fourth not reversed"


def test_the_limit_counts_the_cleaned_text() -> None:
    assert check_text("idea", "\u202e" * 50 + "x" * 10, 10) == "x" * 10
    with pytest.raises(E.TextTooLong) as err:
        check_text("idea", "x" * 11, 10)
    assert err.value.detail == {"field": "idea", "limit": 10}
    with pytest.raises(E.InvalidInput, match="idea must be a string"):
        check_text("idea", 5, 10)


_DANGEROUS = {*range(0x00, 0x20), 0x7F, *range(0x80, 0xA0), *map(ord, BIDI), 0xFEFF}


@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=60), st.booleans())
def test_cleaned_text_is_safe_nfc_and_stable(raw: str, multiline: bool) -> None:
    try:
        clean = check_text("t", raw, 1000, multiline=multiline)
    except E.TextEmpty:
        return
    allowed = {ord("\n")} if multiline else set()
    assert not {ord(c) for c in clean} & (_DANGEROUS - allowed)
    assert unicodedata.is_normalized("NFC", clean)
    assert clean == clean.strip()
    assert check_text("t", clean, 1000, multiline=multiline) == clean


def test_a_list_repeating_itself_is_refused() -> None:
    check_distinct("ideas", ["a", "b", "!!!", "?"])  # nothing to compare in punctuation
    with pytest.raises(E.DuplicateIdea) as err:
        check_distinct("ideas", ["Evening clinics", "Walk-in hours", "EVENING  clinics."])
    assert err.value.detail == {"field": "ideas[2]", "idea": None}
    assert "ideas[2] repeats ideas[0]" in str(err.value)
