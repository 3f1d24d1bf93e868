"""Parent self-registration with e-mail validation.

The validation link (accounts/tokens.py, its own salt) names the account and a digest of its
state: it stops working once the account is active, so it works once. Opening it
(GET) shows a confirm button; only the POST activates, so mail scanners that open links do not
consume them. Responses never reveal whether an address already has an account.
"""

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.urls import reverse

from school.models import Guardian

from .models import Profile, User
from .tokens import make_token, read_token, state_digest, state_matches

SALT = "eduka.accounts.email-validation"


def _state(user: User) -> str:
    return state_digest(SALT, user.pk, user.is_active, user.email.lower(), user.password)


def validation_token(user: User) -> str:
    return make_token(SALT, u=user.pk, state=_state(user))


def user_for_token(token: str) -> User | None:
    """The inactive account a valid, unexpired, unused token names; None otherwise."""
    payload = read_token(SALT, token)
    if payload is None:
        return None
    user = User.objects.filter(pk=payload.get("u"), is_active=False).first()
    if user is None or not state_matches(payload, _state(user)):
        return None
    return user


def send_validation(user: User) -> None:
    from mailing.automated.catalogue import link_lifetime
    from mailing.automated.services import system_mail_to_user

    link = settings.SITE_URL + reverse("accounts:signup_validate",
                                       kwargs={"token": validation_token(user)})
    system_mail_to_user("signup_validation", user, context={
        "lien": link, "delai": link_lifetime(settings.EMAIL_VALIDATION_TIMEOUT),
                    "delai_heures": settings.EMAIL_VALIDATION_TIMEOUT // 3600})


@transaction.atomic
def parent_register(*, first_name: str, last_name: str, email: str, phone: str,
                    password: str) -> User | None:
    """Create the inactive parent account and mail its validation link. For an address that
    already has an account, mail a reminder instead; the caller answers the same way."""
    from eduka.ratelimit import too_many

    # At most one mail per address per SIGNUP_MAIL_INTERVAL, new address or known: the page
    # answers the same either way, but nobody can make the platform mail an address in a loop.
    may_mail = not too_many("signup-mail", email, limit=1,
                            window=settings.SIGNUP_MAIL_INTERVAL)
    existing = User.objects.filter(email__iexact=email).first()
    if existing is not None and _never_validated(existing):
        # Registering again an address whose account was never validated (the link was lost,
        # or expired): a fresh link to the same account. Nothing typed now replaces what was
        # registered — otherwise anyone could set the password of an account its owner is
        # about to validate. The owner who forgot it resets it once the account is active.
        make_password(password)  # the same work as the other answers
        if may_mail:
            send_validation(existing)
        return None
    if existing is not None:
        # Spend the time creating the account would (hashing the password), so that the
        # answer's timing does not tell either.
        make_password(password)
        from mailing.automated.services import system_mail_to_user

        if may_mail:
            system_mail_to_user("signup_existing", existing, context={
                "lien": settings.SITE_URL + reverse("accounts:password_reset")})
        return None
    user = User.objects.create_user(email, password, first_name=first_name, last_name=last_name,
                                    profile=Profile.objects.get(code=Profile.PARENT),
                                    is_active=False)
    Guardian.objects.create(first_name=first_name, last_name=last_name, email=email,
                            phone=phone, user=user)
    if may_mail:
        send_validation(user)
    return user


def _never_validated(user: User) -> bool:
    """A parent account created by sign-up whose link was never confirmed (confirming logs
    the parent in), as opposed to one an administrator deactivated."""
    return (not user.is_active and user.last_login is None
            and user.profile_id is not None and user.profile.code == Profile.PARENT)


@transaction.atomic
def parent_activate(*, user: User) -> User:
    # A locked re-read and a save (not a queryset update), so that activating twice at once
    # does nothing twice and change subscriptions see the registration.
    user = User.objects.select_for_update().get(pk=user.pk)
    if not user.is_active:
        user.is_active = True
        user.save(update_fields=["is_active"])
    return user


def validation_resend(*, email: str) -> None:
    user = User.objects.filter(email__iexact=email, is_active=False,
                               profile__code=Profile.PARENT).first()
    if user is not None:
        send_validation(user)
