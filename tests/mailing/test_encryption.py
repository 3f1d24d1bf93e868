import io
import json
import logging

import pytest
from cryptography.fernet import Fernet
from django.core.management import CommandError, call_command
from django.db import connection

from mailing.models import SendingAccount
from mailing.sending_accounts.fields import PREFIX

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


def test_it_loads_an_unreadable_password_as_unreadable_and_keeps_its_token(settings):
    account = _account()
    token = _raw_password(account.pk)
    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    loaded = SendingAccount.objects.get(pk=account.pk)  # no error: one row degrades
    assert loaded.password_unreadable and not loaded.has_password
    assert "espaces" not in repr(loaded.password)
    loaded.name = "Gmail (renamed)"
    loaded.save()
    assert _raw_password(account.pk) == token  # kept until a new password replaces it


def test_the_key_rotation_reports_unreadable_rows_instead_of_crashing(settings):
    lost = _account(name="Lost")  # encrypted with a key about to be dropped too early
    lost_token = _raw_password(lost.pk)
    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    readable = _account(name="Readable")
    out, err = io.StringIO(), io.StringIO()
    with pytest.raises(CommandError, match="1 rows hold a secret"):
        call_command("rotate_encryption_key", stdout=out, stderr=err)
    assert f"mailing.SendingAccount #{lost.pk} (password)" in err.getvalue()
    assert _raw_password(lost.pk) == lost_token
    assert SendingAccount.objects.get(pk=readable.pk).password == SECRET
