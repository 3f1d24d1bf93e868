"""Application accesses: a generated user name and password per application.

The password is random (24 characters from a 54-symbol alphabet, about 138 bits), shown once
and stored as a salted HMAC-SHA256: a slow password hash exists to protect guessable human
passwords and would only let anyone stall the submission server's threads; nothing can
guess this one. Comparisons are constant-time, and an unknown user name costs the same
check as a known one (no enumeration by timing).
"""

import hashlib
import hmac
import re
import secrets

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from mailing.models import ApplicationAccess, SendingAccount

# No 0/O, 1/l/I: typed by hand in an application's settings screen as often as pasted.
ALPHABET = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
PASSWORD_LENGTH = 24
SCHEME = "hmac-sha256"
_DUMMY_HASH = f"{SCHEME}${'0' * 32}${'0' * 64}"


def password_hash(password: str, salt: str | None = None) -> str:
    salt = salt or secrets.token_hex(16)
    digest = hmac.new(salt.encode(), password.encode("utf-8"), hashlib.sha256).hexdigest()
    return f"{SCHEME}${salt}${digest}"


def password_matches(password: str, stored: str) -> bool:
    scheme, _, rest = stored.partition("$")
    salt, _, digest = rest.partition("$")
    candidate = password_hash(password, salt).rpartition("$")[2]
    return scheme == SCHEME and hmac.compare_digest(candidate, digest)


def new_password() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(PASSWORD_LENGTH))


def _new_username(account: SendingAccount) -> str:
    stem = re.sub(r"[^a-z0-9]+", "-", account.integrated_local_part.lower()).strip("-")[:40]
    while True:
        username = f"{stem or 'app'}-{secrets.token_hex(3)}"
        if not ApplicationAccess.objects.filter(username=username).exists():
            return username


def access_may_be_created(account: SendingAccount) -> bool:
    return (account.kind == SendingAccount.Kind.INTEGRATED and not account.is_system
            and account.is_configured)


@transaction.atomic
def access_create(*, account: SendingAccount, name: str, user=None) -> tuple[ApplicationAccess,
                                                                             str]:
    """A new access and its password, which is returned here and never again."""
    if not access_may_be_created(account):
        raise ValidationError(_("Only a configured account of the integrated sending service "
                                "can be used by other applications."), code="not_integrated")
    password = new_password()
    access = ApplicationAccess.objects.create(
        account=account, name=" ".join(name.split()), username=_new_username(account),
        password_hash=password_hash(password), created_by=user)
    return access, password


def access_revoke(*, access: ApplicationAccess) -> None:
    ApplicationAccess.objects.filter(pk=access.pk, revoked_at__isnull=True).update(
        revoked_at=timezone.now())


def access_authenticate(username: str, password: str) -> ApplicationAccess | None:
    """The active access these credentials open, on an account that may send; else None."""
    access = (ApplicationAccess.objects.select_related("account")
              .filter(username=username, revoked_at__isnull=True).first())
    stored = access.password_hash if access is not None else _DUMMY_HASH
    if not password_matches(password, stored) or access is None:
        return None
    if not access_may_be_created(access.account) or not access.account.is_active:
        return None
    return access


def access_mark_used(access: ApplicationAccess, peer: str) -> None:
    ApplicationAccess.objects.filter(pk=access.pk).update(last_used_at=timezone.now(),
                                                          last_used_from=peer[:64])
