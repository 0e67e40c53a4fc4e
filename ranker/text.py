"""Text as a reader sees it: what to drop on the way in, and when two ideas say the same.

:func:`neutralise` drops what a display obeys but a reader cannot see (control and bidi
characters) and :func:`visible` tells whether anything is left to see;
:func:`ranker.rules.check_text` applies both to every text field. :func:`text_key` sets aside
what a reader does not notice (case, width, spacing, punctuation, invisible characters,
look-alike letters) and :func:`similar_keys` tells whether two keys say the same words with
small differences: the rules of repeated ideas (:mod:`ranker.ideas`).

>>> neutralise("  More \\u202eevil\\u202c\\nclinics\\t")
'More evil clinics'
>>> text_key("More  evening \\u0441linics!")  # a Cyrillic "с"
'more evening clinics'
"""

from __future__ import annotations

import functools
import importlib.resources
import re
import unicodedata
from collections import Counter

from rapidfuzz.distance import OSA, Prefix

__all__ = ["neutralise", "similar_keys", "sorted_words", "text_key", "visible"]

_BIDI = (0x061C, 0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A))
"""Bidi controls (embeddings, overrides, isolates, ALM/LRM/RLM): U+202E makes "evil" display as
"live". Dropped on input; every client also isolates each idea (``dir="auto"``)."""
_DROP = (
    *range(0x00, 0x20),
    0x7F,
    *range(0x80, 0xA0),
    *_BIDI,
    *range(0x206A, 0x2070),  # deprecated format controls (symmetric swapping, digit shapes)
    0xFEFF,  # zero-width no-break space / byte order mark
    *range(0xFFF9, 0xFFFC),  # interlinear annotation: hides text from the reader
    *range(0xD800, 0xE000),  # lone surrogates cannot be stored as UTF-8
)
_SPACES = {ord(c): " " for c in "\t\n\v\f\r\x85\u2028\u2029"}
_LINE: dict[int, str | None] = {**dict.fromkeys(_DROP), **_SPACES}
"""``str.translate`` table of a one-line text: controls and bidi controls dropped, line
breaks and tabs become spaces (so two words never merge)."""
_LINES: dict[int, str | None] = {**_LINE, **{ord(c): "\n" for c in "\n\r\v\f\x85\u2028\u2029"}}
"""The same for a multi-line text (descriptions, comments): line breaks kept as ``\\n``."""
_INVISIBLE = frozenset(
    (
        0x00AD,
        0x034F,
        *_BIDI,
        *range(0x115F, 0x1161),
        *range(0x17B4, 0x17B6),
        *range(0x180B, 0x1810),
        *range(0x200B, 0x2010),
        *range(0x2060, 0x2070),
        0x2800,
        0x3164,
        *range(0xFE00, 0xFE10),
        0xFEFF,
        0xFFA0,
        *range(0xFFF0, 0xFFF9),
        *range(0x1BCA0, 0x1BCA4),
        *range(0x1D173, 0x1D17B),
        *range(0xE0000, 0xE1000),
    )
)
"""Characters that show nothing: Unicode's Default_Ignorable_Code_Point (zero-width space,
joiners, variation selectors, Hangul fillers, tags, ...) plus the blank braille pattern."""


def visible(text: str) -> bool:
    """Whether ``text`` has a character that shows: a letter, digit, symbol or punctuation mark
    (also a private-use or, for this Python's Unicode version, unassigned one: a new emoji)."""
    for c in text:
        cat = unicodedata.category(c)
        if (cat[0] in "LNSP" or cat in ("Co", "Cn")) and ord(c) not in _INVISIBLE:
            return True
    return False


def neutralise(value: str, *, multiline: bool = False) -> str:
    """``value`` without control characters (C0, C1, DEL) and bidi controls, tabs and line
    breaks as spaces (a ``multiline`` text keeps line breaks as ``\\n``), in NFC, stripped.
    Zero-width joiners stay: emoji sequences, Persian and Indic scripts need them.

    >>> neutralise("first\\r\\nsecond\\u2028third", multiline=True)
    'first\\nsecond\\nthird'
    """
    value = value.replace("\r\n", "\n")
    return unicodedata.normalize("NFC", value.translate(_LINES if multiline else _LINE)).strip()


def _load_confusables() -> dict[int, str]:
    """``confusables.tsv`` beside this module (``scripts/gen_confusables.py`` writes it)."""
    data = importlib.resources.files("ranker").joinpath("confusables.tsv").read_text("utf-8")
    table: dict[int, str] = {}
    for line in data.splitlines():
        if line and not line.startswith("#"):
            source, target = line.split("\t")
            table[int(source, 16)] = "".join(chr(int(c, 16)) for c in target.split())
    return table


CONFUSABLES = _load_confusables()
"""Look-alike characters (non-ASCII) to their UTS #39 prototype, folded like a key."""


class _KeyMap(dict[int, "int | str | None"]):
    """``str.translate`` table of :func:`text_key`, filled per character on first sight:
    invisible and control characters and punctuation dropped, spaces kept, homoglyphs mapped
    to their UTS #39 prototype, everything else kept."""

    def __missing__(self, cp: int) -> int | str | None:
        c = chr(cp)
        cat = unicodedata.category(c)
        out: int | str | None
        if cat[0] == "Z" or c.isspace():
            out = " "
        elif cp in _INVISIBLE or cat in ("Cc", "Cf", "Cs") or cat[0] == "P":
            out = None
        else:
            out = CONFUSABLES.get(cp, cp)
        self[cp] = out
        return out


_KEY_MAP = _KeyMap()


@functools.lru_cache(maxsize=1 << 16)
def text_key(text: str) -> str:
    """The near-duplicate key of a text: two texts a reader takes for the same words have the
    same key.

    NFKC and case folding (full-width, ligatures, bold maths letters, "Straße"/"STRASSE"),
    homoglyphs mapped to their prototype by Unicode's confusables data (UTS #39: Cyrillic
    "а", Greek "ο"; ASCII is never remapped), invisible characters and punctuation removed
    ("wi-fi" is "wifi"), words separated by single spaces. Marks stay ("año" is not "ano").

    >>> text_key("More  evening \\u0441linics!")  # a Cyrillic "с"
    'more evening clinics'
    >>> text_key("Free Wi\\u200b-Fi") == text_key("free wifi")
    True
    """
    folded = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold())
    mapped = unicodedata.normalize("NFD", folded).translate(_KEY_MAP)
    return " ".join(unicodedata.normalize("NFKC", mapped).split())


_DIGIT = re.compile(r"\d")


@functools.lru_cache(maxsize=1 << 16)
def _bare(word: str) -> str:
    """``word`` without its accents (combining marks)."""
    return "".join(c for c in unicodedata.normalize("NFD", word) if not unicodedata.combining(c))


def _typos(n: int) -> int:
    """Edits a word of ``n`` characters may differ by and still be the same word."""
    return 0 if n <= 3 else 1 if n <= 9 else 2


@functools.lru_cache(maxsize=1 << 16)
def _same_word(a: str, b: str) -> bool:
    """Equal, equal without accents, a typo apart (OSA distance: a swap counts once), or one
    stem (a common prefix of at least 4 characters and 3/4 of the shorter: "lights" and
    "lighting"); words with digits only when equal."""
    if a == b:
        return True
    if _DIGIT.search(a) or _DIGIT.search(b):
        return False
    a, b = _bare(a), _bare(b)
    n, k = min(len(a), len(b)), _typos(min(len(a), len(b)))
    if a == b or (abs(len(a) - len(b)) <= k and OSA.distance(a, b, score_cutoff=k) <= k):
        return True
    prefix = Prefix.similarity(a, b)
    return prefix >= 4 and prefix >= 0.75 * n


def _joined(words: list[str], other: list[str]) -> list[str]:
    """``words`` with two neighbours joined where the joined word is, within a typo, a word of
    ``other`` that ``words`` lacks ("play ground" against "playground")."""
    lacking = [w for w in set(other) - set(words) if len(w) >= 4]
    if not lacking or len(words) < 2:
        return words
    out, i = list(words), 0
    while i < len(out) - 1:
        pair = out[i] + out[i + 1]
        if not _DIGIT.search(pair) and any(
            abs(len(pair) - len(w)) <= _typos(len(w))
            and OSA.distance(pair, w, score_cutoff=_typos(len(w))) <= _typos(len(w))
            for w in lacking
        ):
            out[i : i + 2] = [pair]
        i += 1
    return out


def sorted_words(key: str) -> str:
    """A :func:`text_key`'s words without accents, sorted: the string a cheap first test
    compares before :func:`similar_keys` (``rapidfuzz.fuzz.ratio`` of two ideas that
    :func:`similar_keys` calls similar was at least 67 in every example tried).

    >>> sorted_words("más árboles en las calles")
    'arboles calles en las mas'
    """
    return " ".join(sorted(_bare(w) for w in key.split()))


def similar_keys(a: str, b: str) -> bool:
    """Whether two :func:`text_key` keys say the same thing with small differences: the words
    pair up (equal, a typo or accent apart, one stem) except a few short words ("the",
    "for"/"of") and at most one longer extra word ("please", "drinking") when at least three
    words pair. A different content word, or any different number, makes them different.

    >>> similar_keys(text_key("Longer opening hours for the library"),
    ...              text_key("Longer library opening hours"))
    True
    >>> similar_keys(text_key("More evening clinics"), text_key("More morning clinics"))
    False
    >>> similar_keys(text_key("Bus route 10"), text_key("Bus route 12"))
    False
    """
    wa, wb = a.split(), b.split()
    if "".join(wa) == "".join(wb):
        return True
    wa, wb = _joined(wa, wb), _joined(wb, wa)
    ca, cb = Counter(wa), Counter(wb)
    common = ca & cb
    paired = sum(common.values())
    ra, rb = list((ca - common).elements()), list((cb - common).elements())
    # a word of 4+ characters pairs only with another: more unpaired long words than one
    # on either side cannot end well, and that settles most pairs of ideas cheaply
    if abs(sum(len(w) > 3 for w in ra) - sum(len(w) > 3 for w in rb)) > 1:
        return False
    candidates = sorted(
        (OSA.distance(x, y), i, j)
        for i, x in enumerate(ra)
        for j, y in enumerate(rb)
        if _same_word(x, y)
    )
    left_a, left_b = set(range(len(ra))), set(range(len(rb)))
    for _, i, j in candidates:
        if i in left_a and j in left_b:
            left_a.discard(i)
            left_b.discard(j)
            paired += 1
    ua, ub = [ra[i] for i in left_a], [rb[j] for j in left_b]
    if paired == 0 or any(_DIGIT.search(w) for w in ua + ub):
        return False
    longer = [w for w in ua + ub if len(w) > 3]
    if len(longer) > 1 or (longer and paired < 3):
        return False
    short_a, short_b = [w for w in ua if len(w) <= 3], [w for w in ub if len(w) <= 3]
    if (
        short_a
        and short_b
        and not (all(len(w) == 2 for w in short_a) or all(len(w) == 2 for w in short_b))
    ):
        return False
    return max(len(ua), len(ub)) <= max(1, paired // 2)
