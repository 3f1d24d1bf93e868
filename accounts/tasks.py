from celery import shared_task


@shared_task(name="accounts.tasks.clear_expired_sessions")
def clear_expired_sessions() -> None:
    """Scheduled by beat: database sessions otherwise pile up for ever."""
    from django.core.management import call_command

    call_command("clearsessions")


@shared_task(name="accounts.tasks.password_reset_send")
def password_reset_send(email: str) -> None:
    from django.conf import settings
    from django.contrib.auth.forms import PasswordResetForm
    from django.contrib.auth.tokens import default_token_generator
    from django.urls import reverse
    from django.utils.encoding import force_bytes
    from django.utils.http import urlsafe_base64_encode

    from mailing.automated import system_mail_to_user

    for user in PasswordResetForm().get_users(email):
        # The link is built from the configured site URL, never from a request's Host.
        path = reverse("accounts:password_reset_confirm", kwargs={
            "uidb64": urlsafe_base64_encode(force_bytes(user.pk)),
            "token": default_token_generator.make_token(user)})
        system_mail_to_user("password_reset", user, context={
            "lien": settings.SITE_URL + path,
            "delai_heures": settings.PASSWORD_RESET_TIMEOUT // 3600})


@shared_task(name="accounts.tasks.password_changed_notify")
def password_changed_notify(user_id: int) -> None:
    from mailing.automated import system_mail_to_user

    from .models import User

    user = User.objects.filter(pk=user_id, is_active=True).first()
    if user:
        system_mail_to_user("password_changed", user)
