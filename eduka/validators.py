import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def single_line(value: str) -> None:
    """Names end up in mail headers: no line breaks or other control characters."""
    if _CONTROL.search(value or ""):
        raise ValidationError(_("Line breaks and control characters are not allowed here."),
                              code="control_characters")


def add_single_line(form, *names: str) -> None:
    for name in names:
        if name in form.fields:
            form.fields[name].validators.append(single_line)
