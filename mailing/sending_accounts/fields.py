"""Secrets at rest: a text field encrypted with MultiFernet (keys from FIELD_ENCRYPTION_KEYS).

In memory the attribute holds the plain secret, exactly as typed (spaces included); in the
database, in `dumpdata` and in fixtures it is only ever the token. The newest key encrypts;
every listed key decrypts, so keys rotate by prepending a new one and running
`manage.py rotate_encryption_key`.

A stored token that no listed key decrypts (its key was dropped too early) loads as an
`UnreadableSecret`, not as an error: one account shows "password unreadable — enter it again"
while every page that lists accounts keeps working, and the token is written back unchanged
until a new secret replaces it (so re-adding the key still recovers it).
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


def seal(value: str) -> str:
    """An opaque token for a value that must cross the broker (Redis) without being readable
    there, such as an e-mail address typed by a visitor: Celery messages carry ids and sealed
    values only."""
    return fernet().encrypt(value.encode("utf-8")).decode("ascii")


def unseal(token: str, *, max_age: int) -> str | None:
    """The sealed value, or None if the token is forged, damaged or older than `max_age` s."""
    try:
        return fernet().decrypt(token.encode("ascii"), ttl=max_age).decode("utf-8")
    except (InvalidToken, ValueError):
        return None


class UnreadableSecret(str):
    """A stored secret no configured key decrypts. Compares and prints as "" (so it is never
    used as a password by mistake, and `bool()` is False) and keeps the stored token."""

    token: str

    def __new__(cls, token: str):
        secret = super().__new__(cls, "")
        secret.token = token
        return secret

    def __repr__(self):
        return "<UnreadableSecret>"


def is_unreadable(value) -> bool:
    return isinstance(value, UnreadableSecret)


class EncryptedTextField(models.TextField):
    """Holds a secret; empty string means "no secret"."""

    def from_db_value(self, value, expression, connection):
        if not value:
            return value
        fernet()  # an empty or malformed key list is the site's misconfiguration: it raises
        try:
            return decrypt(value)
        except (ImproperlyConfigured, ValueError, UnicodeError):
            return UnreadableSecret(value)

    def to_python(self, value):
        # Fixtures and `loaddata` carry the token; forms and code carry the plain secret.
        if isinstance(value, str) and value.startswith(PREFIX):
            return decrypt(value)
        return value

    def get_prep_value(self, value):
        if isinstance(value, UnreadableSecret):
            return value.token  # kept as stored until a new secret replaces it
        value = super().get_prep_value(value)
        if not value:
            return value or ""
        return encrypt(value)

    def value_to_string(self, obj):
        # `dumpdata` and serializers get the token, never the secret.
        return self.get_prep_value(self.value_from_object(obj))
