"""The one module that builds every outgoing message (headers, text, HTML, attachments).

A MailingRenderer is made once per mailing: templates compiled once, attachments read and
encoded once, the constant headers prepared once; `build()` then only renders and encodes
what differs per message.
"""

import hashlib
import hmac
import mimetypes
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, formataddr

import dkim
from django.conf import settings
from django.utils import timezone

from .models import Mailing, Message, SendingAccount
from .templating import compile_template, html_to_text, sanitize_html


def verp_address(message_pk: int) -> str:
    """Envelope sender on the integrated domain that names the message, signed so that a bounce
    cannot be forged for another message: bounces+<id>-<sig>@<domain>."""
    signature = hmac.new(settings.SECRET_KEY.encode(), f"verp:{message_pk}".encode(),
                         hashlib.sha256).hexdigest()[:12]
    return f"bounces+{message_pk}-{signature}@{settings.INTEGRATED_MAIL_DOMAIN}"


def envelope_sender(account: SendingAccount, message_pk: int) -> str:
    if account.kind == SendingAccount.Kind.INTEGRATED:
        return verp_address(message_pk)
    return account.envelope_from


def new_message_id(account: SendingAccount, token: str) -> str:
    domain = account.envelope_from.rpartition("@")[2] or settings.INTEGRATED_MAIL_DOMAIN
    return f"<{token}@{domain}>"


class MailingRenderer:
    def __init__(self, mailing: Mailing):
        self.mailing = mailing
        self.account = mailing.account
        self.subject = compile_template(mailing.subject)
        self.text = compile_template(mailing.body_text)
        self.html = compile_template(mailing.body_html, html=True) if mailing.body_html else None
        self.attachments = []
        for attachment in mailing.attachments.all():
            with attachment.file.open("rb") as handle:
                data = handle.read()
            maintype, _, subtype = (attachment.content_type or "application/octet-stream"
                                    ).partition("/")
            self.attachments.append((data, maintype, subtype, attachment.filename))
        self.from_header = formataddr((self.account.sender_name, self.account.envelope_from))
        self.reply_to = self.account.effective_reply_to
        self.subject_prefix = ""

    def render_parts(self, context: dict) -> tuple[str, str, str]:
        """Subject, text and sanitised HTML for one context (previews use this too)."""
        subject = self.subject_prefix + " ".join(self.subject.render(context).split())
        html = sanitize_html(self.html.render(context)) if self.html else ""
        return subject, self.text.render(context), html

    def build(self, message: Message, recipients) -> bytes:
        context = message.context
        email = EmailMessage(policy=SMTP)
        email["From"] = self.from_header
        if self.mailing.mode == Mailing.Mode.BCC:
            # Recipients only in the envelope: no address of theirs in any header.
            email["To"] = self.from_header
        else:
            email["To"] = ", ".join(formataddr((r.name, r.email)) for r in recipients)
        if self.reply_to:
            email["Reply-To"] = self.reply_to
        subject, text, html = self.render_parts(context)
        email["Subject"] = subject
        email["Date"] = format_datetime(timezone.now())
        email["Message-ID"] = message.message_id
        if self.mailing.is_automated:
            email["Auto-Submitted"] = "auto-generated"
        email.set_content(text)
        if html:
            email.add_alternative(html, subtype="html")
        for data, maintype, subtype, filename in self.attachments:
            email.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
        return self.sign(email.as_bytes())

    def sign(self, payload: bytes) -> bytes:
        """DKIM-sign what leaves from the integrated domain (when the platform has a key)."""
        if (self.account.kind != SendingAccount.Kind.INTEGRATED
                or not settings.INTEGRATED_DKIM_PRIVATE_KEY):
            return payload
        signature = dkim.sign(
            payload, settings.INTEGRATED_DKIM_SELECTOR.encode(),
            settings.INTEGRATED_MAIL_DOMAIN.encode(),
            settings.INTEGRATED_DKIM_PRIVATE_KEY.encode(),
            include_headers=[b"from", b"to", b"subject", b"date", b"message-id", b"reply-to",
                             b"mime-version", b"content-type"])
        return signature + payload


def guess_content_type(filename: str) -> str:
    return mimetypes.guess_type(filename)[0] or "application/octet-stream"


__all__ = ["MailingRenderer", "envelope_sender", "guess_content_type", "html_to_text",
           "new_message_id", "verp_address"]
