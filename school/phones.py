"""Phone numbers as SMS needs them: parsed with `phonenumbers` in the school's country (a
number typed "06 12 34 56 78" in a French school is +33612345678), stored in E.164, and told
apart: a mobile can receive SMS; a landline, an invalid number or none at all cannot, and each
says why in words staff read on the guardian's page and in the recipient count."""

from dataclasses import dataclass

import phonenumbers
from django.utils.translation import gettext_lazy as _

DEFAULT_REGION = "FR"

#: Countries a school may be in, for reading numbers typed without their international prefix:
#: France and its overseas departments and territories (whose mobiles have prefixes of their
#: own: 0690 in Guadeloupe is +590 690), then French-speaking countries.
COUNTRIES = [
    ("FR", _("France")), ("GP", _("Guadeloupe")), ("MQ", _("Martinique")),
    ("GF", _("French Guiana")), ("RE", _("Réunion")), ("YT", _("Mayotte")),
    ("PM", _("Saint Pierre and Miquelon")), ("BL", _("Saint Barthélemy")),
    ("MF", _("Saint Martin")), ("NC", _("New Caledonia")), ("PF", _("French Polynesia")),
    ("WF", _("Wallis and Futuna")), ("MC", _("Monaco")), ("BE", _("Belgium")),
    ("LU", _("Luxembourg")), ("CH", _("Switzerland")), ("CA", _("Canada")),
    ("MA", _("Morocco")), ("TN", _("Tunisia")), ("SN", _("Senegal")),
    ("CI", _("Côte d'Ivoire")),
]
_MOBILE_TYPES = {phonenumbers.PhoneNumberType.MOBILE,
                 phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE}


@dataclass(frozen=True)
class Phone:
    """What a typed number is. `e164` is set whenever it is a valid number; `reason` says why
    it cannot receive SMS, empty for a mobile."""

    typed: str
    e164: str
    reason: str

    @property
    def is_mobile(self) -> bool:
        return bool(self.e164) and not self.reason


NO_NUMBER = _("no phone number")
INVALID = _("not a valid phone number")
LANDLINE = _("a landline, which cannot receive SMS")


def parse(typed: str, region: str = DEFAULT_REGION) -> Phone:
    typed = (typed or "").strip()
    if not typed:
        return Phone(typed, "", str(NO_NUMBER))
    try:
        number = phonenumbers.parse(typed, region or DEFAULT_REGION)
    except phonenumbers.NumberParseException:
        return Phone(typed, "", str(INVALID))
    if not phonenumbers.is_valid_number(number):
        return Phone(typed, "", str(INVALID))
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    if phonenumbers.number_type(number) not in _MOBILE_TYPES:
        return Phone(typed, e164, str(LANDLINE))
    return Phone(typed, e164, "")


def normalized(typed: str, region: str = DEFAULT_REGION) -> str:
    """What to store: E.164 for a valid number, the typed text otherwise (kept, and flagged,
    rather than lost)."""
    return parse(typed, region).e164 or (typed or "").strip()


def display(stored: str, region: str = DEFAULT_REGION) -> str:
    """A stored number as people read it: national format for the school's own country
    ("06 12 34 56 78"), international otherwise ("+32 470 12 34 56")."""
    try:
        number = phonenumbers.parse(stored, region or DEFAULT_REGION)
    except phonenumbers.NumberParseException:
        return stored
    if not phonenumbers.is_valid_number(number):
        return stored
    same = phonenumbers.region_code_for_number(number) == (region or DEFAULT_REGION)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL if same
                                      else phonenumbers.PhoneNumberFormat.INTERNATIONAL)
