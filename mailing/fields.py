"""Secrets at rest: a text field encrypted with MultiFernet (keys from FIELD_ENCRYPTION_KEYS).

In memory the attribute holds the plain secret, exactly as typed (spaces included); in the
database, in `dumpdata` and in fixtures it is only ever the token. The newest key encrypts;
every listed key decrypts, so keys rotate by prepending a new one and running
`manage.py rotate_encryption_key`.
"""

from functools import cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models

PREFIX = "enc:fernet:v1:"


@cache
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    if not keys:
        raise ImproperlyConfigured("FIELD_ENCRYPTION_KEYS is empty: secrets cannot be stored.")
    try:
        return MultiFernet([Fernet(key) for key in keys])
    except ValueError as error:
        raise ImproperlyConfigured(
            "FIELD_ENCRYPTION_KEYS holds a key that is not a Fernet key (32 url-safe "
            "base64-encoded bytes)."
        ) from error


def fernet() -> MultiFernet:
    return _fernet(tuple(settings.FIELD_ENCRYPTION_KEYS))


def encrypt(secret: str) -> str:
    return PREFIX + fernet().encrypt(secret.encode("utf-8")).decode("ascii")


def decrypt(stored: str) -> str:
    if not stored.startswith(PREFIX):
        raise ValueError("not an encrypted value")
    try:
        return fernet().decrypt(stored[len(PREFIX):].encode("ascii")).decode("utf-8")
    except InvalidToken:
        # Never echo the value: say which setting to fix.
        raise ImproperlyConfigured(
            "A stored secret cannot be decrypted with FIELD_ENCRYPTION_KEYS: the key that "
            "encrypted it is missing from the list."
        ) from None


class EncryptedTextField(models.TextField):
    """Holds a secret; empty string means "no secret"."""

    def from_db_value(self, value, expression, connection):
        if not value:
            return value
        return decrypt(value)

    def to_python(self, value):
        # Fixtures and `loaddata` carry the token; forms and code carry the plain secret.
        if isinstance(value, str) and value.startswith(PREFIX):
            return decrypt(value)
        return value

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if not value:
            return value or ""
        return encrypt(value)

    def value_to_string(self, obj):
        # `dumpdata` and serializers get the token, never the secret.
        return self.get_prep_value(self.value_from_object(obj))
