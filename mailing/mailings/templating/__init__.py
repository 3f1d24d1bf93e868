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

from .checks import TemplateProblem, template_errors
from .html import html_to_text, sanitize_html
from .render import (
                     CompiledTemplate,
                     RenderBudget,
                     RenderLimitExceeded,
                     compile_template,
                     sample_context,
)
from .sandbox import ALLOWED_FILTERS, ALLOWED_TAGS, MAILING_VOCABULARY, VARIABLES, Vocabulary

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
