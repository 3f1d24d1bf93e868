import io
import json
import logging

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.db import connection

from mailing.fields import PREFIX
from mailing.models import SendingAccount

pytestmark = pytest.mark.django_db
SECRET = "  mot de passe avec espaces  "


def _account(**fields):
    defaults = {"name": "Gmail", "kind": "external", "smtp_host": "smtp.example.org",
                "smtp_port": 587, "from_email": "ecole@example.org", "username": "ecole",
                "password": SECRET}
    return SendingAccount.objects.create(**{**defaults, **fields})


def _raw_password(pk):
    with connection.cursor() as cursor:
        cursor.execute("SELECT password FROM mailing_sendingaccount WHERE id = %s", [pk])
        return cursor.fetchone()[0]


def test_it_stores_only_the_encrypted_token_and_gives_back_the_exact_secret():
    account = _account()
    raw = _raw_password(account.pk)
    assert raw.startswith(PREFIX)
    assert "espaces" not in raw
    assert SendingAccount.objects.get(pk=account.pk).password == SECRET


def test_it_keeps_secrets_out_of_dumps_and_reprs(caplog):
    account = _account()
    out = io.StringIO()
    call_command("dumpdata", "mailing.sendingaccount", stdout=out)
    assert "espaces" not in out.getvalue()
    assert "espaces" not in repr(account)
    [row] = [r for r in json.loads(out.getvalue()) if r["pk"] == account.pk]
    assert row["fields"]["password"].startswith(PREFIX)
    logging.getLogger("test").info("account %r", account)
    assert "espaces" not in caplog.text


def test_it_rotates_to_a_new_key_and_old_keys_still_decrypt(settings):
    account = _account()
    old_key = settings.FIELD_ENCRYPTION_KEYS[0]
    new_key = Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEYS = [new_key, old_key]
    assert SendingAccount.objects.get(pk=account.pk).password == SECRET  # old key decrypts
    call_command("rotate_encryption_key", stdout=io.StringIO())
    settings.FIELD_ENCRYPTION_KEYS = [new_key]  # the old key is gone
    assert SendingAccount.objects.get(pk=account.pk).password == SECRET


def test_it_refuses_clearly_when_the_key_is_missing(settings):
    from django.core.exceptions import ImproperlyConfigured

    account = _account()
    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    with pytest.raises(ImproperlyConfigured) as error:
        SendingAccount.objects.get(pk=account.pk)
    assert "espaces" not in str(error.value)
