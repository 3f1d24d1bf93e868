"""A user changes their e-mail address (their login) after proving they own the new one.

Nothing changes until the link mailed to the new address is confirmed. The link
(accounts/tokens.py, its own salt) carries the new address and a digest of the account's
current address and password: it dies once the address changed (so it works once) and when the
password changes. Opening the link (GET) shows a
confirm button; only the POST applies, so mail scanners consume nothing.

The request only enqueues: whether the new address is free or already has an account is
decided by the worker, which mails either the link or "an account already uses this address".
The requester sees the same page and the request does the same work either way.
"""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils.translation import gettext as _

from .models import User
from .tokens import make_token, read_token, state_digest, state_matches

SALT = "eduka.accounts.email-change"


def _state(user: User, new_email: str) -> str:
    return state_digest(SALT, user.pk, user.email.lower(), user.password, new_email.lower())


def change_token(user: User, new_email: str) -> str:
    return make_token(SALT, u=user.pk, e=new_email, state=_state(user, new_email))


def change_for_token(token: str) -> tuple[User, str] | None:
    """(user, new address) for a valid, unexpired, unused token; None otherwise."""
    payload = read_token(SALT, token)
    if payload is None:
        return None
    new_email = payload.get("e") or ""
    user = User.objects.filter(pk=payload.get("u"), is_active=True).first()
    if user is None or not state_matches(payload, _state(user, new_email)):
        return None
    return user, new_email


def link_for(user: User, new_email: str) -> str:
    return settings.SITE_URL + reverse("accounts:email_change_validate",
                                       kwargs={"token": change_token(user, new_email)})


def email_change_request(*, user: User, new_email: str) -> None:
    """Mail the confirmation link to the new address (or, if an account already uses it, a
    message saying so). Only enqueues, on the System queue, after the commit."""
    from celery import current_app as app

    from mailing.sending_accounts.fields import seal

    # By name: the task module imports this one, never the reverse.
    transaction.on_commit(lambda: app.send_task(
        "accounts.tasks.email_change_send", args=[user.pk, seal(new_email)],
        queue=settings.MAILING_QUEUE_SYSTEM))


class AddressTakenError(ValidationError):
    pass


@transaction.atomic
def email_change_confirm(*, user: User, new_email: str) -> User:
    """Apply a confirmed change to the account and to the parent's guardian record together,
    then tell the old address. Raises AddressTakenError if another account took the address
    since the link was sent."""
    from celery import current_app as app

    from mailing.sending_accounts.fields import seal
    from school.models import Guardian
    from school.services import guardian_set_email

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
    transaction.on_commit(lambda: app.send_task(
        "accounts.tasks.email_changed_notify", args=[user.pk, seal(old_email)],
        queue=settings.MAILING_QUEUE_SYSTEM))
    return user
