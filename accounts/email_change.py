"""A user changes their e-mail address (their login) after proving they own the new one.

Nothing changes until the link mailed to the new address is confirmed. The link is a Django
signature with its own salt, expiring after EMAIL_VALIDATION_TIMEOUT, over the new address and
a digest of the account's current address and password: it dies once the address changed (so
it works once) and when the password changes. The signed payload is readable by whoever holds
the link, hence a digest rather than the old address itself. Opening the link (GET) shows a
confirm button; only the POST applies, so mail scanners consume nothing.

The request only enqueues: whether the new address is free or already has an account is
decided by the worker, which mails either the link or "an account already uses this address".
The requester sees the same page and the request does the same work either way.
"""

from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.translation import gettext as _

from .models import User

SALT = "eduka.accounts.email-change"


def _state(user: User, new_email: str) -> str:
    return salted_hmac(SALT, f"{user.pk}:{user.email.lower()}:{user.password}:"
                             f"{new_email.lower()}", algorithm="sha256").hexdigest()[:32]


def change_token(user: User, new_email: str) -> str:
    return signing.dumps({"u": user.pk, "e": new_email, "s": _state(user, new_email)},
                         salt=SALT, compress=True)


def change_for_token(token: str) -> tuple[User, str] | None:
    """(user, new address) for a valid, unexpired, unused token; None otherwise."""
    try:
        data = signing.loads(token, salt=SALT, max_age=settings.EMAIL_VALIDATION_TIMEOUT)
    except signing.BadSignature:  # tampered, truncated or expired
        return None
    new_email = data.get("e") or ""
    user = User.objects.filter(pk=data.get("u"), is_active=True).first()
    if user is None or not constant_time_compare(_state(user, new_email), data.get("s", "")):
        return None
    return user, new_email


def link_for(user: User, new_email: str) -> str:
    return settings.SITE_URL + reverse("accounts:email_change_validate",
                                       kwargs={"token": change_token(user, new_email)})


def email_change_request(*, user: User, new_email: str) -> None:
    """Mail the confirmation link to the new address (or, if an account already uses it, a
    message saying so). Only enqueues, on the System queue, after the commit."""
    from .tasks import email_change_send

    transaction.on_commit(lambda: email_change_send.apply_async(
        args=[user.pk, new_email], queue=settings.MAILING_QUEUE_SYSTEM))


class AddressTakenError(ValidationError):
    pass


@transaction.atomic
def email_change_confirm(*, user: User, new_email: str) -> User:
    """Apply a confirmed change to the account and to the parent's guardian record together,
    then tell the old address. Raises AddressTakenError if another account took the address
    since the link was sent."""
    from school.models import Guardian
    from school.services import guardian_set_email

    from .tasks import email_changed_notify

    user = User.objects.select_for_update().get(pk=user.pk)
    old_email = user.email
    taken = _("This address is already used by another account.")
    if User.objects.filter(email__iexact=new_email).exclude(pk=user.pk).exists():
        raise AddressTakenError(taken, code="taken")
    user.email = User.objects.normalize_email(new_email)
    try:
        with transaction.atomic():
            user.save(update_fields=["email"])
    except IntegrityError:  # taken by a concurrent sign-up: the unique constraint decides
        raise AddressTakenError(taken, code="taken") from None
    guardian = Guardian.objects.filter(user=user).first()
    if guardian is not None:
        guardian_set_email(guardian=guardian, email=user.email)
    transaction.on_commit(lambda: email_changed_notify.apply_async(
        args=[user.pk, old_email], queue=settings.MAILING_QUEUE_SYSTEM))
    return user
