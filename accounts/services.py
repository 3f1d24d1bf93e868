"""Writes on users. Views and commands call these; forms only validate."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from .models import Profile, User
from .selectors import active_administrators


class LastAdministratorError(ValidationError):
    pass


def _ensure_an_administrator_remains(*, user: User, keeps_admin_rights: bool) -> None:
    """Refuse any change that would leave the platform without an active administrator.

    The active administrators are locked for the transaction, so that two administrators
    demoting each other at the same moment cannot both succeed.
    """
    if keeps_admin_rights or not user.pk:
        return
    admins = list(active_administrators().select_for_update().values_list("pk", flat=True))
    if admins == [user.pk]:
        raise LastAdministratorError(
            _("This is the last active administrator: appoint another one first."),
            code="last_administrator",
        )


@transaction.atomic
def user_create(*, email: str, first_name: str, last_name: str, profile: Profile | None,
                is_active: bool = True, password: str | None = None) -> User:
    user = User(email=User.objects.normalize_email(email), first_name=first_name,
                last_name=last_name, profile=profile, is_active=is_active)
    if password:
        user.set_password(password)
    else:
        user.set_unusable_password()
    user.full_clean(exclude=["password"])
    user.save()
    return user


@transaction.atomic
def user_update(*, user: User, email: str, first_name: str, last_name: str,
                profile: Profile | None, is_active: bool) -> User:
    _ensure_an_administrator_remains(
        user=user,
        keeps_admin_rights=is_active and profile is not None and profile.code == Profile.ADMIN,
    )
    user.email = User.objects.normalize_email(email)
    user.first_name = first_name
    user.last_name = last_name
    user.profile = profile
    user.is_active = is_active
    user.full_clean(exclude=["password"])
    user.save()
    return user


@transaction.atomic
def user_set_active(*, user: User, active: bool) -> User:
    _ensure_an_administrator_remains(
        user=user, keeps_admin_rights=active or not user.is_administrator
    )
    user.is_active = active
    user.save(update_fields=["is_active"])
    return user


def user_set_password(*, user: User, password: str) -> User:
    user.set_password(password)
    user.save(update_fields=["password"])
    return user


def password_reset_request(*, email: str) -> None:
    """Ask for a reset link. Known or unknown address, the request does the same work: it only
    enqueues; the worker looks the address up and, for an active user, sends the link through
    the System account. Nothing tells a visitor whether the address has an account."""
    from django.conf import settings

    # On the System queue: automated mail never waits behind a bulk mailing.
    from mailing.sending_accounts.fields import seal

    from .tasks import password_reset_send

    # The address travels sealed: the broker never holds it in clear.
    transaction.on_commit(lambda: password_reset_send.apply_async(
        args=[seal(email)], queue=settings.MAILING_QUEUE_SYSTEM))


def password_reset_notify(*, user: User) -> None:
    from django.conf import settings

    from .tasks import password_changed_notify

    transaction.on_commit(lambda: password_changed_notify.apply_async(
        args=[user.pk], queue=settings.MAILING_QUEUE_SYSTEM))
