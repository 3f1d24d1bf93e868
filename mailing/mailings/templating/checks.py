"""Checking a template when it is saved: forbidden tags and filters, syntax errors, unknown
variables and loops nested too deep, each reported with the offending text."""

from __future__ import annotations

from django.conf import settings
from django.template import TemplateSyntaxError
from django.template.base import (
    UNKNOWN_SOURCE,
    FilterExpression,
    Lexer,
    Origin,
    Parser,
    TextNode,
    Token,
    TokenType,
    Variable,
    VariableNode,
    filter_re,
)
from django.template.defaulttags import ForNode, IfNode
from django.utils.translation import gettext

from .sandbox import (
    ALLOWED_FILTERS,
    ALLOWED_TAGS,
    FORLOOP_FIELDS,
    MAILING_VOCABULARY,
    Vocabulary,
    _engine,
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


