"""Settings of the rich-text editor of message bodies (django-prose-editor): our own Tiptap
extension, merge variables shown as chips (static/js/merge-variables.js); imported by
settings/base.py."""

from django.utils.functional import lazy
from django_prose_editor.config import html_tags


def _static(path: str) -> str:
    from django.templatetags.static import static  # the static files' URL, at request time

    return static(path)


DJANGO_PROSE_EDITOR_EXTENSIONS = [{
    "js": [lazy(_static, str)("js/merge-variables.js")],
    "extensions": {"MergeVariable": html_tags(["span"], {"span": ["data-variable"]})},
}]
