"""The sensitive-word filter: a pure function over text and a lexicon.

``check(text, lexicon)`` returns every hit of a lexicon word in the text, with its level:
"warn" (allowed but flagged for the school administrator) or "block" (refused). Matching is
case-insensitive and, for Latin words, on word boundaries (so "ass" does not hit "class"); CJK words
match anywhere, since Chinese is written without spaces. Full-width Latin letters are folded
(NFKC) before matching, so "ＳＨＩＴ" hits "shit".

A school's lexicon extends and overrides the built-in default: see ``merge``.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

Level = Literal["warn", "block"]
LEVELS: tuple[str, ...] = ("warn", "block")


@dataclass(frozen=True)
class Hit:
    word: str
    level: Level
    start: int
    end: int


# A small built-in default. Schools extend it (or switch entries off) with their own lexicon.
DEFAULT_LEXICON: dict[str, Level] = {
    # English: abuse is refused, rude words are flagged.
    "fuck": "block",
    "fucking": "block",
    "cunt": "block",
    "retard": "block",
    "kill you": "block",
    "shit": "warn",
    "bitch": "block",
    "idiot": "warn",
    "stupid": "warn",
    "bribe": "warn",
    "red envelope": "warn",
    # Chinese: abuse and threats are refused; insults, gifts and money to teachers are flagged.
    "傻逼": "block",
    "操你": "block",
    "他妈的": "block",
    "去死": "block",
    "弄死你": "block",
    "杀了你": "block",
    "白痴": "warn",
    "笨蛋": "warn",
    "废物": "warn",
    "滚": "warn",
    "红包": "warn",
    "送礼": "warn",
    "购物卡": "warn",
}


def normalise(text: str) -> str:
    """NFKC-fold and lower-case, keeping the length of the text where possible (for positions)."""
    return unicodedata.normalize("NFKC", text).casefold()


def _is_cjk(word: str) -> bool:
    return any(not ch.isascii() for ch in word)


def merge(base: Mapping[str, str], overrides: Iterable[tuple[str, str | None]]) -> dict[str, Level]:
    """A lexicon from a base and (word, level) overrides; level None removes the word."""
    merged: dict[str, Level] = {normalise(w): lv for w, lv in base.items() if lv in LEVELS}  # type: ignore[misc]
    for word, level in overrides:
        key = normalise(word).strip()
        if not key:
            continue
        if level is None:
            merged.pop(key, None)
        elif level in LEVELS:
            merged[key] = level  # type: ignore[assignment]
    return merged


def _pattern(word: str) -> re.Pattern[str]:
    escaped = r"\s+".join(re.escape(part) for part in word.split())
    if _is_cjk(word):
        return re.compile(escaped)
    return re.compile(rf"(?<![0-9a-z]){escaped}(?![0-9a-z])")


def check(text: str, lexicon: Mapping[str, str] | None = None) -> list[Hit]:
    """Every lexicon word found in text, in order of position; overlapping hits are all kept.

    Positions are offsets in the normalised text (equal to the original's for ordinary input).
    """
    lexicon = DEFAULT_LEXICON if lexicon is None else lexicon
    folded = normalise(text or "")
    hits: list[Hit] = []
    for word, level in lexicon.items():
        key = normalise(word).strip()
        if not key or level not in LEVELS:
            continue
        for m in _pattern(key).finditer(folded):
            hits.append(Hit(word=key, level=level, start=m.start(), end=m.end()))  # type: ignore[arg-type]
    hits.sort(key=lambda h: (h.start, -h.end, h.word))
    return hits


def worst(hits: Iterable[Hit]) -> Level | None:
    """'block' if any hit blocks, else 'warn' if any hit, else None."""
    levels = {h.level for h in hits}
    if "block" in levels:
        return "block"
    if "warn" in levels:
        return "warn"
    return None


def masked_excerpt(text: str, hits: Iterable[Hit], width: int = 12) -> str:
    """A short excerpt of the (normalised) text around the first hit, every hit in it masked to its
    first character and asterisks: enough for a moderator to see the context, not the whole text."""
    folded = normalise(text or "")
    spans = sorted((h.start, h.end) for h in hits)
    if not spans:
        return ""
    chars = list(folded)
    for start, end in spans:
        for i in range(start + 1, min(end, len(chars))):
            chars[i] = "*"
    first_start, first_end = spans[0]
    lo, hi = max(first_start - width, 0), min(first_end + width, len(chars))
    excerpt = " ".join("".join(chars[lo:hi]).split())
    return ("…" if lo > 0 else "") + excerpt + ("…" if hi < len(chars) else "")
