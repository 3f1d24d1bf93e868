from pathlib import Path

from babel.messages.pofile import read_po
from django.conf import settings
from django.test import Client
from django.utils import translation


def _catalog():
    path = Path(settings.BASE_DIR) / "locale" / "fr" / "LC_MESSAGES" / "django.po"
    with path.open("rb") as handle:
        return read_po(handle)


def test_it_translates_every_message_into_french():
    catalog = _catalog()
    untranslated = [m.id for m in catalog if m.id and not all(
        m.string if isinstance(m.string, tuple) else [m.string])]
    fuzzy = [m.id for m in catalog if m.id and m.fuzzy]
    assert untranslated == []
    assert fuzzy == []


def test_it_keeps_placeholders_in_translations():
    import re

    placeholder = re.compile(r"%\(\w+\)[sd]|\{\{ ?\w+ ?\}\}")
    for message in _catalog():
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        expected = set(placeholder.findall(ids[-1]))
        for string in strings:
            assert set(placeholder.findall(string)) <= expected | set(placeholder.findall(ids[0]))


def test_it_uses_the_compiled_catalogue():
    with translation.override("fr"):
        assert translation.gettext("Changes saved.") == "Modifications enregistrées."


def test_it_speaks_french_without_any_language_hint(db):
    response = Client().get("/accounts/login/")
    assert '<html lang="fr">' in response.content.decode()
