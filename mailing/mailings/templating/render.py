"""Rendering a checked template over plain values, within the output and time caps."""

from __future__ import annotations

import time as clock
from collections.abc import Mapping
from datetime import date, datetime, time
from decimal import Decimal

from django.conf import settings
from django.template import Context, defaultfilters
from django.template.base import (
    Node,
    Template,
    TextNode,
    VariableNode,
)
from django.utils.functional import Promise
from django.utils.translation import gettext

from .checks import TemplateProblem, template_errors
from .sandbox import MAILING_VOCABULARY, Vocabulary, _engine

# --------------------------------------------------------------------------------------------
# Compilation and rendering
# --------------------------------------------------------------------------------------------

_SCALARS = (bool, int, float, Decimal, date, datetime, time, type(None))


def _plain(value):
    """A copy of ``value`` made only of dicts, lists and scalars; TypeError on anything else."""
    if isinstance(value, str):
        return str.__str__(value)  # Drops SafeString: caller data is always escaped in HTML.
    if isinstance(value, _SCALARS):
        return value
    if isinstance(value, Promise):
        return str(value)
    if isinstance(value, Mapping):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    raise TypeError(
        f"Mail-merge contexts hold plain data only (dict, list, str, numbers, dates), "
        f"not {type(value).__name__}."
    )


class RenderLimitExceeded(Exception):
    """A message grew past ``MAILING_RENDER_MAX_BYTES`` or rendered for longer than
    ``MAILING_RENDER_MAX_SECONDS``; ``str()`` is a translated reason fit to record and show."""


class RenderBudget:
    """What one message may still produce, and until when. Shared by its subject, text and
    HTML, and checked as each piece of output is produced (not on the finished page), so a
    runaway template stops at the cap instead of building hundreds of megabytes first."""

    __slots__ = ("max_bytes", "remaining", "deadline", "max_seconds")

    def __init__(self, *, max_bytes: int | None = None, max_seconds: float | None = None):
        self.max_bytes = settings.MAILING_RENDER_MAX_BYTES if max_bytes is None else max_bytes
        self.max_seconds = (settings.MAILING_RENDER_MAX_SECONDS if max_seconds is None
                            else max_seconds)
        self.remaining = self.max_bytes
        self.deadline = clock.monotonic() + self.max_seconds

    def check_time(self) -> None:
        if clock.monotonic() > self.deadline:
            raise RenderLimitExceeded(
                gettext("The message took longer than %(seconds)s seconds to prepare: simplify "
                        "its loops.") % {"seconds": f"{self.max_seconds:g}"})

    def spend(self, text: str) -> None:
        self.remaining -= len(text) if text.isascii() else len(text.encode("utf-8"))
        if self.remaining < 0:
            raise RenderLimitExceeded(
                gettext("The message is larger than %(size)s once filled in: shorten it or "
                        "simplify its loops.") % {"size": defaultfilters.filesizeformat(
                            self.max_bytes)})
        self.check_time()


def _metered(node: Node) -> None:
    """Make ``node`` charge what it renders to the budget carried by the context.

    Only leaves (text and variables) are charged: what a loop or a condition renders is made
    of its leaves, already counted. Loops and conditions check the clock each time they start,
    so nested loops with no output still stop at the time cap."""
    render = node.render_annotated
    if isinstance(node, TextNode | VariableNode):
        def render_annotated(context):
            output = render(context)
            context.eduka_budget.spend(output)
            return output
    else:
        def render_annotated(context):
            context.eduka_budget.check_time()
            return render(context)
    node.render_annotated = render_annotated


class CompiledTemplate:
    """A validated template, parsed once; :meth:`render` it once per recipient.

    Build it with :func:`compile_template`, which validates first.
    """

    __slots__ = ("html", "source", "_template")

    def __init__(self, source: str, *, html: bool = False):
        self.source = source
        self.html = html
        self._template = Template(source, engine=_engine())
        for node in self._template.nodelist.get_nodes_by_type(Node):
            _metered(node)

    def __repr__(self) -> str:
        return f"<CompiledTemplate html={self.html} source={self.source[:40]!r}>"

    def render(self, context: Mapping[str, object], budget: RenderBudget | None = None) -> str:
        """Render for one recipient; returns a plain ``str`` (not a SafeString).

        ``context`` must be plain data (see :func:`sample_context`); a missing key renders as
        ``""`` and never raises. Variables are HTML-escaped if the template was compiled with
        ``html=True`` and left as-is otherwise. Raises ``TypeError`` if the context holds
        anything but dicts, lists, strings, numbers, dates or None (a programming error), and
        :class:`RenderLimitExceeded` past the ``budget`` (by default a fresh one: the settings'
        caps), shared by the parts of one message.
        """
        template_context = Context(_plain(context), autoescape=self.html)
        template_context.eduka_budget = budget or RenderBudget()
        rendered = self._template.render(template_context)
        return str.__str__(rendered)


def compile_template(source: str, *, html: bool = False,
                     vocabulary: Vocabulary = MAILING_VOCABULARY) -> CompiledTemplate:
    """Validate ``source`` then compile it once, for reuse with every recipient.

    Raises :class:`TemplateProblem` (with the :func:`template_errors` messages) if refused.
    ``html=False`` (subjects, plain-text bodies): no escaping. ``html=True``: autoescaping on.
    """
    problems = template_errors(source, vocabulary)
    if problems:
        raise TemplateProblem(problems)
    return CompiledTemplate(source, html=html)


def sample_context() -> dict:
    """A realistic context (fresh copy each call), for previews and tests.

    It shows the shape the application must build for each recipient.
    """
    enfants = [
        {"prenom": "Léa", "nom": "Dubois", "classe": "CM2 B"},
        {"prenom": "Noé", "nom": "Dubois", "classe": "CE1 A"},
    ]
    return {
        "eleve": dict(enfants[0]),
        "parent": {
            "civilite": "Madame",
            "prenom": "Françoise",
            "nom": "Dubois",
            "email": "francoise.dubois@example.org",
        },
        "ecole": {
            "nom": "École élémentaire Jean-Jaurès",
            "adresse": "12 rue des Écoles, 69003 Lyon",
            "telephone": "01 99 00 12 34",
        },
        "destinataire": {"email": "francoise.dubois@example.org"},
        "enfants": enfants,
    }


