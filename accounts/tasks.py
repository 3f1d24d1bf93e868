from celery import shared_task


@shared_task(name="accounts.tasks.clear_expired_sessions")
def clear_expired_sessions() -> None:
    """Scheduled by beat: database sessions otherwise pile up for ever."""
    from django.core.management import call_command

    call_command("clearsessions")


def _system_mail(user, *, subject_template: str, body_template: str, context: dict) -> None:
    from django.conf import settings
    from django.template.loader import render_to_string
    from django.utils import translation

    from mailing.automated import system_mail_send
    from school.models import School

    with translation.override(settings.LANGUAGE_CODE):
        context = {"user": user, "school": School.current(), "site_url": settings.SITE_URL,
                   **context}
        subject = " ".join(render_to_string(subject_template, context).split())
        text = render_to_string(body_template, context)
    system_mail_send(to_email=user.email, to_name=user.get_full_name(), subject=subject,
                     text=text)


@shared_task(name="accounts.tasks.password_reset_send")
def password_reset_send(email: str) -> None:
    from django.conf import settings
    from django.contrib.auth.forms import PasswordResetForm
    from django.contrib.auth.tokens import default_token_generator
    from django.urls import reverse
    from django.utils.encoding import force_bytes
    from django.utils.http import urlsafe_base64_encode

    for user in PasswordResetForm().get_users(email):
        # The link is built from the configured site URL, never from a request's Host.
        path = reverse("accounts:password_reset_confirm", kwargs={
            "uidb64": urlsafe_base64_encode(force_bytes(user.pk)),
            "token": default_token_generator.make_token(user)})
        _system_mail(user, subject_template="accounts/email/password_reset_subject.txt",
                     body_template="accounts/email/password_reset.txt",
                     context={"link": settings.SITE_URL + path,
                              "hours": settings.PASSWORD_RESET_TIMEOUT // 3600})


@shared_task(name="accounts.tasks.password_changed_notify")
def password_changed_notify(user_id: int) -> None:
    from .models import User

    user = User.objects.filter(pk=user_id, is_active=True).first()
    if user:
        _system_mail(user, subject_template="accounts/email/password_changed_subject.txt",
                     body_template="accounts/email/password_changed.txt", context={})
