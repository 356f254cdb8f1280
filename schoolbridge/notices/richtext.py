"""Notice bodies as rich text: a small, safe subset of HTML.

The compose page's editor posts HTML; a browser without JavaScript posts plain text. Either way the body is
stored as sanitized HTML (`clean`), shown through the same sanitizer (`render`, so rows written before rich
text — plain text — still display with paragraphs and links), and reduced to plain text (`to_text`) for
summaries, SMS and e-mail.

Allowed: paragraphs and line breaks, bold / italic / underline / strike-through, two heading levels, bulleted
and numbered lists, quotes, and links to http(s), mailto and tel. Everything else — scripts, styles, images,
event handlers, classes — is removed, keeping the text.
"""

from __future__ import annotations

import html
import re

import nh3
from django.utils.html import escape, urlize

TAGS = frozenset(
    {"p", "br", "div", "strong", "b", "em", "i", "u", "s", "h3", "h4", "ul", "ol", "li", "blockquote", "a"}
)
ATTRIBUTES = {"a": {"href", "title"}}
URL_SCHEMES = frozenset({"http", "https", "mailto", "tel"})

_TAG_NAMES = "|".join(sorted(TAGS))
_LOOKS_LIKE_HTML = re.compile(rf"<\s*/?\s*(?:{_TAG_NAMES})\b[^>]*>", re.IGNORECASE)
_BLOCK_END = re.compile(r"<\s*(?:br\s*/?|/p|/div|/h3|/h4|/li|/blockquote)\s*>", re.IGNORECASE)
_LIST_ITEM = re.compile(r"<\s*li\b[^>]*>", re.IGNORECASE)


def is_html(value: str) -> bool:
    return bool(_LOOKS_LIKE_HTML.search(value))


def _sanitize(value: str) -> str:
    return nh3.clean(
        value,
        tags=set(TAGS),
        clean_content_tags={"script", "style"},
        attributes={k: set(v) for k, v in ATTRIBUTES.items()},
        url_schemes=set(URL_SCHEMES),
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
    ).strip()


_TAG = re.compile(r"(<[^>]*>)")


def _linkify(cleaned: str) -> str:
    """Turn bare web addresses in the text of sanitized HTML into links (not inside an existing link)."""
    out, inside_link = [], 0
    for part in _TAG.split(cleaned):
        if part.startswith("<"):
            name = part[1:].lstrip("/").split(None, 1)[0].rstrip(">").lower() if len(part) > 2 else ""
            if name == "a":
                inside_link += -1 if part.startswith("</") else 1
            out.append(part)
        elif part and not inside_link and ("://" in part or "www." in part or "@" in part):
            out.append(urlize(part, nofollow=True, autoescape=False))
        else:
            out.append(part)
    return "".join(out)


def from_plain_text(text: str) -> str:
    """Plain text → paragraphs (blank line), line breaks (newline) and links (web addresses)."""
    paragraphs = [p.strip() for p in re.split(r"\n\s*\n", text.replace("\r\n", "\n")) if p.strip()]
    out = []
    for p in paragraphs:
        lines = [urlize(escape(line), nofollow=True, autoescape=False) for line in p.split("\n")]
        out.append("<p>" + "<br>".join(lines) + "</p>")
    return "".join(out)


def clean(value: str) -> str:
    """What the editor or a plain textarea posted → sanitized HTML ("" when nothing readable is left)."""
    value = (value or "").strip()
    if not value:
        return ""
    cleaned = _sanitize(_linkify(_sanitize(value))) if is_html(value) else _sanitize(from_plain_text(value))
    return cleaned if to_text(cleaned) else ""


def render(value: str) -> str:
    """A stored body → safe HTML to show (stored bodies are sanitized again: defence in depth)."""
    return clean(value)


def to_text(value: str) -> str:
    """Sanitized HTML (or legacy plain text) → plain text with line breaks between blocks."""
    if not is_html(value or ""):
        return (value or "").strip()
    marked = _LIST_ITEM.sub("• ", _BLOCK_END.sub("\n", value))
    text = html.unescape(nh3.clean(marked, tags=set()))
    lines = [" ".join(line.split()) for line in text.split("\n")]
    return "\n".join(line for line in lines if line).strip()
