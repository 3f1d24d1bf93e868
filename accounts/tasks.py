"""Celery adapters of the accounts app: ids and sealed tokens in, one service each."""

from celery import shared_task


@shared_task(name="accounts.tasks.clear_expired_sessions")
def clear_expired_sessions() -> None:
    """Scheduled by beat: database sessions otherwise pile up for ever."""
    from django.core.management import call_command

    call_command("clearsessions")


# Addresses reach these tasks sealed (mailing.sending_accounts.fields.seal): Celery messages,
# kept by the broker, carry ids and opaque tokens only. A token older than this is ignored.
SEALED_MAX_AGE = 24 * 3600


@shared_task(name="accounts.tasks.password_reset_send")
def password_reset_send(sealed_email: str) -> None:
    from django.conf import settings
    from django.contrib.auth.forms import PasswordResetForm
    from django.contrib.auth.tokens import default_token_generator
    from django.urls import reverse
    from django.utils.encoding import force_bytes
    from django.utils.http import urlsafe_base64_encode

    from mailing.automated.catalogue import link_lifetime
    from mailing.automated.services import system_mail_to_user
    from mailing.sending_accounts.fields import unseal

    email = unseal(sealed_email, max_age=SEALED_MAX_AGE)
    if email is None:
        return
    for user in PasswordResetForm().get_users(email):
        # The link is built from the configured site URL, never from a request's Host.
        path = reverse("accounts:password_reset_confirm", kwargs={
            "uidb64": urlsafe_base64_encode(force_bytes(user.pk)),
            "token": default_token_generator.make_token(user)})
        system_mail_to_user("password_reset", user, context={
            "lien": settings.SITE_URL + path,
            "delai": link_lifetime(settings.PASSWORD_RESET_TIMEOUT),
            "delai_heures": settings.PASSWORD_RESET_TIMEOUT // 3600})


@shared_task(name="accounts.tasks.password_changed_notify")
def password_changed_notify(user_id: int) -> None:
    from mailing.automated.services import system_mail_to_user

    from .models import User

    user = User.objects.filter(pk=user_id, is_active=True).first()
    if user:
        system_mail_to_user("password_changed", user)


@shared_task(name="accounts.tasks.email_change_send")
def email_change_send(user_id: int, sealed_new_email: str) -> None:
    """Mail the new address the confirmation link, or, if another account already uses it,
    a message saying so (the requester's answer was the same either way)."""
    from django.conf import settings
    from django.urls import reverse

    from mailing.automated.catalogue import link_lifetime
    from mailing.automated.services import system_mail
    from mailing.sending_accounts.fields import unseal

    from .email_change import link_for
    from .models import User

    new_email = unseal(sealed_new_email, max_age=SEALED_MAX_AGE)
    user = User.objects.filter(pk=user_id, is_active=True).first()
    if new_email is None or user is None or user.email.lower() == new_email.lower():
        return
    if User.objects.filter(email__iexact=new_email).exists():
        # Whoever owns that address is not the requester: no name, no link to this account.
        system_mail("email_change_taken", to_email=new_email, context={
            "lien": settings.SITE_URL + reverse("accounts:password_reset")})
        return
    system_mail("email_change_confirm", to_email=new_email, to_name=user.get_full_name(),
                first_name=user.first_name, last_name=user.last_name, context={
                    "lien": link_for(user, new_email), "nouvelle_adresse": new_email,
                    "delai": link_lifetime(settings.EMAIL_VALIDATION_TIMEOUT),
                    "delai_heures": settings.EMAIL_VALIDATION_TIMEOUT // 3600})


@shared_task(name="accounts.tasks.email_changed_notify")
def email_changed_notify(user_id: int, sealed_old_email: str) -> None:
    """Tell the previous address that the account's address changed."""
    from mailing.automated.services import system_mail
    from mailing.sending_accounts.fields import unseal

    from .models import User

    old_email = unseal(sealed_old_email, max_age=SEALED_MAX_AGE)
    user = User.objects.filter(pk=user_id).first()
    if old_email is not None and user is not None and user.email.lower() != old_email.lower():
        system_mail("email_changed", to_email=old_email, to_name=user.get_full_name(),
                    first_name=user.first_name, last_name=user.last_name,
                    context={"nouvelle_adresse": user.email})
