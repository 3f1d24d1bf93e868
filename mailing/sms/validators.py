"""What an SMS sender name may be: an alphanumeric sender ID of 3 to 11 characters with at
least one letter (operators refuse or rewrite anything else; all digits would read as a
number people could call back)."""

import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

_SENDER_ID = re.compile(r"[A-Za-z0-9]{3,11}")


def validate_sender_id(value: str) -> None:
    if value and not (_SENDER_ID.fullmatch(value) and re.search(r"[A-Za-z]", value)):
        raise ValidationError(
            _("Use 3 to 11 letters or digits, at least one letter, without spaces or accents "
              "(e.g. COLLEGEJM)."), code="sender_id")
