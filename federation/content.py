"""HTML that crosses the instance boundary: Markdown rendered for others, HTML sanitized
(nh3) from others, and plain text extracted where a field holds no markup."""

from __future__ import annotations

import html
import re

import nh3
from markdown_it import MarkdownIt

# What a Page's content may hold, ours or a peer's (Mastodon's allowlist, plus lists and headings).
TAGS = {
    "p", "br", "a", "span", "strong", "b", "em", "i", "u", "s", "del", "code", "pre",
    "blockquote", "ul", "ol", "li", "h2", "h3", "h4",
}  # fmt: skip
ATTRIBUTES = {"a": {"href", "title"}}
URL_SCHEMES = {"http", "https", "mailto"}

_markdown = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})


def sanitize_html(value: str) -> str:
    """Keep the harmless subset of HTML; scripts, styles and their content go."""
    return nh3.clean(
        value,
        tags=TAGS,
        clean_content_tags={"script", "style", "template", "iframe", "object", "noscript"},
        attributes=ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel="nofollow noopener noreferrer",
    ).strip()


def markdown_to_html(text: str) -> str:
    """A description (Markdown, raw HTML disabled) as sanitized HTML."""
    return sanitize_html(_markdown.render(text or ""))


_BLOCK_END = re.compile(r"</(p|li|h[1-6]|blockquote|pre)>|<br\s*/?>", re.IGNORECASE)
_LINK = re.compile(r'<a\s[^>]*href="([^"]*)"[^>]*>(.*?)</a>', re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"<[^>]+>")


def html_to_markdown(value: str) -> str:
    """A peer's HTML as Markdown-ish text (paragraphs and links kept), after sanitizing."""
    clean = sanitize_html(value)

    def link(match: re.Match[str]) -> str:
        href, label = match.group(1), _TAG.sub("", match.group(2)).strip()
        return f"[{label}]({href})" if label and label != href else href

    text = _LINK.sub(link, clean)
    text = _BLOCK_END.sub("\n\n", text)
    text = html.unescape(_TAG.sub("", text))
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def plain_text(value: str) -> str:
    """Text without any markup (names, summaries), whitespace collapsed."""
    text = html.unescape(_TAG.sub(" ", nh3.clean(value or "", tags=set())))
    return re.sub(r"\s+", " ", text).strip()
