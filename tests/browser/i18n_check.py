"""Helpers of the language tests: the message catalogues of ``api/web/i18n/`` read from Python,
and what a page shows (its words, with the organiser's and participants' text left out).

A catalogue file is ``rankerI18n.add(PAGE, LANG, {...});`` around a JSON object, so Python reads
it as JSON. ``SHOWN_TEXT`` walks the visible page (screen-reader-only text included, ``hidden``
excluded; every option of a select) and joins its text and its ``aria-label``/``title``/
``placeholder`` attributes; every node that holds survey content (an idea, the question, a group
name: ``dir="auto"`` elements, ``#rk-question``, ``#rk-desc``), a name (``translate="no"``) or a
date formatted by Intl (``<time>``, chart labels) becomes ``▣``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

I18N = Path(__file__).resolve().parents[2] / "api" / "web" / "i18n"
PLACEHOLDER = re.compile(r"\{(\w+)\}")
CONTENT = (
    "[dir=auto], #rk-question, #rk-desc, .db-idea-text, #db-survey, [translate=no], time, svg text"
)
"""Survey content, names and Intl-formatted dates: not the page's own words."""

SHOWN_TEXT = """([root, content]) => {
  const out = [];
  const walk = (node) => {
    if (node.nodeType === Node.TEXT_NODE) { out.push(node.textContent); return; }
    if (node.nodeType !== Node.ELEMENT_NODE) return;
    if (['SCRIPT', 'STYLE', 'TEMPLATE'].includes(node.tagName)) return;
    if (node.matches(content)) { out.push('▣'); return; }
    if (node.tagName === 'SELECT') {
      for (const o of node.options) out.push('\\n' + o.textContent + '\\n');
      return;
    }
    if (!node.checkVisibility()) return;
    for (const a of ['aria-label', 'title', 'placeholder', 'aria-description']) {
      if (node.hasAttribute(a)) out.push('\\n' + node.getAttribute(a) + '\\n');
    }
    for (const c of node.childNodes) walk(c);
    if (getComputedStyle(node).display !== 'inline') out.push('\\n');
  };
  walk(document.querySelector(root));
  return out.join('');
}"""


def catalogue(page: str, lang: str) -> dict[str, Any]:
    """The messages of ``api/web/i18n/{page}.{lang}.js``."""
    source = (I18N / f"{page}.{lang}.js").read_text()
    start = source.index(f'rankerI18n.add("{page}", "{lang}", ') + len(
        f'rankerI18n.add("{page}", "{lang}", '
    )
    body = source[start : source.rindex(");")]
    out: dict[str, Any] = json.loads(body)
    return out


def forms(message: str | dict[str, str]) -> list[str]:
    """The texts of a message: itself, or each plural form."""
    return list(message.values()) if isinstance(message, dict) else [message]


def placeholders(message: str | dict[str, str]) -> set[str]:
    return {p for text in forms(message) for p in PLACEHOLDER.findall(text)}


def english_fragments(page: str, lang: str) -> set[str]:
    """Runs of English words of the English catalogue (between placeholders) that the
    catalogue of ``lang`` does not also use: any of them on a page in ``lang`` is untranslated."""
    en, other = catalogue(page, "en"), catalogue(page, lang)
    theirs = " ".join(t for m in other.values() for t in forms(m))
    out = set()
    for message in en.values():
        for text in forms(message):
            for frag in PLACEHOLDER.split(text)[::2]:
                frag = frag.strip(" .,:;–-()")
                if len(re.findall(r"[A-Za-z]", frag)) >= 4 and frag not in theirs:
                    out.add(frag)
    return out


def untranslated(shown: str, fragments: set[str]) -> list[str]:
    """The English fragments found in the page's text (word-bounded), survey content isolated
    inside a sentence (between FSI and PDI) left out."""
    shown = re.sub("\u2068[^\u2069]*\u2069", "▣", shown)
    return sorted(
        f for f in fragments if re.search(rf"(?<![A-Za-z]){re.escape(f)}(?![A-Za-z])", shown)
    )


def pseudo(page: str) -> str:
    """The English catalogue as a catalogue whose every message is wrapped in ⟦ ⟧, served in
    place of another language's file: a word on the page outside ⟦ ⟧ came from no catalogue."""
    en = catalogue(page, "en")
    wrapped = {
        k: ({c: f"⟦{t}⟧" for c, t in m.items()} if isinstance(m, dict) else f"⟦{m}⟧")
        for k, m in en.items()
    }
    return json.dumps(wrapped, ensure_ascii=False)


def outside_catalogues(shown: str) -> list[str]:
    """Lines of shown text with letters outside ⟦ ⟧ (words no catalogue supplied)."""
    stripped, before = shown, None
    while stripped != before:  # innermost first: a message may hold another (a key's name)
        before, stripped = stripped, re.sub(r"⟦[^⟦⟧]*⟧", " ", stripped)
    return [line.strip() for line in stripped.splitlines() if re.search(r"[^\W\d_]", line)]
