"""Writes on mailings: submit, pause, resume, cancel, retry. The engine does the sending."""

import uuid

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from .audience import Audience, Plan, resolve
from .models import Mailing, Message, Recipient, SendingAccount
from .models.mailings import DUE_STATUSES
from .rendering import new_message_id
from .tasks import enqueue_account

S = Message.Status


def _bulk_insert(model, objects) -> None:
    """INSERT many rows with one executemany.

    bulk_create spent most of a 20,000-recipient submission compiling SQL (see the benchmark);
    the values still go through each field's own conversion for the database in use. Callers
    set what save() would (auto_now fields); ids are not returned.
    """
    if not objects:
        return
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    quote = connection.ops.quote_name
    sql = (f"INSERT INTO {quote(model._meta.db_table)} "  # noqa: S608 (names from the model)
           f"({', '.join(quote(f.column) for f in fields)}) "
           f"VALUES ({', '.join(['%s'] * len(fields))})")
    rows = [[field.get_db_prep_save(getattr(obj, field.attname), connection)
             for field in fields] for obj in objects]
    with connection.cursor() as cursor:
        for start in range(0, len(rows), 5000):
            cursor.executemany(sql, rows[start:start + 5000])


def _enqueue_after_commit(account: SendingAccount) -> None:
    transaction.on_commit(lambda: enqueue_account(account.pk, is_system=account.is_system))


@transaction.atomic
def mailing_submit(*, mailing: Mailing, plan: Plan | None = None) -> Mailing:
    """Resolve the audience and write every message and recipient, in bulk, in this
    transaction; the workers are asked to start only once it has committed."""
    mailing = Mailing.objects.select_for_update().select_related("account").get(pk=mailing.pk)
    if mailing.status != Mailing.Status.DRAFT:
        raise ValidationError(_("This mailing has already been sent."), code="not_draft")
    account = mailing.account
    if account.is_system is False and not account.is_configured:
        raise ValidationError(_("The sending account is not configured."), code="account")
    plan = plan or resolve(Audience.from_json(mailing.audience), mailing.mode)
    priority = 0 if account.is_system else 5
    messages: list[Message] = []
    recipients_by_message: list[list[Recipient]] = []
    skipped: list[Recipient] = []

    def recipient_row(planned, status=S.QUEUED, text=""):
        return Recipient(mailing=mailing, email=planned.email, name=planned.name[:300],
                         student_name=planned.student_name[:300], status=status,
                         smtp_text=text)

    def new_message(context):
        return Message(mailing=mailing, account=account, priority=priority, context=context,
                       message_id=new_message_id(account, uuid.uuid4().hex))

    for planned in plan.messages:
        deliverable = []
        for person in planned.recipients:
            if person.suppressed_reason:
                skipped.append(recipient_row(person, S.SKIPPED, person.suppressed_reason))
            else:
                deliverable.append(person)
        if not deliverable:
            continue
        if mailing.mode == Mailing.Mode.BCC:
            size = account.max_bcc_recipients
            for start in range(0, len(deliverable), size):
                messages.append(new_message(planned.context))
                recipients_by_message.append(
                    [recipient_row(p) for p in deliverable[start:start + size]])
        else:
            messages.append(new_message(planned.context))
            recipients_by_message.append([recipient_row(p) for p in deliverable])
    now = timezone.now()
    for message in messages:
        message.created_at = now
    _bulk_insert(Message, messages)
    ids = dict(Message.objects.filter(mailing=mailing).values_list("message_id", "pk"))
    rows = []
    for message, recipients in zip(messages, recipients_by_message, strict=True):
        for recipient in recipients:
            recipient.message_id = ids[message.message_id]
            rows.append(recipient)
    for recipient in rows + skipped:
        recipient.updated_at = now
    _bulk_insert(Recipient, rows + skipped)
    mailing.status = Mailing.Status.QUEUED if messages else Mailing.Status.DONE
    mailing.submitted_at = timezone.now()
    if not messages:
        mailing.finished_at = mailing.submitted_at
    mailing.save(update_fields=["status", "submitted_at", "finished_at"])
    if messages:
        _enqueue_after_commit(account)
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
        _enqueue_after_commit(mailing.account)


@transaction.atomic
def mailing_cancel(*, mailing: Mailing) -> None:
    """Stop what has not left; what is in flight finishes and is recorded."""
    Mailing.objects.filter(pk=mailing.pk).exclude(status=Mailing.Status.DONE).update(
        status=Mailing.Status.CANCELLED, finished_at=timezone.now())
    pending = Message.objects.filter(mailing=mailing, status__in=DUE_STATUSES)
    Recipient.objects.filter(message__in=pending, status__in=DUE_STATUSES).update(
        status=S.CANCELLED)
    pending.update(status=S.CANCELLED)


@transaction.atomic
def mailing_retry_failed(*, mailing: Mailing) -> int:
    """Queue again the recipients that failed; those already sent are never resent."""
    failed = list(Recipient.objects.filter(mailing=mailing, status=S.FAILED)
                  .select_related("message"))
    if not failed:
        return 0
    account = mailing.account
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
                context=message.context, message_id=new_message_id(account, uuid.uuid4().hex))
        else:
            Message.objects.filter(pk=message_pk).update(status=S.QUEUED, next_attempt_at=None)
        Recipient.objects.filter(pk__in=[r.pk for r in recipients]).update(
            status=S.QUEUED, message=message, smtp_code=None, smtp_text="")
    Mailing.objects.filter(pk=mailing.pk).update(status=Mailing.Status.QUEUED, finished_at=None)
    _enqueue_after_commit(account)
    return len(failed)


@transaction.atomic
def message_resend(*, message: Message) -> None:
    """A person decided an uncertain message should go again (same Message-ID, so a receiving
    system that already has it can recognise the duplicate)."""
    updated = Message.objects.filter(pk=message.pk, status=S.UNCERTAIN).update(
        status=S.QUEUED, in_flight_at=None, next_attempt_at=None)
    if updated:
        Recipient.objects.filter(message=message, status=S.UNCERTAIN).update(status=S.QUEUED)
        Mailing.objects.filter(pk=message.mailing_id).exclude(
            status=Mailing.Status.CANCELLED).update(status=Mailing.Status.QUEUED,
                                                    finished_at=None)
        _enqueue_after_commit(message.account)


@transaction.atomic
def account_resume(*, account: SendingAccount) -> None:
    """After an administrator fixed a paused account: send what waits, nothing twice."""
    SendingAccount.objects.filter(pk=account.pk).update(paused_reason="", paused_at=None)
    _enqueue_after_commit(account)


@transaction.atomic
def mailing_save_draft(*, mailing: Mailing | None, user, account: SendingAccount, mode: str,
                       subject: str, body_text: str, body_html: str, audience: dict,
                       uploads=()) -> Mailing:
    from django.core.files.base import File

    from .models import Attachment

    if mailing is not None and mailing.status != Mailing.Status.DRAFT:
        raise ValidationError(_("This mailing has already been sent."), code="not_draft")
    mailing = mailing or Mailing(created_by=user)
    mailing.account = account
    mailing.mode = mode
    mailing.subject = subject
    mailing.body_text = body_text
    mailing.body_html = body_html
    mailing.audience = audience
    mailing.save()
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
    from .rendering import MailingRenderer, envelope_sender
    from .services import TestOutcome, send_now

    plan = resolve(Audience.from_json(mailing.audience), mailing.mode)
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
