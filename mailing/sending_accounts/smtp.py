"""The SMTP client layer: every message the platform sends goes through here.

Built on smtplib directly rather than Django's mail backends: connections are made from
accounts stored in the database (Django 6.1's MAILERS describes static configurations), and the
sending engine needs what Django's backend drops or cannot do — per-recipient refusals with
their codes, the server's reply to DATA, certificate pinning, a refusal to fall back to plain
text, AUTH in UTF-8, and errors classified by kind with the server's own text kept verbatim.
"""

import base64
import contextlib
import hashlib
import logging
import re
import smtplib
import socket
import ssl
from dataclasses import dataclass, field

from django.conf import settings
from django.core.mail.utils import DNS_NAME
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_variables

from mailing.engine.channel import ErrorKind, SendResult
from mailing.sending_accounts.fields import UnreadableSecret
from mailing.sending_accounts.hosts import connection_addresses, port_problem
from mailing.tracking.dsn import xtext_encode

from .certificates import certificate_fingerprint
from .smtp_errors import (
    SMTPFailure,
    _text,
    classify,
    is_quota_reply,
    unreadable_password_message,
)

logger = logging.getLogger(__name__)


_LEADING_PERIOD = re.compile(rb"(?m)^\.")


@dataclass(frozen=True)
class ConnectionSettings:
    host: str
    port: int
    security: str  # "none" | "ssl" | "tls"
    username: str = ""
    password: str = field(default="", repr=False)
    # Set for an account signed in with Microsoft or Google: AUTH XOAUTH2 with this access
    # token (for `username`, the mailbox) instead of the password.
    oauth_token: str = field(default="", repr=False)
    allow_plain_auth: bool = False
    pinned_certificate: str = ""
    timeout: float = 30.0
    # Host and port come from the platform's settings (the integrated relay), not from a
    # school's administrator: the port list does not apply.
    operator_configured: bool = False


def _tls_context(pinned_certificate: str) -> ssl.SSLContext:
    if pinned_certificate:
        # Trust exactly this certificate as the only anchor (compared again after the
        # handshake). A pin replaces the CAs, not the other checks: the certificate must
        # still name the host (or its IP) and be within its dates — check_hostname stays on.
        try:
            context = ssl.create_default_context(cadata=pinned_certificate)
        except (ssl.SSLError, ValueError):
            raise SMTPFailure(ErrorKind.CERTIFICATE, _(
                "The pinned certificate is not a valid certificate: paste it again "
                "(PEM format).")) from None
        # A pinned certificate issued by a CA is a partial chain; accept it as the anchor on
        # every Python version (3.13 sets this flag by default, 3.12 does not).
        context.verify_flags |= ssl.VERIFY_X509_PARTIAL_CHAIN
        return context
    context = ssl.create_default_context()
    if settings.SMTP_EXTRA_CA_FILE:
        context.load_verify_locations(cafile=settings.SMTP_EXTRA_CA_FILE)
    return context


class _AddressedSMTP(smtplib.SMTP):
    """smtplib.SMTP that connects to addresses resolved and checked beforehand, while the
    configured host name stays `_host`: STARTTLS's SNI and certificate check use the name."""

    def __init__(self, addresses: list[str], *args, **kwargs):
        self._addresses = addresses
        super().__init__(*args, **kwargs)

    def _get_socket(self, host, port, timeout):
        error = None
        for address in self._addresses:
            try:
                return socket.create_connection((address, port), timeout, self.source_address)
            except OSError as failure:
                error = failure
        raise error or OSError("No address to connect to.")


class _AddressedSMTP_SSL(smtplib.SMTP_SSL, _AddressedSMTP):  # noqa: N801 (smtplib's naming)
    """Implicit TLS over `_AddressedSMTP`'s socket, with the host name for SNI and checks."""

    def __init__(self, addresses: list[str], *args, **kwargs):
        self._addresses = addresses
        smtplib.SMTP_SSL.__init__(self, *args, **kwargs)


def _quota_spent(result: SendResult) -> SendResult:
    """A transaction whose every recipient was refused with the provider's quota reply is the
    quota being spent, not refused addresses: raised as such, so that sending waits."""
    if not result.accepted and result.refused and all(
            is_quota_reply(text) for _, text in result.refused.values()):
        code, text = next(iter(result.refused.values()))
        raise SMTPFailure(ErrorKind.QUOTA, text, code)
    return result


class SMTPConnection:
    """One SMTP session from an account's settings; reuse it for a whole batch.

    with SMTPConnection(settings) as connection:
        result = connection.send(message_bytes, envelope_from, recipients)
    """

    def __init__(self, connection_settings: ConnectionSettings):
        self.settings = connection_settings
        self.smtp: smtplib.SMTP | None = None
        self.greeting = ""
        self._final_dot_written = False

    def __enter__(self):
        self.open()
        return self

    def __exit__(self, *exc_info):
        self.close()

    @sensitive_variables("password")
    def open(self) -> None:
        config = self.settings
        if not config.host:
            # e.g. an integrated account while INTEGRATED_RELAY_HOST is not set on the platform.
            raise SMTPFailure(ErrorKind.POLICY, "No SMTP server is configured for this account.")
        if (config.username and not config.oauth_token
                and isinstance(config.password, UnreadableSecret)):
            raise SMTPFailure(ErrorKind.AUTHENTICATION, unreadable_password_message())
        # Everything below is classified: whatever fails while building the connection (a
        # malformed pin, an unknown name, a peer that is not an SMTP server) ends as an
        # SMTPFailure the caller records, never as an exception that escapes it.
        try:
            problem = None if config.operator_configured else port_problem(config.port)
            if problem:
                raise SMTPFailure(ErrorKind.POLICY, problem)
            # The platform's own relay (integrated accounts) is the operator's, typically on
            # a private network; only what school administrators type is held to the rule.
            addresses, problem = connection_addresses(
                config.host, config.port, allow_internal=config.operator_configured)
            if problem:
                raise SMTPFailure(ErrorKind.POLICY, problem)
            context = (_tls_context(config.pinned_certificate)
                       if config.security != "none" else None)
            local_hostname = settings.SMTP_EHLO_NAME or DNS_NAME.get_fqdn()
            host = config.host.strip("[]")
            if config.security == "ssl":
                self.smtp = _AddressedSMTP_SSL(addresses, host, config.port,
                                               timeout=config.timeout, context=context,
                                               local_hostname=local_hostname)
            else:
                self.smtp = _AddressedSMTP(addresses, host, config.port,
                                           timeout=config.timeout,
                                           local_hostname=local_hostname)
            self._ehlo()
            if config.security == "tls":
                if not self.smtp.has_extn("starttls"):
                    # Never fall back to plain text, which would expose the password and mail.
                    raise SMTPFailure(ErrorKind.TLS,
                                      "The server does not offer STARTTLS (TLS was required).")
                self.smtp.starttls(context=context)
                self._ehlo()
            if config.pinned_certificate and config.security != "none":
                self._check_pin()
            if config.username:
                if config.security == "none" and not config.allow_plain_auth:
                    raise SMTPFailure(
                        ErrorKind.TLS,
                        "Refusing to send the password over an unencrypted connection.")
                if config.oauth_token:
                    self._authenticate_xoauth2(config.username, config.oauth_token)
                else:
                    self._authenticate(config.username, config.password)
        except SMTPFailure:
            self.close()
            raise
        except Exception as error:  # noqa: BLE001 (classified, then re-raised)
            self.close()
            raise classify(error) from error

    def _ehlo(self):
        code, response = self.smtp.ehlo()
        if code != 250:
            code, response = self.smtp.helo()
            if code != 250:
                raise smtplib.SMTPHeloError(code, response)
        self.greeting = _text(response)

    def _check_pin(self):
        # The handshake already checked the name and the dates against the pin as the only
        # anchor; this makes sure the leaf itself is the pinned one.
        der = self.smtp.sock.getpeercert(binary_form=True)
        expected = certificate_fingerprint(self.settings.pinned_certificate)
        if hashlib.sha256(der).hexdigest() != expected:
            raise SMTPFailure(ErrorKind.CERTIFICATE,
                              "The server's certificate is not the pinned certificate.")

    @sensitive_variables("access_token", "blob")
    def _authenticate_xoauth2(self, username: str, access_token: str) -> None:
        """SASL XOAUTH2 (Microsoft, Google): `user=…^Aauth=Bearer …^A^A`, once. A refused
        token first gets a 334 challenge carrying the error (JSON); the client answers with
        an empty line and the server then says 535."""
        smtp = self.smtp
        mechanisms = smtp.esmtp_features.get("auth", "").upper().split()
        if "XOAUTH2" not in mechanisms:
            raise SMTPFailure(ErrorKind.AUTHENTICATION, _(
                "The server does not offer sign-in with OAuth2 (AUTH XOAUTH2)."))
        blob = base64.b64encode(
            f"user={username}\x01auth=Bearer {access_token}\x01\x01".encode()).decode("ascii")
        code, response = smtp.docmd("AUTH", f"XOAUTH2 {blob}")
        if code == 334:
            code, response = smtp.docmd("")
        if code not in (235, 503):
            raise smtplib.SMTPAuthenticationError(code, response)

    @sensitive_variables("password", "token")
    def _authenticate(self, username: str, password: str) -> None:
        """AUTH PLAIN (or LOGIN) with UTF-8 credentials, once: never retried on 535, so a
        wrong password cannot lock the school's mailbox."""
        smtp = self.smtp
        if not smtp.has_extn("auth"):
            raise SMTPFailure(ErrorKind.AUTHENTICATION,
                              "The server does not offer authentication (AUTH).")
        mechanisms = smtp.esmtp_features.get("auth", "").upper().split()

        def b64(value: str) -> str:
            return base64.b64encode(value.encode("utf-8")).decode("ascii")

        if "PLAIN" in mechanisms:
            token = b64(f"\0{username}\0{password}")
            code, response = smtp.docmd("AUTH", f"PLAIN {token}")
        elif "LOGIN" in mechanisms:
            code, response = smtp.docmd("AUTH", "LOGIN")
            if code == 334:
                code, response = smtp.docmd(b64(username))
            if code == 334:
                code, response = smtp.docmd(b64(password))
        else:
            raise SMTPFailure(ErrorKind.AUTHENTICATION,
                              f"No supported AUTH mechanism offered ({' '.join(mechanisms)}).")
        if code not in (235, 503):
            raise smtplib.SMTPAuthenticationError(code, response)

    def send(self, message: bytes, envelope_from: str, recipients: list[str],
             *, mail_options: tuple[str, ...] = (), while_waiting=None) -> SendResult:
        """One SMTP transaction. Refused recipients are reported, not raised, as long as one
        was accepted; a failure of the whole transaction raises SMTPFailure.

        `while_waiting`, if given, is called once the message has been sent, while the server
        queues it and before its reply is read (the engine prepares the next message there).
        It must not raise.

        A connection lost or a reply that never came after the final dot raises an SMTPFailure
        whose `after_final_dot` is set: only a failure before it is safe to retry."""
        smtp = self.smtp
        self._final_dot_written = False
        try:
            options = list(mail_options)
            if smtp.has_extn("smtputf8") and not message.isascii():
                options.append("SMTPUTF8")
            if smtp.has_extn("8bitmime") and not message.isascii():
                options.append("BODY=8BITMIME")
            dsn = smtp.has_extn("dsn")
            if dsn:
                # Ask for delivery status notifications (RFC 3461), headers only, to the
                # envelope sender: failures and delays, and — when they come back to our
                # inbound server — successes, which is how delivery tracking learns that a
                # message reached the mailbox. ENVID names the message (its Message-ID)
                # even in a report that quotes nothing of it.
                options.append("RET=HDRS")
                envelope_id = _envelope_id(message)
                if envelope_id:
                    options.append(f"ENVID={envelope_id}")
            rcpt_options = {recipient: _dsn_recipient_options(recipient, envelope_from)
                            if dsn else [] for recipient in recipients}
            if smtp.has_extn("pipelining"):
                return _quota_spent(self._send_pipelined(
                    message, envelope_from, recipients, options, rcpt_options, while_waiting))
            code, response = smtp.mail(envelope_from, options)
            if code != 250:
                self._reset()
                raise smtplib.SMTPSenderRefused(code, response, envelope_from)
            refused = {}
            for recipient in recipients:
                code, response = smtp.rcpt(recipient, rcpt_options[recipient])
                if code not in (250, 251):
                    refused[recipient] = (code, _text(response))
            accepted = [r for r in recipients if r not in refused]
            if not accepted:
                self._reset()
                return _quota_spent(SendResult(accepted=[], refused=refused))
            code, response = self._data(message, while_waiting)
            if code != 250:
                self._reset()
                raise smtplib.SMTPDataError(code, response)
            return SendResult(accepted=accepted, refused=refused, reply=f"{code} {_text(response)}")
        except SMTPFailure:
            raise
        except Exception as error:  # noqa: BLE001 (classified, then re-raised)
            failure = classify(error)
            failure.after_final_dot = self._final_dot_written and failure.kind in (
                ErrorKind.CONNECTION, ErrorKind.TIMEOUT)
            raise failure from error

    def _send_pipelined(self, message: bytes, envelope_from: str, recipients: list[str],
                        options: list[str], rcpt_options: dict, while_waiting) -> SendResult:
        """RFC 2920: MAIL, every RCPT and DATA leave in one write and their replies are read in
        order — two round trips per message instead of three plus one per recipient. Every
        production server offers it; over a real network it halves the time per message.
        Replies mean exactly what they mean unpipelined; a server that answered 354 although
        nothing was accepted gets an empty message ended at once, then RSET."""
        smtp = self.smtp
        encoding = "utf-8" if "SMTPUTF8" in options else "ascii"
        commands = [_command("MAIL FROM:" + smtplib.quoteaddr(envelope_from), options)]
        commands += [_command("RCPT TO:" + smtplib.quoteaddr(recipient), rcpt_options[recipient])
                     for recipient in recipients]
        commands.append("DATA\r\n")
        smtp.send("".join(commands).encode(encoding))
        mail_code, mail_response = smtp.getreply()
        refused = {}
        for recipient in recipients:
            code, response = smtp.getreply()
            if code not in (250, 251):
                refused[recipient] = (code, _text(response))
        data_code, data_response = smtp.getreply()
        accepted = [r for r in recipients if r not in refused]
        if mail_code != 250 or not accepted or data_code != 354:
            if data_code == 354:
                smtp.send(b".\r\n")
                smtp.getreply()
            self._reset()
            if mail_code != 250:
                raise smtplib.SMTPSenderRefused(mail_code, mail_response, envelope_from)
            if not accepted:
                return SendResult(accepted=[], refused=refused)
            raise smtplib.SMTPDataError(data_code, data_response)
        code, response = self._send_body(message, while_waiting)
        if code != 250:
            self._reset()
            raise smtplib.SMTPDataError(code, response)
        return SendResult(accepted=accepted, refused=refused, reply=f"{code} {_text(response)}")

    def _data(self, message: bytes, while_waiting) -> tuple[int, bytes]:
        """smtplib's SMTP.data(), with `while_waiting` called between sending the message and
        reading the server's reply: the time the server takes to answer is not lost."""
        smtp = self.smtp
        smtp.putcmd("data")
        code, response = smtp.getreply()
        if code != 354:
            raise smtplib.SMTPDataError(code, response)
        return self._send_body(message, while_waiting)

    def _send_body(self, message: bytes, while_waiting) -> tuple[int, bytes]:
        smtp = self.smtp
        body = _LEADING_PERIOD.sub(b"..", message)  # dot-stuffing (RFC 5321 4.5.2)
        if not body.endswith(b"\r\n"):
            body += b"\r\n"
        smtp.send(body + b".\r\n")
        self._final_dot_written = True
        if while_waiting is not None:
            while_waiting()
        return smtp.getreply()

    def _reset(self):
        with contextlib.suppress(smtplib.SMTPException, OSError):
            self.smtp.rset()

    def is_alive(self) -> bool:
        """NOOP a kept-open connection before reusing it."""
        if self.smtp is None:
            return False
        try:
            return self.smtp.noop()[0] == 250
        except (smtplib.SMTPException, OSError):
            return False

    def close(self) -> None:
        if self.smtp is None:
            return
        try:
            self.smtp.quit()
        except (smtplib.SMTPException, OSError):
            with contextlib.suppress(OSError):
                self.smtp.close()
        self.smtp = None


def _command(verb_and_address: str, options) -> str:
    line = " ".join([verb_and_address, *options])
    if "\r" in line or "\n" in line:  # an address or option can never carry a command
        raise smtplib.SMTPException("Line break in an SMTP command.")
    return line + "\r\n"


_MESSAGE_ID = re.compile(rb"^Message-ID:[ \t]*(<[!-~]+?>)[ \t]*\r?$", re.IGNORECASE | re.MULTILINE)


def _envelope_id(message: bytes) -> str:
    """The message's Message-ID as an RFC 3461 ENVID (xtext, at most 100 characters)."""
    headers = message.split(b"\r\n\r\n", 1)[0]
    match = _MESSAGE_ID.search(headers)
    if not match:
        return ""
    envelope_id = xtext_encode(match.group(1).decode("ascii"))
    return envelope_id if len(envelope_id) <= 100 else ""


def _dsn_recipient_options(recipient: str, envelope_from: str) -> list[str]:
    """NOTIFY=SUCCESS only when reports come back to the inbound server (a VERP envelope
    sender on the integrated domain): with an external account they would go to the school's
    own mailbox, one per recipient. ORCPT so that a report about a BCC chunk names the
    envelope recipient we gave even when the address was rewritten on the way."""
    local, _, domain = envelope_from.rpartition("@")
    tracked = (domain.lower() == settings.INTEGRATED_MAIL_DOMAIN.lower()
               and local.lower().startswith("bounces+"))
    options = ["NOTIFY=SUCCESS,FAILURE,DELAY" if tracked else "NOTIFY=FAILURE,DELAY"]
    if recipient.isascii():
        options.append(f"ORCPT=rfc822;{xtext_encode(recipient)}")
    return options


