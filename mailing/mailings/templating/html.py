"""HTML bodies: sanitised to what mail clients may show, and turned into their text version."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import nh3

# --------------------------------------------------------------------------------------------
# HTML helpers
# --------------------------------------------------------------------------------------------

_HTML_TAGS = {
    "p", "br", "strong", "em", "b", "i", "u", "a", "ul", "ol", "li", "h1", "h2", "h3", "h4",
    "blockquote", "table", "tr", "td", "th", "thead", "tbody", "span", "div", "img",
}
_HTML_ATTRIBUTES = {"a": {"href"}, "img": {"src", "alt", "width", "height"}}
_URL_SCHEMES = {"http", "https", "mailto", "tel", "cid"}


def sanitize_html(html: str) -> str:
    """Clean an HTML body with nh3 (ammonia) and a conservative allow-list.

    Kept: p, br, strong, em, b, i, u, a[href], ul, ol, li, h1–h4, blockquote, table, tr, td,
    th, thead, tbody, span, div, img[src alt width height]. Everything else is stripped
    (``<script>``/``<style>`` with their content), as are event handlers, ``style``
    attributes, comments and URLs other than http(s), mailto, tel and cid (so no
    ``javascript:``). Links get ``rel="noopener noreferrer"``. Apply it to the *rendered* HTML:
    sanitising a template's source could move ``{% %}`` tags sitting between table rows.
    """
    return nh3.clean(
        html,
        tags=_HTML_TAGS,
        attributes=_HTML_ATTRIBUTES,
        url_schemes=_URL_SCHEMES,
        link_rel="noopener noreferrer",
        strip_comments=True,
    )


_SPACES = re.compile(r"[ \t\n\r\f\v]+")  # Not \s: keep non-breaking spaces (French typography).


class _TextExtractor(HTMLParser):
    _PARAGRAPHS = {"p", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "table", "pre"}
    _LINES = {"div", "tr", "section", "article", "header", "footer", "thead", "tbody", "hr"}
    _SKIPPED = {"script", "style", "head", "title", "template", "noscript"}

    def __init__(self):
        super().__init__(convert_charrefs=True)  # Entities are unescaped in handle_data.
        self.out: list[str] = []
        self.links: list[tuple[str, int]] = []
        self.depth = 0  # List nesting.
        self.skipping = 0
        self.cells = 0
        self.bullet = False  # Just wrote "- ": a <p> inside the <li> must not break the line.

    def _ends(self) -> str:
        """The last character written ("\n" at the start)."""
        return next((chunk[-1] for chunk in reversed(self.out) if chunk), "\n")

    def _newlines(self, count: int) -> None:
        """End the current line, leaving at least ``count`` newlines (none at the start)."""
        if self.bullet or not self.out:
            return
        self.out[-1] = self.out[-1].rstrip(" ")
        have = 0
        for chunk in reversed(self.out):
            stripped = chunk.rstrip("\n")
            have += len(chunk) - len(stripped)
            if stripped:
                break
        if count > have:
            self.out.append("\n" * (count - have))

    def handle_starttag(self, tag, attrs):
        if tag in self._SKIPPED:
            self.skipping += 1
        elif tag == "br":
            self.bullet = False
            if self.out:
                self.out[-1] = self.out[-1].rstrip(" ")
            self.out.append("\n")
        elif tag in self._PARAGRAPHS:
            self._newlines(1 if self.depth else 2)  # Paragraphs inside lists stay tight.
        elif tag in self._LINES:
            self._newlines(1)
            self.cells = 0
        elif tag in ("ul", "ol"):
            self._newlines(1 if self.depth else 2)
            self.depth += 1
        elif tag == "li":
            self._newlines(1)
            self.out.append("  " * max(0, self.depth - 1) + "- ")
            self.bullet = True
        elif tag in ("td", "th"):
            if self.cells:
                self.out.append(" | ")
            self.cells += 1
        elif tag == "a":
            self.links.append((dict(attrs).get("href") or "", len(self.out)))
        elif tag == "img" and (alt := (dict(attrs).get("alt") or "").strip()):
            self.handle_data(f"[{alt}]")

    def handle_endtag(self, tag):
        if tag in self._SKIPPED:
            self.skipping = max(0, self.skipping - 1)
        elif tag in self._PARAGRAPHS:
            self._newlines(1 if self.depth else 2)
        elif tag in self._LINES or tag == "li":
            self._newlines(1)
        elif tag in ("ul", "ol"):
            self.depth = max(0, self.depth - 1)
            self._newlines(1 if self.depth else 2)
        elif tag == "a" and self.links:
            href, start = self.links.pop()
            text = "".join(self.out[start:]).strip()
            url = href.removeprefix("mailto:").removeprefix("tel:")
            if url and not href.startswith("#") and url not in text:
                self.handle_data(f" ({url})" if text else url)

    def handle_data(self, data):
        if self.skipping:
            return
        text = _SPACES.sub(" ", data)
        if self._ends() in (" ", "\n"):
            text = text.lstrip(" ")
        if text:
            self.out.append(text)
            self.bullet = False


def html_to_text(html: str) -> str:
    """A readable plain-text alternative to an HTML body (stdlib ``html.parser`` only).

    Paragraphs and headings become blank-line-separated blocks, ``<br>`` and ``<div>`` line
    breaks, list items ``- `` lines (indented when nested), table cells ``a | b``, links
    ``text (url)``, images their ``[alt]``. Entities are unescaped, runs of whitespace
    collapsed, scripts/styles dropped, and no tag remains.
    """
    extractor = _TextExtractor()
    extractor.feed(html)
    extractor.close()
    lines = [line.rstrip() for line in "".join(extractor.out).split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()

