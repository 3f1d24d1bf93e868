"""Mail-merge templates written by school staff (subjects, plain-text and HTML bodies).

Security model
--------------
* Templates are rendered by a dedicated, sandboxed :class:`django.template.Engine` — never the
  project's engine. It has no loaders, no template directories, no libraries and, as builtins,
  only the tags and filters of :data:`ALLOWED_TAGS` and :data:`ALLOWED_FILTERS` (the default
  ``defaulttags``/``defaultfilters``/``loader_tags`` builtins are *not* installed). So even a
  template that skipped validation could not ``{% load %}``, ``{% include %}`` or ``{% url %}``.
* Templates are validated when saved (:func:`template_errors`): forbidden tags and filters, syntax
  errors and unknown variables are reported to the author, with the offending text named.
* The context is plain data (dicts, lists, strings, numbers, dates) built by the application;
  :meth:`CompiledTemplate.render` refuses anything else, so a template can never reach a model, a
  setting or a secret.

Typical use::

    template = compile_template(mailing.body_html, html=True)   # once per mailing
    for recipient in recipients:                               # thousands of times
        html = sanitize_html(template.render(context_for(recipient)))
        text = html_to_text(html)
"""

from __future__ import annotations

import functools
import re
import time as clock
from collections.abc import Mapping
from datetime import date, datetime, time
from decimal import Decimal
from html.parser import HTMLParser

import nh3
from django.conf import settings
from django.template import Context, Engine, Library, TemplateSyntaxError, defaultfilters
from django.template import defaulttags as django_defaulttags
from django.template.base import (
    UNKNOWN_SOURCE,
    FilterExpression,
    Lexer,
    Node,
    Origin,
    Parser,
    Template,
    TextNode,
    Token,
    TokenType,
    Variable,
    VariableNode,
    filter_re,
)
from django.template.defaulttags import ForNode, IfNode
from django.utils.functional import Promise
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

__all__ = [
    "ALLOWED_FILTERS",
    "ALLOWED_TAGS",
    "VARIABLES",
    "CompiledTemplate",
    "MAILING_VOCABULARY",
    "RenderBudget",
    "RenderLimitExceeded",
    "TemplateProblem",
    "Vocabulary",
    "compile_template",
    "html_to_text",
    "sample_context",
    "sanitize_html",
    "template_errors",
]

# --------------------------------------------------------------------------------------------
# What staff may use
# --------------------------------------------------------------------------------------------

#: Variables offered to staff in the composer's pick list: ``(name, label)``. Labels are lazy.
VARIABLES: list[tuple[str, str]] = [
    ("eleve.prenom", _("Pupil's first name")),
    ("eleve.nom", _("Pupil's last name")),
    ("eleve.classe", _("Pupil's class")),
    ("parent.civilite", _("Parent's title (Mr, Mrs…)")),
    ("parent.prenom", _("Parent's first name")),
    ("parent.nom", _("Parent's last name")),
    ("parent.email", _("Parent's e-mail address")),
    ("ecole.nom", _("School name")),
    ("ecole.adresse", _("School address")),
    ("ecole.telephone", _("School telephone number")),
    ("destinataire.email", _("Recipient's e-mail address")),
    ("enfants", _("The parent's children (a list, for a loop)")),
]

ALLOWED_TAGS = {"if", "elif", "else", "endif", "for", "empty", "endfor"}

ALLOWED_FILTERS = {
    "upper", "lower", "title", "capfirst", "default", "date", "join", "length", "first", "last",
    "linebreaksbr",
}

#: List variables (usable as ``{% for x in name %}``) and the fields of each item.
LIST_VARIABLES: dict[str, frozenset[str]] = {"enfants": frozenset({"prenom", "nom", "classe"})}

#: ``forloop`` attributes available inside a loop.
FORLOOP_FIELDS = frozenset({"counter", "counter0", "revcounter", "revcounter0", "first", "last"})



class Vocabulary:
    """What a family of templates may name: its variables and its list variables.

    Mailings use :data:`MAILING_VOCABULARY`; the System account's automated mail declares one
    per kind of message (see mailing/system_templates.py)."""

    __slots__ = ("paths", "roots", "lists", "item_fields", "loop_example")

    def __init__(self, variables, lists: dict[str, frozenset[str]] | None = None):
        self.paths = frozenset(name for name, _label in variables)
        self.roots = frozenset(name.split(".")[0] for name in self.paths)
        self.lists = dict(lists or {})
        self.item_fields = frozenset().union(*self.lists.values())
        first = next(iter(self.lists), "enfants")
        item = "enfant" if first == "enfants" else "item"
        self.loop_example = f"{{% for {item} in {first} %}} … {{% endfor %}}"


MAILING_VOCABULARY = Vocabulary(VARIABLES, LIST_VARIABLES)


# --------------------------------------------------------------------------------------------
# The sandboxed engine
# --------------------------------------------------------------------------------------------

#: The only template library the sandboxed engine knows (loaded as its sole builtin).
register = Library()
for _name in ("if", "for"):  # elif/else/endif/empty/endfor are parsed by these two.
    register.tags[_name] = django_defaulttags.register.tags[_name]
for _name in sorted(ALLOWED_FILTERS):
    register.filters[_name] = defaultfilters.register.filters[_name]
del _name


class _SandboxEngine(Engine):
    # Engine always prepends these (defaulttags, defaultfilters, loader_tags); we want none.
    default_builtins: list[str] = []


@functools.cache
def _engine() -> Engine:
    return _SandboxEngine(
        dirs=[],
        app_dirs=False,
        loaders=[],
        libraries={},
        builtins=[__name__],
        string_if_invalid="",
        debug=False,
        autoescape=True,  # The effective value is chosen per render (see CompiledTemplate).
    )


# --------------------------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------------------------


class TemplateProblem(Exception):
    """Raised by :func:`compile_template` when a template is refused; ``.messages`` lists why."""

    def __init__(self, messages: list[str]):
        self.messages = list(messages)
        super().__init__("\n".join(self.messages))


class _Problems(dict):
    """An ordered set of translated messages, and the vocabulary being checked against."""

    def __init__(self, vocabulary: Vocabulary = MAILING_VOCABULARY):
        super().__init__()
        self.vocabulary = vocabulary
        self.loop_depth = 0  # Loops open around the node being checked.

    def add(self, message: str) -> None:
        self[message] = None


def _refused_filter(value, arg=None):  # Stand-in so parsing can go on and report everything.
    return ""


def _token_text(token: Token) -> str:
    contents = token.contents.strip()
    if token.token_type is TokenType.VAR:
        return f"{{{{ {contents} }}}}" if contents else "{{ }}"
    if token.token_type is TokenType.BLOCK:
        return f"{{% {contents} %}}" if contents else "{% %}"
    return contents


def _variable_text(path: str) -> str:
    return f"{{{{ {path} }}}}"


class _InspectingParser(Parser):
    """Django's parser, made to collect problems (filters, odd variables) instead of stopping."""

    def __init__(self, tokens, problems: _Problems):
        engine = _engine()
        super().__init__(
            tokens,
            libraries=engine.template_libraries,
            builtins=engine.template_builtins,
            origin=Origin(UNKNOWN_SOURCE),
        )
        self.problems = problems

    def find_filter(self, filter_name):
        if filter_name in ALLOWED_FILTERS:
            return super().find_filter(filter_name)
        self.problems.add(
            gettext("The filter “%(filter)s” is not allowed.") % {"filter": filter_name}
        )
        return _refused_filter

    def compile_filter(self, token):
        try:
            expression = super().compile_filter(token)
        except TemplateSyntaxError:
            # Typically a name starting with an underscore (``eleve.__class__``): Django refuses
            # those outright. Name the variable if we can, else let the syntax error through.
            names = [
                name
                for match in filter_re.finditer(token)
                for name in (match.group("var"), match.group("var_arg"))
                if name and any(part.startswith("_") for part in name.split("."))
            ]
            if not names:
                raise
            for name in names:
                self.problems.add(_unknown_variable_message(name))
            return FilterExpression('""', self)
        if expression.is_var and ".." in expression.var.var:
            # Django maps "a..b" to a lookup of "" (deprecated, warns); it is never a known name.
            self.problems.add(_unknown_variable_message(expression.var.var))
            return FilterExpression('""', self)
        return expression

    def invalid_block_tag(self, token, command, parse_until=None):
        if parse_until:
            super().invalid_block_tag(token, command, parse_until)
        raise self.error(token, gettext("this tag has no matching opening tag."))


def _unknown_variable_message(path: str) -> str:
    return gettext("“%(variable)s” is not a known variable.") % {"variable": _variable_text(path)}


def _syntax_message(error: TemplateSyntaxError) -> str:
    token = getattr(error, "token", None)
    if token is None:
        return gettext("Syntax error: %(error)s") % {"error": error}
    return gettext("Syntax error in “%(token)s” (line %(line)s): %(error)s") % {
        "token": _token_text(token),
        "line": token.lineno,
        "error": error,
    }


def _check_path(lookups: tuple[str, ...], scope: dict[str, frozenset[str]], problems: _Problems):
    path = ".".join(lookups)
    root = lookups[0]
    vocabulary = problems.vocabulary
    if len(lookups) > 2:
        problems.add(
            gettext("“%(variable)s” goes too deep: use at most one dot, as in “%(example)s”.")
            % {"variable": _variable_text(path), "example": "{{ eleve.prenom }}"}
        )
    elif root in scope:  # A loop variable (or forloop) shadows any global of the same name.
        if len(lookups) != 2 or lookups[1] not in scope[root]:
            problems.add(_unknown_variable_message(path))
    elif path in vocabulary.paths:
        pass
    elif (root not in vocabulary.roots and len(lookups) == 2
          and lookups[1] in vocabulary.item_fields):
        problems.add(
            gettext(
                "“%(variable)s” is only available inside a loop such as “%(example)s”."
            )
            % {"variable": _variable_text(path), "example": vocabulary.loop_example}
        )
    else:
        problems.add(_unknown_variable_message(path))


def _check_value(value, scope, problems: _Problems) -> None:
    if isinstance(value, Variable) and value.lookups is not None:
        _check_path(value.lookups, scope, problems)
    # Otherwise a literal: a quoted string, a number or _("…").


def _check_expression(expression: FilterExpression, scope, problems: _Problems) -> None:
    _check_value(expression.var, scope, problems)
    for _func, args in expression.filters:
        for is_variable, arg in args:
            if is_variable:
                _check_value(arg, scope, problems)


def _check_condition(condition, scope, problems: _Problems) -> None:
    """Walk an ``{% if %}`` condition tree (django.template.smartif)."""
    if isinstance(condition.value, FilterExpression):
        _check_expression(condition.value, scope, problems)
    for operand in (condition.first, condition.second):
        if operand is not None:
            _check_condition(operand, scope, problems)


def _check_nodes(nodelist, scope: dict[str, frozenset[str]], problems: _Problems) -> None:
    for node in nodelist:
        if isinstance(node, TextNode):
            continue
        if isinstance(node, VariableNode):
            _check_expression(node.filter_expression, scope, problems)
        elif isinstance(node, IfNode):
            for condition, body in node.conditions_nodelists:
                if condition is not None:
                    _check_condition(condition, scope, problems)
                _check_nodes(body, scope, problems)
        elif isinstance(node, ForNode):
            _check_for(node, scope, problems)
        else:  # Cannot happen with the sandbox's builtins; refuse rather than trust.
            problems.add(gettext("“%(tag)s” is not allowed.") % {"tag": _token_text(node.token)})


def _check_for(node: ForNode, scope, problems: _Problems) -> None:
    sequence = node.sequence
    _check_expression(sequence, scope, problems)
    lookups = sequence.var.lookups if sequence.is_var else None
    fields = None
    if lookups and len(lookups) == 1 and lookups[0] not in scope:
        fields = problems.vocabulary.lists.get(lookups[0])
    if fields is None:
        problems.add(
            gettext("“%(tag)s”: you can only loop over %(lists)s, as in “%(example)s”.")
            % {
                "tag": _token_text(node.token),
                "lists": ", ".join(f"“{name}”" for name in problems.vocabulary.lists),
                "example": problems.vocabulary.loop_example,
            }
        )
        fields = frozenset()
    if len(node.loopvars) != 1:
        problems.add(
            gettext("“%(tag)s”: a loop names a single item, as in “%(example)s”.")
            % {"tag": _token_text(node.token), "example": problems.vocabulary.loop_example}
        )
    # Each nested loop multiplies the output: a few short nested loops can make a page of
    # hundreds of megabytes. Rendering is capped too (RenderBudget); this says it up front.
    limit = settings.MAILING_TEMPLATE_MAX_LOOP_DEPTH
    if problems.loop_depth + 1 > limit:
        problems.add(
            gettext("Loops may be nested at most %(limit)s deep.") % {"limit": limit})
    inner = {**scope, "forloop": FORLOOP_FIELDS}
    inner.update({name: fields for name in node.loopvars})
    problems.loop_depth += 1
    try:
        _check_nodes(node.nodelist_loop, inner, problems)
    finally:
        problems.loop_depth -= 1
    _check_nodes(node.nodelist_empty, scope, problems)


def template_errors(source: str, vocabulary: Vocabulary = MAILING_VOCABULARY) -> list[str]:
    """Return the problems of a mail-merge template, or ``[]`` when it may be saved.

    Messages are translated (active language), human-readable, and name what is wrong:

    * tags other than :data:`ALLOWED_TAGS` (``{% load %}``, ``{% include %}``, ``{% url %}``…);
    * filters other than :data:`ALLOWED_FILTERS` (``|safe``, ``|pprint``…);
    * variables that are not in :data:`VARIABLES` (``{{ eleve.age }}``, ``{{ settings.X }}``),
      that go deeper than ``root.attribute``, or that start with an underscore;
    * loop-item variables (``{{ enfant.prenom }}``) used outside ``{% for enfant in enfants %}``,
      loops over anything but a list variable;
    * syntax errors (unclosed ``{% if %}``, empty ``{{ }}``…), quoting the faulty token and line.
      Parsing stops at the first syntax error, so later problems show once it is fixed.

    Never raises on bad input. Tokenising and parsing are Django's own (Lexer/Parser).
    """
    problems = _Problems(vocabulary)
    tokens = []
    for token in Lexer(source).tokenize():
        if token.token_type is TokenType.BLOCK:
            bits = token.split_contents()
            name = bits[0] if bits else ""
            if name and name not in ALLOWED_TAGS:
                if name.startswith("end") and len(name) > 3:
                    name = name[3:]  # Report {% endblock %} as the {% block %} tag it closes.
                problems.add(
                    gettext("The tag “%(tag)s” is not allowed.") % {"tag": f"{{% {name} %}}"}
                )
                continue  # Drop it, so the rest can still be checked.
        tokens.append(token)
    try:
        nodelist = _InspectingParser(tokens, problems).parse()
    except TemplateSyntaxError as error:
        problems.add(_syntax_message(error))
    else:
        _check_nodes(nodelist, {}, problems)
    return list(problems)


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
