"""SMTP failures, classified by kind with the server's own code and text kept verbatim."""

import logging
import smtplib
import socket
import ssl

from django.utils.translation import gettext as _

from mailing.engine.channel import DeliveryFailure, ErrorKind

logger = logging.getLogger(__name__)


class SMTPFailure(DeliveryFailure):
    """A failed SMTP step, classified, with the server's own code and text when it gave one."""


def _text(response) -> str:
    if isinstance(response, bytes):
        return response.decode("utf-8", "replace")
    return str(response)


def not_smtp_message() -> str:
    # Never the peer's own bytes: whatever answered is not a mail server, and its banner
    # (an HTTP page, an SSH version, a database) is nothing the administrator should read.
    return _("This server did not answer as an SMTP server: check the server name and the port.")


# What providers answer when an account's own sending quota is spent. Matched on the text,
# since the codes (550, 554, 452, 421) also mean other things; never a recipient's mailbox
# being full ("quota exceeded" alone is that, 5.2.2).
QUOTA_MARKERS = (
    "daily user sending limit",  # Gmail / Google Workspace: 550 5.4.5
    "daily sending quota",  # Gmail, older wording
    "sending limit exceeded",
    "submissionquotaexceeded",  # Microsoft 365: 554 5.2.0 ...SubmissionQuotaExceededException
    "message rate limit",  # Microsoft 365: 4.4.2 / 554 5.2.0 "Message rate limit exceeded"
    "recipient rate limit",  # Microsoft 365: RecipientRateLimitExceeded
)


def is_quota_reply(text: str) -> bool:
    text = text.lower().replace(" ", "")
    return any(marker.replace(" ", "") in text for marker in QUOTA_MARKERS)


def classify(error: BaseException) -> SMTPFailure:
    """Map an smtplib / socket / ssl exception to an SMTPFailure, keeping the server's text."""
    if isinstance(error, SMTPFailure):
        return error
    if isinstance(error, smtplib.SMTPResponseException) and is_quota_reply(
            _text(error.smtp_error)):
        return SMTPFailure(ErrorKind.QUOTA, _text(error.smtp_error), error.smtp_code)
    if isinstance(error, smtplib.SMTPRecipientsRefused) and error.recipients and all(
            is_quota_reply(_text(text)) for _, text in error.recipients.values()):
        code, text = next(iter(error.recipients.values()))
        return SMTPFailure(ErrorKind.QUOTA, _text(text), code)
    if isinstance(error, smtplib.SMTPAuthenticationError):
        return SMTPFailure(ErrorKind.AUTHENTICATION, _text(error.smtp_error), error.smtp_code)
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        first = next(iter(error.recipients.values()), (550, "Recipient refused"))
        kind = ErrorKind.TEMPORARY if 400 <= first[0] < 500 else ErrorKind.PERMANENT
        return SMTPFailure(kind, _text(first[1]), first[0])
    if (isinstance(error, smtplib.SMTPResponseException)
            and not 200 <= (error.smtp_code or 0) < 600):
        # smtplib gives -1 when the reply does not start with a 3-digit code: not SMTP.
        return SMTPFailure(ErrorKind.CONNECTION, not_smtp_message())
    if isinstance(error, smtplib.SMTPSenderRefused) and error.smtp_code >= 500:
        # The server refuses the account's own address ("553 sender not owned by user"):
        # every message would fail the same way, so the account pauses with the reason.
        return SMTPFailure(ErrorKind.POLICY, _text(error.smtp_error), error.smtp_code)
    if isinstance(error, smtplib.SMTPConnectError | smtplib.SMTPResponseException):
        code = error.smtp_code
        text = _text(error.smtp_error)
        if isinstance(error, smtplib.SMTPConnectError) or code == 421:
            return SMTPFailure(ErrorKind.CONNECTION, text, code)
        kind = ErrorKind.TEMPORARY if 400 <= code < 500 else ErrorKind.PERMANENT
        return SMTPFailure(kind, text, code)
    if isinstance(error, smtplib.SMTPServerDisconnected):
        # smtplib turns a read timeout into "Connection unexpectedly closed: timed out".
        if isinstance(error.__context__, TimeoutError):
            return SMTPFailure(ErrorKind.TIMEOUT, "The server did not answer in time.")
        return SMTPFailure(ErrorKind.CONNECTION,
                           str(error) or "Connection unexpectedly closed by the server.")
    if isinstance(error, ssl.SSLCertVerificationError):
        return SMTPFailure(ErrorKind.CERTIFICATE, error.verify_message or str(error))
    if isinstance(error, ssl.SSLError):
        return SMTPFailure(ErrorKind.TLS, error.reason or str(error))
    if isinstance(error, TimeoutError | socket.timeout):
        return SMTPFailure(ErrorKind.TIMEOUT, "The server did not answer in time.")
    if isinstance(error, ConnectionRefusedError):
        return SMTPFailure(ErrorKind.CONNECTION, "Connection refused.")
    if isinstance(error, socket.gaierror):
        return SMTPFailure(ErrorKind.CONNECTION, f"Server name not found ({error.strerror}).")
    if isinstance(error, OSError):
        return SMTPFailure(ErrorKind.CONNECTION, error.strerror or str(error))
    if isinstance(error, smtplib.SMTPException):
        return SMTPFailure(ErrorKind.PERMANENT, str(error))
    # Anything else is a fault of ours or an unforeseen case: still a recorded outcome (the
    # engine pauses the account with this reason) rather than a task that dies silently.
    logger.exception("Unexpected error in the SMTP layer", exc_info=error)
    return SMTPFailure(ErrorKind.POLICY, _("Unexpected error while talking to the server "
                                           "(%(error)s).") % {"error": type(error).__name__})


def unreadable_password_message() -> str:
    return _("Password unreadable — enter it again (the encryption key that protected it is "
             "no longer configured).")
