"""Parent self-registration with e-mail validation.

The validation link is a Django signature (its own salt, time-limited) naming the account and
its current state: it stops working once the account is active, so it works once. Opening it
(GET) shows a confirm button; only the POST activates, so mail scanners that open links do not
consume them. Responses never reveal whether an address already has an account.
"""

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.core import signing
from django.db import transaction
from django.urls import reverse

from school.models import Guardian

from .models import Profile, User

SALT = "eduka.accounts.email-validation"


def _state(user: User) -> str:
    return f"{user.is_active}:{user.email.lower()}:{user.password[-12:]}"


def validation_token(user: User) -> str:
    return signing.dumps({"u": user.pk, "s": _state(user)}, salt=SALT, compress=True)


def user_for_token(token: str) -> User | None:
    """The inactive account a valid, unexpired, unused token names; None otherwise."""
    try:
        data = signing.loads(token, salt=SALT, max_age=settings.EMAIL_VALIDATION_TIMEOUT)
    except signing.BadSignature:  # tampered, truncated or expired
        return None
    user = User.objects.filter(pk=data.get("u"), is_active=False).first()
    if user is None or _state(user) != data.get("s"):
        return None
    return user


def send_validation(user: User) -> None:
    from mailing.automated import system_mail_to_user

    link = settings.SITE_URL + reverse("accounts:signup_validate",
                                       kwargs={"token": validation_token(user)})
    system_mail_to_user("signup_validation", user, context={
        "lien": link, "delai_heures": settings.EMAIL_VALIDATION_TIMEOUT // 3600})


@transaction.atomic
def parent_register(*, first_name: str, last_name: str, email: str, phone: str,
                    password: str) -> User | None:
    """Create the inactive parent account and mail its validation link. For an address that
    already has an account, mail a reminder instead; the caller answers the same way."""
    existing = User.objects.filter(email__iexact=email).first()
    if existing is not None:
        # Spend the time creating the account would (hashing the password), so that the
        # answer's timing does not tell either.
        make_password(password)
        from mailing.automated import system_mail_to_user

        system_mail_to_user("signup_existing", existing, context={
            "lien": settings.SITE_URL + reverse("accounts:password_reset")})
        return None
    user = User.objects.create_user(email, password, first_name=first_name, last_name=last_name,
                                    profile=Profile.objects.get(code=Profile.PARENT),
                                    is_active=False)
    Guardian.objects.create(first_name=first_name, last_name=last_name, email=email,
                            phone=phone, user=user)
    send_validation(user)
    return user


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
