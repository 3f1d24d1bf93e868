"""Writes on mailings: submit, pause, resume, cancel, retry. The engine does the sending."""

import logging
import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import DatabaseError, IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from mailing.engine import cancel_unstarted
from mailing.engine.claims import refresh_mailing_status
from mailing.engine.queue import enqueue_account
from mailing.mailings.audience import Audience, Plan, resolve
from mailing.mailings.rendering import new_message_id
from mailing.models import Mailing, Message, Recipient, SendingAccount

S = Message.Status
logger = logging.getLogger(__name__)


def _bulk_insert(model, names: tuple[str, ...], rows: list[tuple], **shared) -> None:
    """INSERT many rows at once, without a model instance per row: COPY on PostgreSQL, one
    executemany on SQLite.

    Each row gives the values of the columns `names` (attribute names, e.g. "message_id");
    `shared` gives values common to every row, and any other column gets its field's default.
    Every value still goes through its field's own conversion for the database in use, but a
    shared or default value is converted once, not once per row: bulk_create, then a model
    instance per row, spent most of a 20,000-recipient submission converting the same values
    again and again (see the benchmark). Callers give what save() would set (auto_now
    fields); ids are not returned.
    """
    if not rows:
        return
    connection = transaction.get_connection()  # the connection itself, not the proxy
    fields = {f.attname: f for f in model._meta.concrete_fields if not f.primary_key}
    missing = [name for name, f in fields.items()
               if (getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False))
               and name not in names and name not in shared]
    if missing:
        raise ValueError(f"_bulk_insert needs a value for {', '.join(missing)}")
    constant = {name: f.get_db_prep_save(shared[name] if name in shared else f.get_default(),
                                          connection)
                for name, f in fields.items() if name not in names}
    columns = [*names, *constant]
    quote = connection.ops.quote_name
    table = (f"{quote(model._meta.db_table)} "
             f"({', '.join(quote(fields[name].column) for name in columns)})")
    converters = [fields[name].get_db_prep_save for name in names]
    tail = tuple(constant.values())

    def converted(chunk):
        return ((*(convert(value, connection) for convert, value in zip(converters, row,
                                                                        strict=True)), *tail)
                for row in chunk)

    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # One COPY, streamed: PostgreSQL parses and inserts it as one statement (its
            # triggers run once), where executemany sent one INSERT per row.
            with cursor.cursor.copy(f"COPY {table} FROM STDIN") as copy:  # noqa: S608
                for row in converted(rows):
                    copy.write_row(row)
            return
        sql = f"INSERT INTO {table} VALUES ({', '.join(['%s'] * len(columns))})"  # noqa: S608
        for start in range(0, len(rows), 5000):
            cursor.executemany(sql, list(converted(rows[start:start + 5000])))


def _enqueue_after_commit(account: SendingAccount, mailing: Mailing | None = None) -> None:
    """Once committed, ask for as many workers as the account may use connections, so that a
    mailing starts on all of them at once. `mailing.enqueued` then tells whether the broker
    took the work (when it did not, beat's sweep sends it once the broker is back)."""
    def enqueue():
        enqueued = enqueue_account(account.pk, is_system=account.is_system,
                                   connections=account.parallel_connections)
        if mailing is not None:
            mailing.enqueued = enqueued

    transaction.on_commit(enqueue)


def _analyze_after_commit(written: int) -> None:
    """After a large submission, have PostgreSQL count the tables again. Until it does, a
    mailing it has no statistics for looks like a few dozen rows to the planner, which then
    reads and sorts all of its 100,000 recipients for the mailing page's first 50 (240 ms a
    page instead of 0.2): autovacuum would not count again before a tenth of the table has
    changed. After the commit, in a transaction of its own, so that its lock is held only
    while it samples (about 30,000 rows, whatever the tables' size); and never more than a
    moment's wait behind a VACUUM that holds the tables."""
    if (written < settings.MAILING_ANALYZE_AFTER
            or transaction.get_connection().vendor != "postgresql"):
        return

    def analyze():
        connection = transaction.get_connection()
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute("SET LOCAL lock_timeout = '2s'")
                cursor.execute(f"ANALYZE {Recipient._meta.db_table}, {Message._meta.db_table}")
        except DatabaseError:  # the mailing is submitted; autovacuum will count in time
            logger.warning("ANALYZE after a large submission failed", exc_info=True)

    transaction.on_commit(analyze)


def _lock_startable(mailing: Mailing, *, scheduled: bool) -> Mailing:
    """The mailing, locked, if it may start: a draft or a scheduled one (beat starts only the
    latter); otherwise it has already been sent."""
    mailing = Mailing.objects.select_for_update().select_related("account").get(pk=mailing.pk)
    startable = [Mailing.Status.SCHEDULED] if scheduled else [Mailing.Status.DRAFT,
                                                              Mailing.Status.SCHEDULED]
    if mailing.status not in startable:
        raise ValidationError(_("This mailing has already been sent."), code="not_draft")
    return mailing


def mailing_plan(mailing: Mailing) -> Plan:
    """Who the mailing goes to, resolved now, on its account's channel (e-mail or SMS)."""
    return resolve(Audience.from_json(mailing.audience), mailing.mode, sms=mailing.is_sms)


@transaction.atomic
def mailing_submit(*, mailing: Mailing, plan: Plan | None = None,
                   scheduled: bool = False) -> Mailing:
    """Resolve the audience and write every message and recipient, in bulk, in this
    transaction; the workers are asked to start only once it has committed. Beat starts a
    scheduled mailing (`scheduled`); a person may also send it at once."""
    mailing = _lock_startable(mailing, scheduled=scheduled)
    account = mailing.account
    if account.is_system is False and not account.is_configured:
        raise ValidationError(_("The sending account is not configured."), code="account")
    plan = plan or mailing_plan(mailing)
    priority = 0 if account.is_system else 5
    # Plain tuples (see _bulk_insert): (context, Message-ID), (Message-ID, email, name, student).
    messages: list[tuple[dict, str]] = []
    recipients: list[tuple[str, str, str, str]] = []
    skipped: list[tuple[str, str, str, str]] = []

    def new_message(context) -> str:
        message_id = new_message_id(account, uuid.uuid4().hex)
        messages.append((context, message_id))
        return message_id

    def person_row(planned) -> tuple[str, str, str]:
        return planned.email, planned.name[:300], planned.student_name[:300]

    for planned in plan.messages:
        deliverable = []
        for person in planned.recipients:
            if person.suppressed_reason:
                skipped.append((*person_row(person), person.suppressed_reason))
            else:
                deliverable.append(person)
        if not deliverable:
            continue
        if mailing.mode == Mailing.Mode.BCC:
            size = account.max_bcc_recipients
            for start in range(0, len(deliverable), size):
                message_id = new_message(planned.context)
                recipients.extend((message_id, *person_row(p))
                                  for p in deliverable[start:start + size])
        else:
            message_id = new_message(planned.context)
            recipients.extend((message_id, *person_row(p)) for p in deliverable)
    now = timezone.now()
    _bulk_insert(Message, ("context", "message_id"), messages, mailing_id=mailing.pk,
                 account_id=account.pk, priority=priority, status=S.QUEUED, created_at=now)
    ids = dict(Message.objects.filter(mailing=mailing).values_list("message_id", "pk"))
    _bulk_insert(Recipient, ("message_id", "email", "name", "student_name"),
                 [(ids[message_id], *person) for message_id, *person in recipients],
                 mailing_id=mailing.pk, status=S.QUEUED, updated_at=now)
    _bulk_insert(Recipient, ("email", "name", "student_name", "smtp_text"), skipped,
                 mailing_id=mailing.pk, message_id=None, status=S.SKIPPED, updated_at=now)
    mailing.status = Mailing.Status.QUEUED if messages else Mailing.Status.DONE
    mailing.submitted_at = timezone.now()
    if not messages:
        mailing.finished_at = mailing.submitted_at
    mailing.save(update_fields=["status", "submitted_at", "finished_at"])
    if messages:
        _enqueue_after_commit(account, mailing)
    _analyze_after_commit(len(recipients) + len(skipped))
    return mailing


@transaction.atomic
def mailing_pause(*, mailing: Mailing) -> None:
    Mailing.objects.filter(pk=mailing.pk, status__in=[Mailing.Status.QUEUED,
                                                       Mailing.Status.SENDING]).update(
        status=Mailing.Status.PAUSED)


@transaction.atomic
def mailing_resume(*, mailing: Mailing) -> None:
    resumed = Mailing.objects.filter(pk=mailing.pk, status=Mailing.Status.PAUSED).update(
        status=Mailing.Status.QUEUED)
    if resumed:
        # Paused while its last messages were with the server: nothing is left to send, and
        # no worker will come back to say so — it is done now.
        refresh_mailing_status([mailing.pk])
        _enqueue_after_commit(mailing.account)


@transaction.atomic
def mailing_cancel(*, mailing: Mailing) -> int:
    """Stop everything not yet handed to a server — queued, deferred, and what a worker has
    claimed but not started — for good; what is in flight finishes and is recorded. Returns
    how many messages were cancelled."""
    # The messages' locks first, then the mailing's, in the order a worker's claim takes them
    # (PostgreSQL would otherwise abort one of the two as a deadlock).
    list(Message.objects.select_for_update().filter(
        mailing=mailing, status__in=[S.QUEUED, S.DEFERRED, S.SENDING]).values_list(
        "pk", flat=True))
    Mailing.objects.filter(pk=mailing.pk).exclude(
        status__in=[Mailing.Status.DONE, Mailing.Status.DRAFT]).update(
        status=Mailing.Status.CANCELLED, finished_at=timezone.now())
    return cancel_unstarted(mailing_ids=[mailing.pk], requested_too=True)


def _reopen(mailing: Mailing) -> None:
    """After a person asked for messages again: a finished mailing sends again; a paused one
    stays paused (they leave on resume); a cancelled one stays cancelled — only the messages
    they named leave (marked `requested_after_cancel`)."""
    Mailing.objects.filter(pk=mailing.pk, status=Mailing.Status.DONE).update(
        status=Mailing.Status.QUEUED, finished_at=None)
    _enqueue_after_commit(mailing.account)


@transaction.atomic
def mailing_retry_failed(*, mailing: Mailing) -> int:
    """Queue again the recipients that failed; those already sent are never resent."""
    mailing = Mailing.objects.select_for_update().get(pk=mailing.pk)
    failed = list(Recipient.objects.filter(mailing=mailing, status=S.FAILED)
                  .select_related("message"))
    if not failed:
        return 0
    account = mailing.account
    after_cancel = mailing.status == Mailing.Status.CANCELLED
    by_message: dict[int, list[Recipient]] = {}
    for recipient in failed:
        by_message.setdefault(recipient.message_id, []).append(recipient)
    for message_pk, recipients in by_message.items():
        message = recipients[0].message
        others_sent = Recipient.objects.filter(message_id=message_pk).exclude(
            status=S.FAILED).exists()
        if others_sent:
            message = Message.objects.create(
                mailing=mailing, account=account, priority=message.priority,
                context=message.context, message_id=new_message_id(account, uuid.uuid4().hex),
                requested_after_cancel=after_cancel)
        else:
            Message.objects.filter(pk=message_pk).update(
                status=S.QUEUED, next_attempt_at=None, requested_after_cancel=after_cancel)
        Recipient.objects.filter(pk__in=[r.pk for r in recipients]).update(
            status=S.QUEUED, message=message, smtp_code=None, smtp_text="")
    _reopen(mailing)
    return len(failed)


@transaction.atomic
def message_resend(*, message: Message) -> bool:
    """A person decided an uncertain message should go again (same Message-ID, so a receiving
    system that already has it can recognise the duplicate)."""
    mailing = Mailing.objects.select_for_update().get(pk=message.mailing_id)
    updated = Message.objects.filter(pk=message.pk, status=S.UNCERTAIN).update(
        status=S.QUEUED, in_flight_at=None, next_attempt_at=None,
        requested_after_cancel=mailing.status == Mailing.Status.CANCELLED)
    if updated:
        Recipient.objects.filter(message=message, status=S.UNCERTAIN).update(status=S.QUEUED)
        _reopen(mailing)
    return bool(updated)


@transaction.atomic
def account_resume(*, account: SendingAccount) -> None:
    """After an administrator fixed a paused account: send what waits, nothing twice."""
    SendingAccount.objects.filter(pk=account.pk).update(paused_reason="", paused_at=None)
    _enqueue_after_commit(account)


@transaction.atomic
def mailing_save_draft(*, mailing: Mailing | None, user, account: SendingAccount, mode: str,
                       subject: str, body_text: str, body_html: str, audience: dict,
                       uploads=(), compose_token=None) -> Mailing:
    """Save the compose page as a draft. A new draft carries the page's `compose_token`: the
    same page submitted again (a double click) returns that draft instead of a second one."""
    from django.core.files.base import File

    from mailing.models import Attachment

    if mailing is not None and mailing.status != Mailing.Status.DRAFT:
        raise ValidationError(_("This mailing has already been sent."), code="not_draft")
    if mailing is None and compose_token is not None:
        existing = Mailing.objects.filter(created_by=user, compose_token=compose_token).first()
        if existing is not None:
            return existing
    new = mailing is None
    mailing = mailing or Mailing(created_by=user, compose_token=compose_token)
    mailing.account = account
    mailing.mode = mode
    mailing.subject = subject
    mailing.body_text = body_text
    mailing.body_html = body_html
    mailing.audience = audience
    try:
        with transaction.atomic():
            mailing.save()
    except IntegrityError:
        if not new or compose_token is None:
            raise
        # The same page submitted twice at once: the other request saved it first.
        return Mailing.objects.get(created_by=user, compose_token=compose_token)
    for upload in uploads:
        attachment = Attachment(mailing=mailing, filename=upload.clean_name,
                                content_type=upload.clean_type, size=upload.size)
        # Stored once for the mailing, never once per recipient.
        attachment.file.save(upload.clean_name, File(upload), save=False)
        attachment.save()
    return mailing


def mailing_test_send(*, mailing: Mailing, to_email: str, index: int = 0):
    """Send the preview of one recipient's message to the author only, subject marked as a
    test, through the mailing's account (see services.send_now)."""
    from mailing.mailings.rendering import MailingRenderer, envelope_sender
    from mailing.sending_accounts.services import TestOutcome, send_now

    plan = mailing_plan(mailing)
    if not plan.messages:
        return TestOutcome(ok=False, server_reply=_("This mailing has no recipient yet."))
    planned = plan.messages[min(index, len(plan.messages) - 1)]
    message = Message(mailing=mailing, account=mailing.account, context=planned.context,
                      message_id=new_message_id(mailing.account, uuid.uuid4().hex), pk=0)
    renderer = MailingRenderer(mailing)
    renderer.subject_prefix = "[" + str(_("TEST")) + "] "
    payload = renderer.build(message, [Recipient(email=to_email, name=str(_("Test")))])
    return send_now(account=mailing.account, payload=payload,
                    envelope_from=envelope_sender(mailing.account, 0), to_email=to_email)
