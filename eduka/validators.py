"""Validators shared by every form (single-line text, no control characters)."""

import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

# Every character str.splitlines() splits on (\n \r \v \f \x1c-\x1e \x85 U+2028 U+2029) plus the
# other C0 controls and DEL: a mail parser or a log reader may treat any of them as a new line.
_CONTROL = re.compile(r"[\x00-\x1f\x7f\x85\u2028\u2029]")


def has_line_break(value: str) -> bool:
    """True if ``value`` holds a line break of any kind, or another control character."""
    value = value or ""
    return bool(_CONTROL.search(value)) or len(value.splitlines()) > 1


def single_line(value: str) -> None:
    """Names and subjects end up in mail headers: no line breaks or other control characters."""
    if has_line_break(value):
        raise ValidationError(_("Line breaks and control characters are not allowed here."),
                              code="control_characters")


def add_single_line(form, *names: str) -> None:
    for name in names:
        if name in form.fields:
            form.fields[name].validators.append(single_line)
