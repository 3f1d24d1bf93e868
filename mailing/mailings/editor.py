"""The rich-text editor of message bodies (compose and templates): django-prose-editor's
ProseMirror/Tiptap served from our own static files, with merge variables as chips.

What the editor sends is never trusted: the body is sanitised with nh3 on save (template code
kept intact) and again per message when sent, and the text alternative is made from each
message's rendered HTML (see MailingRenderer). Chips are only a way of showing
``{{ eleve.prenom }}`` so that the editor cannot break it: the saved HTML holds the plain
variable, turned back into a chip whenever the body is edited again.
"""

import html
import re

from django.utils.translation import gettext_lazy as _
from django_prose_editor.widgets import ProseEditorWidget

from mailing.mailings.templating import VARIABLES

#: What the toolbar offers; the sanitiser (templating.html) keeps a superset of it.
EXTENSIONS = {
    "Bold": True, "Italic": True, "Underline": True,
    "Heading": {"levels": [2, 3]},
    "BulletList": True, "OrderedList": True, "ListItem": True,
    "Blockquote": True, "HardBreak": True,
    "Link": {"enableTarget": False, "protocols": ["http", "https", "mailto", "tel"]},
    "Table": True, "TableRow": True, "TableHeader": True, "TableCell": True,
    "History": True, "MergeVariable": True,
}

#: The toolbar's labels (django-prose-editor writes them in English, outside its gettext):
#: translated here and put in place by static/js/body-editor.js.
MENU_LABELS = {
    "paragraph": _("Paragraph"), "Paragraph": _("Paragraph"),
    "Heading 2": _("Heading 2"), "Heading 3": _("Heading 3"),
    "unordered list": _("Bulleted list"), "ordered list": _("Numbered list"),
    "List properties": _("List properties"), "blockquote": _("Quote"),
    "bold": _("Bold"), "italic": _("Italic"), "underline": _("Underline"),
    "insert link": _("Insert a link"), "remove link": _("Remove the link"),
    "Insert table": _("Insert a table"), "Add column": _("Add a column"),
    "Delete column": _("Delete the column"), "Add row": _("Add a row"),
    "Delete row": _("Delete the row"), "Merge cells": _("Merge the cells"),
    "Split cell": _("Split the cell"), "Toggle header cell": _("Header cell or not"),
    "Delete table": _("Delete the table"), "undo": _("Undo"), "redo": _("Redo"),
}

#: The variables a chip may hold: the scalar ones (a list such as ``enfants`` needs a loop).
CHIP_VARIABLES = [(name, label) for name, label in VARIABLES if "." in name]
_CHIP_NAMES = {name for name, _label in CHIP_VARIABLES}
_VARIABLE = re.compile(r"\{\{\s*([a-z_]+\.[a-z_]+)\s*\}\}")
_TAG = re.compile(r"(<[^>]*>)")


class BodyEditor(ProseEditorWidget):
    """The body's textarea, turned into the editor in the browser (a textarea without
    JavaScript). The initial value is shown with its variables as chips."""

    def __init__(self, attrs=None):
        super().__init__(attrs={"rows": 12, **(attrs or {})}, preset="configurable",
                         config={"extensions": EXTENSIONS})

    def format_value(self, value):
        return chipify(super().format_value(value) or "")


def chipify(body: str) -> str:
    """``{{ eleve.prenom }}`` written in the text of an HTML body, as the editor's chip
    (``<span data-variable="eleve.prenom">``). Only known variables in text, never inside a
    tag's attributes; anything else is left as typed."""
    parts = _TAG.split(body)
    for index in range(0, len(parts), 2):  # even parts are text between tags
        parts[index] = _VARIABLE.sub(_chip, parts[index])
    return "".join(parts)


def _chip(match: re.Match) -> str:
    name = match.group(1)
    if name not in _CHIP_NAMES:
        return match.group(0)
    return f'<span data-variable="{name}">{{{{ {name} }}}}</span>'


def text_to_html(text: str) -> str:
    """A plain-text body (mailings and templates written before the editor) as paragraphs:
    blank lines separate them, single line breaks stay."""
    paragraphs = [part.strip("\n") for part in re.split(r"\n\s*\n", text.replace("\r\n", "\n"))]
    return "".join(f"<p>{html.escape(part, quote=False).replace(chr(10), '<br>')}</p>"
                   for part in paragraphs if part.strip())


def editable_body(body_text: str, body_html: str) -> str:
    """What the editor starts from: the HTML body, or the plain text made into paragraphs."""
    return body_html or text_to_html(body_text)


def has_content(body: str) -> bool:
    """Whether an edited body says anything (the editor's empty state is ``<p></p>``)."""
    return bool(re.sub(r"\s|&nbsp;", "", re.sub(r"<[^>]*>", "", body))) or "<img" in body


__all__ = ["BodyEditor", "CHIP_VARIABLES", "MENU_LABELS", "chipify", "editable_body", "has_content",
           "text_to_html"]
