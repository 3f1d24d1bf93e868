"""The inbound SMTP server (`manage.py run_inbound_smtp`): delivery reports and replies.

It answers for the integrated domain only:
- `bounces+<id>-<sig>@domain` (the VERP envelope sender of every message sent through the
  integrated service): delivery reports, applied by `mailing.tracking.reports`. A forged or unknown
  signature is refused at RCPT.
- `<local part>@domain` of an integrated account with a forwarding address: replies, forwarded
  to the school's real address. Other local parts are refused at RCPT (550 5.1.1), other
  domains too (550 5.7.1, no relaying).

Nothing is lost: every accepted message is first stored (InboundMessage, bytes as received),
then processed in the same SMTP transaction. If processing fails for a reason that may pass
(database, the relay down), the answer is 451 and the sending server retries later.

Forwarding format: a new message from the account's own address (so SPF, DKIM and DMARC hold
for our domain — re-sending the parent's From would fail DMARC at the school's server), with
Reply-To set to the original sender so that "Reply" reaches the parent, the original's text
quoted in the body and the original attached whole as message/rfc822.

Loop protection: nothing automatic is forwarded — an empty envelope sender, MAILER-DAEMON,
Auto-Submitted other than "no", Precedence bulk / junk / auto_reply, X-Autoreply, or our own
X-Loop. Forwards carry `Auto-Submitted: auto-generated` and `X-Loop`, so a school mailbox
that answers or forwards automatically cannot bounce them back into a loop; and a delivery
report arriving at an account address (a server that ignored the envelope sender) is applied
to the message it names instead of being forwarded.
"""

import hashlib
import logging
import traceback
from datetime import timedelta
from email import policy
from email.message import EmailMessage
from email.utils import formataddr, formatdate, getaddresses, make_msgid, parseaddr

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import close_old_connections
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from mailing.mailings.rendering import dkim_sign
from mailing.models import InboundMessage, Message, SendingAccount
from mailing.sending_accounts.services import account_connection_settings
from mailing.sending_accounts.smtp import ErrorKind, SMTPConnection, SMTPFailure
from mailing.tracking import dsn
from mailing.tracking import reports as tracking
from mailing.tracking.inbound_limits import ConnectionLimiter, _limited_smtp

logger = logging.getLogger(__name__)
Outcome = InboundMessage.Outcome
RELAY_DENIED = "550 5.7.1 Relaying denied"
UNKNOWN_RECIPIENT = "550 5.1.1 No such recipient here"
TRY_LATER = "451 4.3.0 Temporary failure, please try again later"


class ForwardRefused(Exception):
    """The forwarding address was refused for good (5xx): retrying would not help."""


def _domain_of(address: str) -> str:
    return address.rpartition("@")[2].lower()


def _local_part(address: str) -> str:
    return address.rpartition("@")[0]


def integrated_account_for(address: str) -> SendingAccount | None:
    """The integrated account whose address this is, if it has somewhere to forward to."""
    if _domain_of(address) != settings.INTEGRATED_MAIL_DOMAIN.lower():
        return None
    return (SendingAccount.objects.filter(kind=SendingAccount.Kind.INTEGRATED,
                                          integrated_local_part__iexact=_local_part(address))
            .exclude(forward_to="").order_by("pk").first())


def recipient_verdict(address: str) -> str | None:
    """None if we take mail for `address`; otherwise the SMTP refusal."""
    if _domain_of(address) != settings.INTEGRATED_MAIL_DOMAIN.lower():
        return RELAY_DENIED
    if tracking.verp_message_pk(address) is not None:
        return None
    if integrated_account_for(address) is not None:
        return None
    return UNKNOWN_RECIPIENT


# --- processing ------------------------------------------------------------------------------

def is_automatic(message: EmailMessage, mail_from: str) -> bool:
    """Mail written by a program (bounce, auto-reply, list, our own forward): never forwarded."""
    if dsn.from_mail_system(message, mail_from):
        return True
    auto = str(message.get("Auto-Submitted", "no")).strip().lower()
    if auto and not auto.startswith("no"):
        return True
    if str(message.get("Precedence", "")).strip().lower() in ("bulk", "junk", "auto_reply"):
        return True
    if message.get("X-Autoreply") or message.get("X-Autorespond"):
        return True
    domain = "@" + settings.INTEGRATED_MAIL_DOMAIN.lower()
    return any(domain in str(value).lower() for value in message.get_all("X-Loop", []))


# When one transaction has several recipients, the row shows the most significant outcome.
_RANK = [Outcome.RECEIVED, Outcome.IGNORED, Outcome.NOT_FORWARDED, Outcome.UNMATCHED,
         Outcome.TRACKED, Outcome.FORWARDED, Outcome.HELD]


def _note(inbound: InboundMessage, outcome: str, text: str) -> str:
    if _RANK.index(outcome) > _RANK.index(inbound.outcome):
        inbound.outcome = outcome
    return text


def _track(inbound: InboundMessage, message: Message | None, report) -> str:
    # Only a signed VERP address proves which message a report is about; one found by its
    # Message-ID (which every recipient knows) is recorded as a note and changes nothing.
    verified = message is not None
    if message is None:
        message = tracking.message_for_report(report)
    if message is None:
        return _note(inbound, Outcome.UNMATCHED, "delivery report for no known message")
    inbound.message = message
    applied = tracking.delivery_report_apply(message=message, report=report,
                                             verified=verified)
    return _note(inbound, Outcome.TRACKED, "; ".join(str(item) for item in applied))


def _original_id(parsed: EmailMessage, raw: bytes) -> str:
    message_id = " ".join(str(parsed.get("Message-ID", "")).split())
    return (message_id or "sha256:" + hashlib.sha256(raw).hexdigest())[:300]


def _already_forwarded(inbound: InboundMessage, account: SendingAccount) -> bool:
    earlier = (InboundMessage.objects.filter(original_id=inbound.original_id)
               .exclude(pk=inbound.pk).values_list("forwarded_accounts", flat=True))
    return any(account.pk in accounts for accounts in earlier)


def forward_cap_reached(account: SendingAccount) -> bool:
    """REPLY_FORWARD_MAX_PER_HOUR replies forwarded for `account` in the last hour."""
    since = timezone.now() - timedelta(hours=1)
    earlier = InboundMessage.objects.filter(received_at__gte=since).exclude(
        forwarded_accounts=[]).values_list("forwarded_accounts", flat=True)
    return sum(account.pk in accounts for accounts in earlier) >= (
        settings.REPLY_FORWARD_MAX_PER_HOUR)


def replies_held_notify(*, account: SendingAccount) -> bool:
    """Tell the administrators, once per hour and account, that replies are being held.
    The conditional update is the claim: two sessions holding at once send one notice."""
    from accounts.models import Profile, User
    from mailing.automated.services import system_mail_to_user

    now = timezone.now()
    claimed = SendingAccount.objects.filter(pk=account.pk).filter(
        Q(replies_held_notified_at__isnull=True)
        | Q(replies_held_notified_at__lt=now - timedelta(hours=1))).update(
        replies_held_notified_at=now)
    if not claimed:
        return False
    administrators = User.objects.filter(is_active=True, profile__code=Profile.ADMIN)
    context = {"compte": {"nom": account.name, "adresse": account.envelope_from},
               "plafond": settings.REPLY_FORWARD_MAX_PER_HOUR,
               "lien": settings.SITE_URL.rstrip("/") + reverse("mailings:replies_held")}
    for administrator in administrators:
        system_mail_to_user("replies_held", administrator, context=context)
    logger.warning("Inbound SMTP: replies to account %s held (hourly cap), %d administrators "
                   "told", account.pk, len(administrators))
    return True


def inbound_process(inbound: InboundMessage) -> None:
    """Route a stored message by its envelope recipients. Raises on a failure worth
    retrying (the caller answers 451); records everything else on `inbound`."""
    raw = bytes(inbound.raw)
    parsed = dsn.parse_message(raw)
    report = dsn.parse_delivery_report(raw, mail_from=inbound.mail_from)
    inbound.original_id = _original_id(parsed, raw)
    inbound.save(update_fields=["original_id"])
    notes = []
    forwarded: set[int] = set()
    for address in inbound.rcpt_tos:
        message_pk = tracking.verp_message_pk(address)
        if message_pk is not None:
            if report is None:
                notes.append(_note(inbound, Outcome.IGNORED,
                                   f"{address}: not a delivery report, ignored"))
                continue
            message = Message.objects.filter(pk=message_pk).first()
            notes.append(f"{address}: " + _track(inbound, message, report))
            continue
        account = integrated_account_for(address)
        if account is None:
            notes.append(_note(inbound, Outcome.IGNORED, f"{address}: no longer an account"))
            continue
        inbound.account = account
        if is_automatic(parsed, inbound.mail_from):
            if report is not None:
                notes.append(f"{address}: " + _track(inbound, None, report))
            else:
                notes.append(_note(inbound, Outcome.NOT_FORWARDED,
                                   f"{address}: automatic message, not forwarded"))
            continue
        if account.pk in forwarded:
            continue
        if _already_forwarded(inbound, account):
            forwarded.add(account.pk)
            notes.append(_note(inbound, Outcome.FORWARDED,
                               f"{address}: already forwarded (the sender retried)"))
            continue
        if forward_cap_reached(account):
            notes.append(_note(inbound, Outcome.HELD,
                               f"{address}: held, not forwarded (more than "
                               f"{settings.REPLY_FORWARD_MAX_PER_HOUR} replies in an hour)"))
            inbound.account = account
            replies_held_notify(account=account)
            continue
        reply = reply_forward(account=account, original=parsed, raw=raw,
                              mail_from=inbound.mail_from)
        forwarded.add(account.pk)
        inbound.forwarded_accounts = sorted(forwarded)
        notes.append(_note(inbound, Outcome.FORWARDED,
                           f"{address}: forwarded to {account.forward_to} ({reply})"))
        inbound.account = account
        inbound.details = "\n".join(notes)
        # Saved at once: if a later recipient fails (451) and the sender retries, this
        # forward is not made again.
        inbound.save(update_fields=["outcome", "details", "account", "forwarded_accounts"])
    inbound.details = "\n".join(notes)
    inbound.save(update_fields=["outcome", "details", "message", "account"])


def inbound_receive(*, mail_from: str, rcpt_tos: list[str], raw: bytes,
                    peer: str = "") -> InboundMessage:
    """Store first, then process. The stored row stays whatever happens, with the reason."""
    inbound = InboundMessage.objects.create(mail_from=mail_from or "", rcpt_tos=list(rcpt_tos),
                                            raw=raw, peer=peer)
    try:
        inbound_process(inbound)
    except Exception:
        InboundMessage.objects.filter(pk=inbound.pk).update(
            outcome=Outcome.FAILED, details=traceback.format_exc()[-4000:])
        raise
    return inbound


# --- forwarding ------------------------------------------------------------------------------

def _original_text(original: EmailMessage) -> str:
    body = original.get_body(preferencelist=("plain",))
    if body is None:
        return ""
    try:
        return body.get_content()
    except (LookupError, ValueError):
        return ""


def reply_forward(*, account: SendingAccount, original: EmailMessage, raw: bytes,
                  mail_from: str) -> str:
    """Forward a reply to the account's school address; returns the relay's answer.
    Raises SMTPFailure when it may pass, ForwardRefused when the address is refused."""
    sender_name, sender = parseaddr(str(original.get("From", "")))
    sender = sender or mail_from
    reply_to = [a for _, a in getaddresses([str(v) for v in original.get_all("Reply-To", [])])
                if a] or [sender]
    with translation.override(settings.LANGUAGE_CODE):
        display = _("%(sender)s via %(account)s") % {
            "sender": sender_name or sender, "account": account.sender_name or account.name}
        intro = _("Reply from %(sender)s to %(address)s, forwarded by Eduka. Answer it with "
                  "“Reply”: it goes to the sender. The original message is attached.") % {
            "sender": formataddr((sender_name, sender)), "address": account.envelope_from}
    forward = EmailMessage(policy=policy.SMTP)
    forward["From"] = formataddr((display, account.envelope_from))
    forward["To"] = account.forward_to
    forward["Reply-To"] = ", ".join(reply_to)
    forward["Subject"] = str(original.get("Subject", "")) or "(no subject)"
    forward["Date"] = formatdate(localtime=True)
    forward["Message-ID"] = make_msgid(domain=settings.INTEGRATED_MAIL_DOMAIN)
    for name in ("In-Reply-To", "References"):
        if original.get(name):
            forward[name] = " ".join(str(original[name]).split())
    forward["Auto-Submitted"] = "auto-generated"
    forward["X-Loop"] = account.envelope_from
    text = _original_text(original)
    quoted = "\n".join("> " + line for line in text.splitlines())
    forward.set_content(f"{intro}\n\n{quoted}\n" if quoted else f"{intro}\n")
    forward.add_attachment(original, filename="message.eml")
    payload = dkim_sign(forward.as_bytes())
    try:
        with SMTPConnection(account_connection_settings(account)) as connection:
            result = connection.send(payload, account.envelope_from, [account.forward_to])
    except SMTPFailure as failure:
        if failure.transient:
            raise
        raise ForwardRefused(failure.server_reply) from failure
    if not result.accepted:
        code, text = result.refused[account.forward_to]
        if 400 <= code < 500:
            raise SMTPFailure(ErrorKind.TEMPORARY, text, code)
        raise ForwardRefused(f"{code} {text}")
    return result.reply


# --- the aiosmtpd handler --------------------------------------------------------------------

def _db(function):
    """ORM work from the server's event loop: in a worker thread, on a fresh connection if
    the last one went stale (a long-running process). Not thread-sensitive: one session
    waiting on a slow relay (a forward) must not hold up the others' RCPT checks."""
    def call(*args, **kwargs):
        close_old_connections()
        try:
            return function(*args, **kwargs)
        finally:
            close_old_connections()
    return sync_to_async(call, thread_sensitive=False)


class InboundHandler:
    async def handle_RCPT(self, server, session, envelope, address,  # noqa: N802
                          rcpt_options):
        try:
            refusal = await _db(recipient_verdict)(address)
        except Exception:  # noqa: BLE001 (the database is down: ask to retry)
            logger.exception("Inbound SMTP: cannot check recipient %s", address)
            return TRY_LATER
        if refusal:
            return refusal
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        peer = str(session.peer[0]) if session.peer else ""
        try:
            await _db(inbound_receive)(mail_from=envelope.mail_from or "",
                                       rcpt_tos=list(envelope.rcpt_tos),
                                       raw=bytes(envelope.original_content or b""), peer=peer)
        except ForwardRefused as refused:
            # The relay's text names the school's private address: it stays in the log.
            logger.warning("Inbound SMTP: forward refused: %s", refused)
            return "554 5.0.0 Forwarding failed"
        except Exception:  # noqa: BLE001 (stored; the sender retries)
            logger.exception("Inbound SMTP: processing failed, answered 451")
            return TRY_LATER
        return "250 2.0.0 OK"


def inbound_controller(*, host: str, port: int):
    """The server, not started: `.start()` / `.stop()` (aiosmtpd runs it in its thread)."""
    from aiosmtpd.controller import Controller

    limiter = ConnectionLimiter(
        concurrent=settings.INBOUND_SMTP_MAX_CONNECTIONS_PER_IP,
        per_minute=settings.INBOUND_SMTP_CONNECTIONS_PER_MINUTE_PER_IP)
    server_class = _limited_smtp(limiter)

    class LimitedController(Controller):
        def factory(self):
            return server_class(self.handler, **self.SMTP_kwargs)

    return LimitedController(InboundHandler(), hostname=host, port=port,
                             server_hostname=settings.INBOUND_SMTP_HOSTNAME,
                             data_size_limit=settings.INBOUND_SMTP_MAX_BYTES,
                             timeout=settings.INBOUND_SMTP_TIMEOUT,
                             enable_SMTPUTF8=True)
