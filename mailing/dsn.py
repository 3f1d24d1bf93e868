"""Reading delivery reports: RFC 3464 DSNs and, best effort, the non-standard bounces some
servers still send. Pure functions over bytes — no database — so that tests call them directly.

A report names the message it is about (the original's Message-ID, or the envelope id we gave
at MAIL FROM) and, per recipient, what happened: the action (failed, delayed, delivered,
relayed, expanded), the status code (5.1.1…) and the diagnostic text. Applying it is
`mailing.tracking`'s job.
"""

import re
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser, HeaderParser

ACTIONS = {"failed", "delayed", "delivered", "relayed", "expanded"}
_STATUS = re.compile(r"\b([245])\.(\d{1,3})\.(\d{1,3})\b")
_ADDRESS = re.compile(r"<?([A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,})>?")
# Evidence of a permanent failure in a bounce written in prose: an enhanced status code
# ("550 5.1.1 …", "(#5.1.1)"), or a 5xx reply followed by what such replies say. A bare
# "550" is not enough: "550 rue des Lilas" in an auto-reply is an address, not a bounce.
_PERMANENT_LINE = re.compile(
    r"(?<![\d.])(5\.\d{1,3}\.\d{1,3})(?![\d.])|"
    r"(?:^|[\s(:])(5[0-5]\d)[\s-].*\b(user|mailbox|recipient|address|unknown|no such|"
    r"does not exist|not found|rejected|invalid)\b", re.IGNORECASE)
_MAIL_SYSTEMS = re.compile(r"^(mailer-daemon|postmaster)@", re.IGNORECASE)


@dataclass
class RecipientReport:
    final_recipient: str
    action: str
    status: str = ""
    diagnostic: str = ""
    original_recipient: str = ""

    @property
    def is_permanent_failure(self) -> bool:
        return self.action == "failed" and self.status.startswith("5.")


@dataclass
class DeliveryReport:
    """What a delivery report says. `standard` is False for a best-effort reading of a bounce
    that is not RFC 3464 (those only ever carry failures with a 5xx code as evidence)."""

    recipients: list[RecipientReport] = field(default_factory=list)
    original_message_id: str = ""
    envelope_id: str = ""
    standard: bool = True


def parse_message(raw: bytes) -> EmailMessage:
    # The email package expects "\n" line endings; SMTP gives CRLF.
    return BytesParser(policy=policy.default).parsebytes(raw.replace(b"\r\n", b"\n"))


def xtext_decode(value: str) -> str:
    """RFC 3461 xtext: "+" followed by two hex digits stands for that byte."""
    return re.sub(r"\+([0-9A-Fa-f]{2})", lambda m: chr(int(m.group(1), 16)), value)


def xtext_encode(value: str) -> str:
    return "".join(c if 33 <= ord(c) <= 126 and c not in "+=" else f"+{ord(c):02X}"
                   for c in value)


def _field(block, name: str) -> str:
    value = block.get(name)
    if value is None:
        return ""
    # As the reporting server wrote it, unfolded: folding is line wrapping, so line breaks and
    # runs of spaces become one space.
    return " ".join(str(value).split())


def _address(value: str) -> str:
    """"rfc822; user@example.org" -> "user@example.org" (other address types kept whole)."""
    kind, sep, address = value.partition(";")
    if sep and kind.strip().lower() in ("rfc822", "utf-8"):
        value = address
    return value.strip().strip("<>").strip()


def _status(value: str) -> str:
    match = _STATUS.search(value)
    return match.group(0) if match else ""


def _original_message_id(report: EmailMessage) -> str:
    for part in report.walk():
        content_type = part.get_content_type()
        if content_type in ("message/rfc822", "message/global"):
            payload = part.get_payload()
            inner = payload[0] if isinstance(payload, list) and payload else None
            if inner is not None and inner.get("Message-ID"):
                return str(inner["Message-ID"]).strip()
        elif content_type in ("text/rfc822-headers", "message/global-headers"):
            headers = HeaderParser(policy=policy.default).parsestr(_text(part))
            if headers.get("Message-ID"):
                return str(headers["Message-ID"]).strip()
    return ""


def _text(part) -> str:
    payload = part.get_payload(decode=True)
    if payload is None:
        payload = part.get_payload()
        return payload if isinstance(payload, str) else ""
    return payload.decode(part.get_content_charset() or "utf-8", "replace")


def _standard(report: EmailMessage) -> DeliveryReport | None:
    status_part = next((part for part in report.walk()
                        if part.get_content_type() in ("message/delivery-status",
                                                       "message/global-delivery-status")),
                       None)
    if status_part is None:
        return None
    blocks = status_part.get_payload()
    if isinstance(blocks, str):  # message/global-delivery-status is left as text
        text = blocks.replace("\r\n", "\n")
        blocks = [HeaderParser(policy=policy.default).parsestr(chunk + "\n")
                  for chunk in re.split(r"\n\s*\n", text.strip()) if chunk.strip()]
    if not blocks:
        return None
    per_message, per_recipient = blocks[0], blocks[1:]
    result = DeliveryReport(envelope_id=xtext_decode(_field(per_message,
                                                            "Original-Envelope-Id")),
                            original_message_id=_original_message_id(report))
    for block in per_recipient:
        action = _field(block, "Action").lower().split(" ")[0]
        final = _address(_field(block, "Final-Recipient"))
        if action not in ACTIONS or not final:
            continue
        result.recipients.append(RecipientReport(
            final_recipient=final, action=action, status=_status(_field(block, "Status")),
            diagnostic=_field(block, "Diagnostic-Code"),
            original_recipient=_address(_field(block, "Original-Recipient"))))
    return result


def from_mail_system(message: EmailMessage, mail_from: str) -> bool:
    """Sent by a mail system rather than a person: empty envelope sender (RFC 5321 requires
    it for notifications) or MAILER-DAEMON / postmaster. The subject is never trusted: a
    parent may well write "Re: dossier non remis"."""
    if not mail_from or mail_from == "<>" or _MAIL_SYSTEMS.match(mail_from):
        return True
    addresses = _ADDRESS.findall(str(message.get("From", "")))
    return bool(addresses and _MAIL_SYSTEMS.match(addresses[0]))


def _best_effort(message: EmailMessage, mail_from: str) -> DeliveryReport | None:
    """A bounce in prose (qmail, old Exim, some appliances): only a line with a permanent SMTP
    code counts as evidence (see _PERMANENT_LINE), attributed to the address on it or just
    before, and only in mail from a mail system."""
    if not from_mail_system(message, mail_from):
        return None
    body = message.get_body(preferencelist=("plain",))
    text = _text(body) if body is not None else ""
    result = DeliveryReport(standard=False, original_message_id=_original_message_id(message))
    if not result.original_message_id:
        found = re.search(r"^Message-ID:\s*(<[^>\s]+>)", text, re.IGNORECASE | re.MULTILINE)
        result.original_message_id = found.group(1) if found else ""
    current = ""
    seen = set()
    for line in text.splitlines():
        if re.match(r"^\s*(Message-ID|From|To|Subject|Return-Path|Received):", line, re.I):
            break  # the quoted original starts: its addresses are not recipients
        addresses = _ADDRESS.findall(line)
        if addresses:
            current = addresses[-1] if len(addresses) == 1 else addresses[0]
        evidence = _PERMANENT_LINE.search(line)
        if evidence:
            status = _status(line)
            if not status.startswith("5."):
                status = "5.0.0"  # a 5xx reply without an enhanced code
            key = current.lower()
            if key in seen:
                continue
            seen.add(key)
            result.recipients.append(RecipientReport(final_recipient=current, action="failed",
                                                     status=status, diagnostic=line.strip()))
    return result if result.recipients else None


def parse_delivery_report(raw: bytes, *, mail_from: str = "") -> DeliveryReport | None:
    """The delivery report in `raw`, or None when it is not one (a person's reply, an
    out-of-office…). Standard DSNs first; then, best effort, a bounce written in prose."""
    message = parse_message(raw)
    if message.get_content_type() == "multipart/report" or any(
            part.get_content_type() in ("message/delivery-status",
                                        "message/global-delivery-status")
            for part in message.walk()):
        report = _standard(message)
        if report is not None and report.recipients:
            return report
    return _best_effort(message, mail_from)
