from celery import shared_task


@shared_task(name="accounts.tasks.clear_expired_sessions")
def clear_expired_sessions() -> None:
    """Scheduled by beat: database sessions otherwise pile up for ever."""
    from django.core.management import call_command

    call_command("clearsessions")


def _system_mail(user, *, subject_template: str, body_template: str, context: dict,
                 to_email: str = "", to_name: str | None = None) -> None:
    """Render a mail about `user` and queue it through the System account: to the user's
    address unless `to_email` says otherwise (an address being validated, a former one)."""
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
    system_mail_send(to_email=to_email or user.email,
                     to_name=user.get_full_name() if to_name is None else to_name,
                     subject=subject, text=text)


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


@shared_task(name="accounts.tasks.email_change_send")
def email_change_send(user_id: int, new_email: str) -> None:
    """Mail the new address the confirmation link, or, if another account already uses it,
    a message saying so (the requester's answer was the same either way)."""
    from .email_change import link_for
    from .models import User

    user = User.objects.filter(pk=user_id, is_active=True).first()
    if user is None or user.email.lower() == new_email.lower():
        return
    if User.objects.filter(email__iexact=new_email).exists():
        _system_mail(user, to_email=new_email, to_name="",
                     subject_template="accounts/email/email_change_taken_subject.txt",
                     body_template="accounts/email/email_change_taken.txt", context={})
        return
    from django.conf import settings

    _system_mail(user, to_email=new_email,
                 subject_template="accounts/email/email_change_subject.txt",
                 body_template="accounts/email/email_change.txt",
                 context={"link": link_for(user, new_email), "new_email": new_email,
                          "hours": settings.EMAIL_VALIDATION_TIMEOUT // 3600})


@shared_task(name="accounts.tasks.email_changed_notify")
def email_changed_notify(user_id: int, old_email: str) -> None:
    """Tell the previous address that the account's address changed."""
    from .models import User

    user = User.objects.filter(pk=user_id).first()
    if user is not None and user.email.lower() != old_email.lower():
        _system_mail(user, to_email=old_email,
                     subject_template="accounts/email/email_changed_subject.txt",
                     body_template="accounts/email/email_changed.txt",
                     context={"new_email": user.email})
