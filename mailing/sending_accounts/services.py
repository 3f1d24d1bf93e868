"""Writes on sending accounts: save, assign, test, delete."""

from dataclasses import dataclass
from email.utils import format_datetime, make_msgid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.debug import sensitive_variables

from mailing.engine.channel import DeliveryFailure
from mailing.models import SendingAccount
from mailing.sending_accounts.oauth.tokens import access_token
from mailing.sending_accounts.smtp import ConnectionSettings, ErrorKind, SMTPConnection, SMTPFailure


def account_connection_settings(account: SendingAccount, *,
                                timeout: float | None = None) -> ConnectionSettings:
    """How to connect as the account. For an account signed in with Microsoft or Google this
    asks for a valid access token (refreshed if it expires soon), so it may raise the token
    endpoint's OAuthFailure: call it where a DeliveryFailure is handled."""
    oauth_token = ""
    if account.kind == SendingAccount.Kind.EXTERNAL and account.uses_oauth:
        oauth_token = access_token(account)
    if account.kind == SendingAccount.Kind.INTEGRATED:
        host, port = settings.INTEGRATED_RELAY_HOST, settings.INTEGRATED_RELAY_PORT
        security = {"starttls": "tls", "ssl": "ssl", "none": "none"}.get(
            settings.INTEGRATED_RELAY_SECURITY, "tls")
        pinned = ""
        operator_configured = True
    else:
        operator_configured = False
        host, port, security = account.smtp_host, account.smtp_port, account.security
        pinned = account.pinned_certificate
    return ConnectionSettings(
        host=host, port=port or SendingAccount.DEFAULT_PORTS.get(security, 25),
        security=security, username=account.username,
        password="" if oauth_token else account.password, oauth_token=oauth_token,
        allow_plain_auth=account.allow_plain_auth, pinned_certificate=pinned,
        timeout=timeout or settings.SMTP_TIMEOUT, operator_configured=operator_configured,
    )


@sensitive_variables("password")
@transaction.atomic
def account_save(*, account: SendingAccount, password: str | None = None) -> SendingAccount:
    """Save an account; `password` None or "" keeps the stored one (it is never shown back)."""
    if password:
        account.password = password
    if not account.smtp_port and account.kind == SendingAccount.Kind.EXTERNAL:
        account.smtp_port = SendingAccount.DEFAULT_PORTS[account.security]
    account.save()
    return account


def account_delete(*, account: SendingAccount) -> None:
    from mailing.models import Mailing

    if account.is_system:
        raise ValidationError(_("The System account cannot be deleted."), code="system")
    active = [Mailing.Status.QUEUED, Mailing.Status.SENDING, Mailing.Status.PAUSED]
    if account.mailings.filter(status__in=active).exists():
        raise ValidationError(_("Mailings from this account are in progress: wait for them to "
                                "finish or cancel them first."), code="in_progress")
    if account.mailings.exists():
        raise ValidationError(_("Mails were sent from this account: deactivate it instead, so "
                                "that their history is kept."), code="has_history")
    account.delete()


@transaction.atomic
def account_set_users(*, account: SendingAccount, users) -> None:
    account.users.set(users)


@transaction.atomic
def user_set_sending_accounts(*, user, accounts) -> None:
    user.sending_accounts.set(accounts)


HINTS = {
    ErrorKind.AUTHENTICATION: gettext_lazy(
        "The server refused the user name or password: check them, or ask your e-mail "
        "provider (an app password may be required)."),
    ErrorKind.CONNECTION: gettext_lazy(
        "The server could not be reached or closed the connection: check the server name "
        "and the port."),
    ErrorKind.TLS: gettext_lazy(
        "The security setting does not match the server: try SSL with port 465 or TLS with "
        "port 587."),
    ErrorKind.CERTIFICATE: gettext_lazy(
        "The server's certificate is not trusted (expired, self-signed or for another name)."),
    ErrorKind.TIMEOUT: gettext_lazy(
        "The server did not answer in time: check the server name, the port and the security "
        "setting."),
    ErrorKind.TEMPORARY: gettext_lazy("The server reported a temporary problem: try again later."),
    ErrorKind.PERMANENT: gettext_lazy("The server refused the message: read its answer above."),
    ErrorKind.POLICY: gettext_lazy("Choose another sending server."),
}


OAUTH_AUTHENTICATION_HINT = gettext_lazy(
    "The provider no longer accepts this account's sign-in (revoked, expired, or the "
    "mailbox's password changed), or SMTP sending is not enabled for the mailbox: click "
    "“Reconnect” and sign in again.")


def failure_hint(account: SendingAccount, kind: ErrorKind) -> str:
    """What to do about a failure, in the administrator's words."""
    if kind == ErrorKind.AUTHENTICATION and account.uses_oauth:
        return str(OAUTH_AUTHENTICATION_HINT)
    return str(HINTS.get(kind, ""))


@dataclass
class TestOutcome:
    ok: bool
    server_reply: str  # verbatim: the server's answer to DATA, or its error
    hint: str = ""


def build_test_message(*, account: SendingAccount, to_email: str) -> bytes:
    """The "Tester" message, its headers encoded by the same builder as mailings (a line
    separator in the sender name must not split the From header into two addresses)."""
    from mailing.mailings.rendering import CRLF, address_header, header_line, text_part

    domain = account.envelope_from.rpartition("@")[2] or "localhost"
    subject = _("Eduka: test of the sending account “%(name)s”") % {"name": account}
    headers = [
        header_line("Subject", subject),
        f"From: {address_header(account.sender_name, account.envelope_from)}".encode(),
        header_line("To", to_email),
    ]
    if account.effective_reply_to:
        headers.append(header_line("Reply-To", account.effective_reply_to))
    headers += [f"Date: {format_datetime(timezone.now())}".encode(),
                f"Message-ID: {make_msgid(domain=domain)}".encode(),
                b"Auto-Submitted: auto-generated", b"MIME-Version: 1.0"]
    body = text_part("plain", _(
        "This message was sent by Eduka to test the sending account “%(name)s”.\n"
        "If you can read it, the account's settings work.") % {"name": account})
    return CRLF.join(headers) + CRLF + body


def send_now(*, account: SendingAccount, payload: bytes, envelope_from: str,
             to_email: str) -> TestOutcome:
    """Send one message through the account right away and say what the server answered.

    For the interactive tests only ("Tester", a mailing's test send): the person is waiting
    for the answer, bounded by SMTP_TEST_TIMEOUT. Mailings go through the workers.
    """
    try:
        if not account.is_configured:
            raise SMTPFailure(ErrorKind.POLICY, _("The account is not configured."))
        connection_settings = account_connection_settings(account,
                                                          timeout=settings.SMTP_TEST_TIMEOUT)
        with SMTPConnection(connection_settings) as connection:
            result = connection.send(payload, envelope_from, [to_email])
        if not result.accepted:
            code, text = result.refused[to_email]
            raise SMTPFailure(ErrorKind.PERMANENT, text, code)
        return TestOutcome(ok=True, server_reply=result.reply)
    except DeliveryFailure as failure:  # SMTP, or the token endpoint (OAuth2 accounts)
        if account.password_unreadable and not account.uses_oauth:
            # Not the server's refusal: no server was asked. The message says what to do.
            return TestOutcome(ok=False, server_reply=failure.server_reply)
        return TestOutcome(ok=False, server_reply=failure.server_reply,
                           hint=failure_hint(account, failure.kind))


def account_test(*, account: SendingAccount, to_email: str) -> TestOutcome:
    """Send a real message through the account and record the outcome on it."""
    with translation.override(settings.LANGUAGE_CODE):
        message = build_test_message(account=account, to_email=to_email)
    outcome = send_now(account=account, payload=message,
                       envelope_from=account.envelope_from, to_email=to_email)
    account.last_test_at = timezone.now()
    account.last_test_ok = outcome.ok
    account.last_test_message = outcome.server_reply
    account.save(update_fields=["last_test_at", "last_test_ok", "last_test_message"])
    return outcome
