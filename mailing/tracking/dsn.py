"""Reading delivery reports: RFC 3464 DSNs and, best effort, the non-standard bounces some
servers still send. Pure functions over bytes — no database — so that tests call them directly.

A report names the message it is about (the original's Message-ID, or the envelope id we gave
at MAIL FROM) and, per recipient, what happened: the action (failed, delayed, delivered,
relayed, expanded), the status code (5.1.1…) and the diagnostic text. Applying it is
`mailing.tracking.reports`'s job.
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
# Bounces with no code at all (qmail, some ISP gateways) say what happened in words. Only the
# two phrasings that matter are recognised, in English and French (after flufl.bounce's
# detectors and the servers' own templates): a full mailbox (a soft bounce, recorded as 5.2.2,
# the address is kept) and an address that does not exist (a hard bounce, recorded as 5.1.1,
# the address is suppressed). The sentence is kept as the diagnostic.
_PROSE_MAILBOX_FULL = re.compile(
    r"mail ?box (is |was )?(full|over ?quota)|\bover ?quota\b|quota (exceeded|exceded)|"
    r"exceeded (its|the|his|her|their) (storage|quota|allocation|mailbox)|"
    r"(mailbox|inbox|account) (has )?exceeded|storage (quota|space|allocation) "
    r"(exceeded|full)|mailbox size limit exceeded|"
    r"bo[iî]te (aux lettres|de r[ée]ception|mail|e-?mail|courriel)( du destinataire)? "
    r"(est )?(pleine|satur[ée]e)|quota (est )?d[ée]pass[ée]|d[ée]passement (de|du) quota|"
    r"espace de stockage (est )?(plein|satur[ée]|insuffisant)", re.IGNORECASE)
_PROSE_UNKNOWN_USER = re.compile(
    r"\bno such (user|mailbox|recipient|account|address)|\bunknown (user|recipient|"
    r"mailbox|address)|\buser unknown|\brecipient unknown|no mailbox (here )?by that name|"
    r"(address|mailbox|user|account|recipient) (does not|doesn't|did not) exist|"
    r"(utilisateur|destinataire|correspondant|compte) (est )?(inconnu|inexistant)|"
    r"adresse( [ée]lectronique| e-?mail| mail)?( du destinataire)? (est )?"
    r"(introuvable|inexistante|inconnue|invalide)|"
    r"bo[iî]te (aux lettres|mail|e-?mail)( du destinataire)? (est )?(inexistante|introuvable)|"
    r"(adresse|destinataire|utilisateur|bo[iî]te aux lettres|compte)[^.\n]{0,40}"
    r"n['’]existe (pas|plus)", re.IGNORECASE)
# A notice that the server is still trying: whatever it says about the mailbox, nothing has
# failed yet.
_PROSE_DELAY = re.compile(
    r"still trying|will (continue|keep) (trying|to try)|not yet been delivered|"
    r"delivery (has been |is )?delayed|will retry|pas encore (pu )?[ée]t[ée] (remis|distribu)|"
    r"nouvelle tentative|nouvel essai|sera r[ée]essay", re.IGNORECASE)
# Where a bounce starts quoting the original message: the words of our own mailing (which
# may well contain "adresse introuvable") are not the server's.
_QUOTE_START = re.compile(
    r"^\s*(-+ ?below this line is a copy|-+ ?this is a copy of the message|"
    r"-+ ?original message|-+ ?message d'origine|-+ ?message original|"
    r"-+ ?copie du message)", re.IGNORECASE)
_TRANSIENT = re.compile(r"(?<![\d.])(4\.\d{1,3}\.\d{1,3}|4[0-5]\d)(?![\d.])")


@dataclass
class RecipientReport:
    final_recipient: str
    action: str
    status: str = ""
    diagnostic: str = ""
    original_recipient: str = ""
    # The Status field as the report wrote it, when `status` was taken from the diagnostic
    # instead (a generic X.0.0 next to the remote server's precise code).
    reported_status: str = ""

    @property
    def reason(self) -> str:
        """The diagnostic for display: verbatim, after the report's own generic Status when
        the code used came from the diagnostic."""
        if self.reported_status:
            return f"Status: {self.reported_status}; {self.diagnostic}"
        return self.diagnostic

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


def _precise_status(status: str, diagnostic: str) -> str:
    """Exim and some gateways write a generic `Status: 5.0.0` while the diagnostic carries the
    remote server's enhanced code ("smtp; 550 5.1.1 ..."): that code, when of the same
    class; otherwise ""."""
    if not re.fullmatch(r"[245]\.0\.0", status):
        return ""
    for found in _STATUS.finditer(diagnostic):
        code = found.group(0)
        if code[0] == status[0] and not code.endswith(".0.0"):
            return code
    return ""


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
        status = _status(_field(block, "Status"))
        diagnostic = _field(block, "Diagnostic-Code")
        precise = _precise_status(status, diagnostic)
        result.recipients.append(RecipientReport(
            final_recipient=final, action=action, status=precise or status,
            reported_status=status if precise else "", diagnostic=diagnostic,
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


_AUTO_REPLY_SUBJECT = re.compile(
    r"out of (the )?office|absen(t|ce)|auto(matic)?[ -]?(reply|response)|"
    r"r[ée]ponse automatique|vacances|cong[ée]s?\b", re.IGNORECASE)


def _auto_reply(message: EmailMessage) -> bool:
    """An RFC 3834 auto-reply (out of office…), which may come from a null sender too.
    Postfix and Exim mark their own bounces "Auto-Submitted: auto-replied", so a report
    whose From is MAILER-DAEMON / postmaster is a mail system's, whatever its headers."""
    addresses = _ADDRESS.findall(str(message.get("From", "")))
    if addresses and _MAIL_SYSTEMS.match(addresses[0]):
        return False
    auto = str(message.get("Auto-Submitted", "no")).strip().lower()
    return (auto.startswith("auto-replied")
            or bool(message.get("X-Autoreply") or message.get("X-Autorespond"))
            or str(message.get("Precedence", "")).strip().lower() == "auto_reply"
            or bool(_AUTO_REPLY_SUBJECT.search(str(message.get("Subject", "")))))


def _written_by_mail_system(message: EmailMessage) -> bool:
    """For a sentence without a code (weaker evidence than a code) the report must also say
    it is from a mail system in its From: a person's reply sent with a null envelope sender
    (some webmails, forwarding rules) quoting "no such user" is not a bounce."""
    addresses = _ADDRESS.findall(str(message.get("From", "")))
    return not addresses or bool(_MAIL_SYSTEMS.match(addresses[0]))


def _prose_status(line: str) -> str:
    """5.2.2 (mailbox full) or 5.1.1 (no such user) for a sentence that says so without a
    code; "" otherwise, and for a line quoting a transient code (the server will retry)."""
    if line.lstrip().startswith(">") or _TRANSIENT.search(line):
        return ""
    if _PROSE_MAILBOX_FULL.search(line):
        return "5.2.2"
    if _PROSE_UNKNOWN_USER.search(line):
        return "5.1.1"
    return ""


def _best_effort(message: EmailMessage, mail_from: str) -> DeliveryReport | None:
    """A bounce in prose (qmail, old Exim, some appliances), only in mail from a mail system:
    a line with a permanent SMTP code (see _PERMANENT_LINE), or, in a report that is neither
    an auto-reply nor a delay notice, a sentence saying the mailbox is full or does not exist
    (see _PROSE_*). Each is attributed to the address on its line or just before."""
    if not from_mail_system(message, mail_from):
        return None
    body = message.get_body(preferencelist=("plain",))
    text = _text(body) if body is not None else ""
    result = DeliveryReport(standard=False, original_message_id=_original_message_id(message))
    if not result.original_message_id:
        found = re.search(r"^Message-ID:\s*(<[^>\s]+>)", text, re.IGNORECASE | re.MULTILINE)
        result.original_message_id = found.group(1) if found else ""
    prose = (_written_by_mail_system(message) and not _auto_reply(message)
             and not _PROSE_DELAY.search(text))
    current = ""
    seen = set()
    for line in text.splitlines():
        if (re.match(r"^\s*(Message-ID|From|To|Subject|Return-Path|Received):", line, re.I)
                or _QUOTE_START.match(line)):
            break  # the quoted original starts: its addresses are not recipients
        addresses = _ADDRESS.findall(line)
        if addresses:
            current = addresses[-1] if len(addresses) == 1 else addresses[0]
        evidence = _PERMANENT_LINE.search(line)
        status = _prose_status(line) if prose and not evidence else ""
        if evidence or status:
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
