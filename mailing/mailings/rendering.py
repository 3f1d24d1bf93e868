"""The one module that builds every outgoing message (headers, text, HTML, attachments).

A MailingRenderer is made once per mailing and holds the message's skeleton: templates compiled
once, the HTML template sanitised once, attachments read and base64-encoded once, constant
headers encoded once, MIME boundaries chosen once. `build()` then only renders the three
templates for the recipient and encodes those parts — building each message with the standard
`email` package instead costs about ten times more (see the benchmark in the README).
"""

import base64
import hashlib
import hmac
import re
import uuid
from email.utils import format_datetime, formataddr
from urllib.parse import quote

import dkim
from django.conf import settings
from django.utils import timezone

from mailing.mailings.templating import RenderBudget, compile_template, html_to_text, sanitize_html
from mailing.models import Mailing, Message, SendingAccount

CRLF = b"\r\n"
_TEMPLATE_CODE = re.compile(r"\{\{.*?\}\}|\{%.*?%\}", re.DOTALL)


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


def sanitize_html_template(source: str) -> tuple[str, bool]:
    """Sanitise an HTML template once, keeping its template code intact.

    Template code is swapped for inert placeholders, the markup is cleaned, the code is put
    back. Values rendered into it later are autoescaped, so the result stays clean. Returns
    (source, True) on success; (source, False) when the code sat where the cleaner removed
    it, in which case each rendered message is sanitised instead.
    """
    codes = _TEMPLATE_CODE.findall(source)
    marker = uuid.uuid4().hex
    protected = source
    for index, code in enumerate(codes):
        protected = protected.replace(code, f"EDUKA{marker}{index}X", 1)
    cleaned = sanitize_html(protected)
    for index, code in enumerate(codes):
        placeholder = f"EDUKA{marker}{index}X"
        if cleaned.count(placeholder) != 1:
            return source, False
        cleaned = cleaned.replace(placeholder, code)
    return cleaned, True


def encoded_words(value: str) -> str:
    """RFC 2047 base64 encoded-words, folded, without splitting a UTF-8 character.

    email.header.Header does the same but weighs every encoding at every length, which cost
    more than the rest of building a message put together (see the benchmark)."""
    data = value.encode("utf-8")
    words = []
    start = 0
    while True:
        end = min(start + 45, len(data))  # 45 bytes -> 60 base64 chars: a word <= 75
        while end < len(data) and data[end] & 0xC0 == 0x80:
            end -= 1  # a UTF-8 continuation byte: cut before its character instead
        words.append(data[start:end])
        start = end
        if start >= len(data):
            break
    return "\r\n ".join(f"=?utf-8?b?{base64.b64encode(word).decode()}?=" for word in words)


# Names and subjects come from people: a line break in one would start a new header or the
# body. Every control character, and every other character str.splitlines() breaks on (U+0085,
# U+2028, U+2029), becomes a space before anything reaches a header.
_NO_CONTROL = {code: " " for code in (*range(32), 127, 0x85, 0x2028, 0x2029)}


def _header(name: str, value: str) -> bytes:
    value = value.translate(_NO_CONTROL)
    if value.isascii() and len(value) < 900:
        return f"{name}: {value}".encode()
    return f"{name}: {encoded_words(value)}".encode()


def _address(name: str, email: str) -> str:
    if not name:
        return email
    name = name.translate(_NO_CONTROL)
    if name.isascii():
        return formataddr((name, email))
    return f"{encoded_words(name)} <{email}>"


header_line = _header
address_header = _address


def _addresses(pairs) -> str:
    return ", ".join(_address(name, email) for name, email in pairs)


def _b64(data: bytes) -> bytes:
    return base64.encodebytes(data).replace(b"\n", CRLF)


def _text_part(subtype: str, text: str) -> bytes:
    return (f"Content-Type: text/{subtype}; charset=utf-8\r\n"
            "Content-Transfer-Encoding: base64\r\n\r\n").encode() + _b64(text.encode("utf-8"))


#: Longest attachment file name put in a header, in characters; longer ones are shortened
#: keeping their extension.
FILENAME_MAX_CHARS = 100


def shorten_filename(filename: str, limit: int = FILENAME_MAX_CHARS) -> str:
    """``filename`` without control characters, at most ``limit`` characters, extension kept."""
    name = filename.translate(_NO_CONTROL).strip() or "attachment"
    if len(name) <= limit:
        return name
    stem, dot, extension = name.rpartition(".")
    if not dot or not stem or len(extension) > 10:
        return name[:limit]
    return stem[:limit - len(extension) - 1].rstrip() + "." + extension


def _parameter(name: str, value: str) -> str:
    """A MIME parameter: quoted when ASCII, else RFC 2231 (``name*=utf-8''…``) — RFC 2047
    forbids encoded-words inside quotes. Long values are split into RFC 2231 continuations,
    each on its own CRLF-folded line."""
    if value.isascii():
        quoted = value.replace("\\", "\\\\").replace('"', '\\"')
        return f'{name}="{quoted}"'
    encoded = quote(value, safe="", encoding="utf-8")
    if len(encoded) <= 60:
        return f"{name}*=utf-8''{encoded}"
    sections, start = [], 0
    while start < len(encoded):
        end = min(start + 60, len(encoded))
        if "%" in encoded[end - 2:end]:  # never split a %XX escape
            end = encoded.rindex("%", start, end)
        sections.append(encoded[start:end])
        start = end
    return ";\r\n ".join(
        f"{name}*{index}*=" + ("utf-8''" if index == 0 else "") + section
        for index, section in enumerate(sections))


def _attachment_part(data: bytes, content_type: str, filename: str) -> bytes:
    filename = shorten_filename(filename)
    return (f"Content-Type: {content_type};\r\n {_parameter('name', filename)}\r\n"
            f"Content-Disposition: attachment;\r\n {_parameter('filename', filename)}\r\n"
            "Content-Transfer-Encoding: base64\r\n\r\n").encode() + _b64(data)


text_part = _text_part


def _multipart(subtype: str, boundary: str, parts: list[bytes]) -> bytes:
    head = f'Content-Type: multipart/{subtype}; boundary="{boundary}"\r\n\r\n'.encode()
    delimiter = f"--{boundary}\r\n".encode()
    body = b"".join(delimiter + part + CRLF for part in parts)
    return head + body + f"--{boundary}--\r\n".encode()


class _Literal:
    """Automated mail is already final text: rendered as is, never as a template."""

    def __init__(self, text: str):
        self.text = text

    def render(self, context, budget=None) -> str:
        return self.text


class MailingRenderer:
    def __init__(self, mailing: Mailing):
        self.mailing = mailing
        self.account = mailing.account
        self.html = None
        self.html_needs_sanitizing = False
        if mailing.is_automated:
            self.subject, self.text = _Literal(mailing.subject), _Literal(mailing.body_text)
            if mailing.body_html:
                self.html = _Literal(sanitize_html(mailing.body_html))
        else:
            self.subject = compile_template(mailing.subject)
            # Bodies written in the editor have no text of their own: each message's text is
            # made from its rendered HTML (render_parts).
            self.text = compile_template(mailing.body_text) if mailing.body_text else None
            if mailing.body_html:
                source, clean = sanitize_html_template(mailing.body_html)
                self.html = compile_template(source, html=True)
                self.html_needs_sanitizing = not clean
        self.subject_prefix = ""
        token = uuid.uuid4().hex
        self.alternative_boundary = f"==alt_{token}"
        self.mixed_boundary = f"==mix_{token}"
        self.attachments = []
        # An unsaved mailing (the compose page's preview) has no attachments yet.
        for attachment in mailing.attachments.all() if mailing.pk else ():
            with attachment.file.open("rb") as handle:
                self.attachments.append(_attachment_part(
                    handle.read(), attachment.content_type or "application/octet-stream",
                    attachment.filename))
        from_header = _address(self.account.sender_name, self.account.envelope_from)
        constant = [f"From: {from_header}".encode()]
        reply_to = mailing.reply_to or self.account.effective_reply_to
        if reply_to:
            constant.append(f"Reply-To: {reply_to}".encode())
        if mailing.mode == Mailing.Mode.BCC:
            # Recipients only in the envelope: no address of theirs in any header.
            constant.append(f"To: {from_header}".encode())
        if mailing.is_automated:
            constant.append(b"Auto-Submitted: auto-generated")
            # Checked when queued (mailing.automated.services): printable ASCII, no CR/LF.
            constant.extend(f"{name}: {value}".encode()
                            for name, value in sorted(mailing.headers.items()))
        constant.append(b"MIME-Version: 1.0")
        self.constant_headers = CRLF.join(constant) + CRLF

    def render_parts(self, context: dict) -> tuple[str, str, str]:
        """Subject, text and sanitised HTML for one context (previews use this too).

        Raises RenderLimitExceeded when the three together pass the render caps."""
        budget = RenderBudget()
        subject = self.subject_prefix + " ".join(self.subject.render(context, budget).split())
        html = self.html.render(context, budget) if self.html else ""
        if html and self.html_needs_sanitizing:
            html = sanitize_html(html)
        text = self.text.render(context, budget) if self.text else html_to_text(html)
        return subject, text, html

    def build(self, message: Message, recipients) -> bytes:
        subject, text, html = self.render_parts(message.context)
        headers = [self.constant_headers]
        if self.mailing.mode != Mailing.Mode.BCC:
            headers.append(_header("To", _addresses((r.name, r.email) for r in recipients))
                           + CRLF)
        headers.append(_header("Subject", subject) + CRLF)
        headers.append(f"Date: {format_datetime(timezone.now())}\r\n"
                       f"Message-ID: {message.message_id}\r\n".encode())
        body = _text_part("plain", text)
        if html:
            body = _multipart("alternative", self.alternative_boundary,
                              [body, _text_part("html", html)])
        if self.attachments:
            body = _multipart("mixed", self.mixed_boundary, [body, *self.attachments])
        return self.sign(b"".join(headers) + body)

    def sign(self, payload: bytes) -> bytes:
        """DKIM-sign what leaves from the integrated domain (when the platform has a key)."""
        if self.account.kind != SendingAccount.Kind.INTEGRATED:
            return payload
        return dkim_sign(payload)


def dkim_sign(payload: bytes, *, extra_headers: tuple[bytes, ...] = ()) -> bytes:
    """Sign a message leaving from the integrated domain, if the platform has a DKIM key."""
    if not settings.INTEGRATED_DKIM_PRIVATE_KEY:
        return payload
    signature = dkim.sign(
        payload, settings.INTEGRATED_DKIM_SELECTOR.encode(),
        settings.INTEGRATED_MAIL_DOMAIN.encode(),
        settings.INTEGRATED_DKIM_PRIVATE_KEY.encode(),
        include_headers=[b"from", b"to", b"subject", b"date", b"message-id", b"reply-to",
                         b"mime-version", b"content-type", b"list-unsubscribe",
                         b"list-unsubscribe-post", b"auto-submitted", *extra_headers])
    return signature + payload


__all__ = ["MailingRenderer", "dkim_sign", "envelope_sender", "new_message_id",
           "sanitize_html_template", "verp_address"]
