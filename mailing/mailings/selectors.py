"""Reads on mailings, always through the history rule of `accounts_user_may_read`."""

from django.db import connection
from django.db.models import Q, QuerySet, Sum
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from mailing.engine.quotas import waiting_for_quota
from mailing.mailings.charts import reason_filter
from mailing.models import Mailing, Message, Recipient, RecipientCount
from mailing.sending_accounts.selectors import accounts_user_may_read

S = Message.Status
COUNTED = [S.QUEUED, S.SENDING, S.SENT, S.DEFERRED, S.FAILED, S.UNCERTAIN, S.SKIPPED,
           S.CANCELLED, S.DELIVERED, S.BOUNCED]


def mailings_visible_to(user) -> QuerySet[Mailing]:
    return Mailing.objects.filter(account__in=accounts_user_may_read(user)).select_related(
        "account", "created_by", "submitted__application")


def mailing_counts(mailing: Mailing) -> dict[str, int]:
    """The mailing's recipients by status, and their total: read from the counts the
    database keeps with the statuses (`RecipientCount`), a few rows whatever the mailing's
    size, instead of counting its recipients."""
    counts = dict.fromkeys((status.value for status in COUNTED), 0)
    counts.update(RecipientCount.objects.filter(mailing=mailing).order_by()
                  .values_list("status").annotate(Sum("count")))
    return {"total": sum(counts.values()), **counts}


def mailing_counts_mismatches(mailing: Mailing) -> dict[str, tuple[int, int]]:
    """The statuses whose kept count differs from a count of the mailing's recipients, as
    {status: (kept, counted)}: empty when the counts are exact. One statement, so one snapshot
    of both even while workers write (the tests, the benchmark and ops use it)."""
    sql = (f"SELECT status, SUM(kept), SUM(counted) FROM ("  # noqa: S608 (names from models)
           f"SELECT status, count AS kept, 0 AS counted FROM {RecipientCount._meta.db_table} "
           f"WHERE mailing_id = %s UNION ALL "
           f"SELECT status, 0, 1 FROM {Recipient._meta.db_table} WHERE mailing_id = %s"
           f") AS figures GROUP BY status HAVING SUM(kept) <> SUM(counted)")
    with connection.cursor() as cursor:
        cursor.execute(sql, [mailing.pk, mailing.pk])
        return {status: (int(kept), int(counted)) for status, kept, counted in cursor.fetchall()}


def mailing_status_label(mailing: Mailing, counts: dict[str, int]) -> str:
    """The mailing's status as a person reads it: a mailing that ended with recipients whose
    fate is unknown says how many are left to check."""
    if mailing.status == Mailing.Status.DONE and counts.get("uncertain"):
        return ngettext("Done — %(count)d to check", "Done — %(count)d to check",
                        counts["uncertain"]) % {"count": counts["uncertain"]}
    if mailing.status in (Mailing.Status.QUEUED, Mailing.Status.SENDING) and (
            waiting_for_quota(mailing.account)):
        return _("Waiting for the quota (resumes around %(time)s)") % {
            "time": date_format(timezone.localtime(mailing.account.quota_until), "TIME_FORMAT")}
    return mailing.get_status_display()


def recipients_of(mailing: Mailing, *, status: str = "", search: str = "",
                  reason: str = "") -> QuerySet[Recipient]:
    recipients = Recipient.objects.filter(mailing=mailing).select_related("message")
    if status:
        recipients = recipients.filter(status=status)
    if reason:
        recipients = recipients.filter(reason_filter(reason))
    if search:
        recipients = recipients.filter(Q(email__icontains=search) | Q(name__icontains=search)
                                       | Q(student_name__icontains=search))
    return recipients


def recipients_visible_to(user, *, search: str) -> QuerySet[Recipient]:
    """History search by recipient across every mailing the user may read."""
    return Recipient.objects.filter(
        mailing__account__in=accounts_user_may_read(user)).filter(
        Q(email__icontains=search) | Q(name__icontains=search)).select_related(
        "mailing__submitted__application", "message").order_by("-pk")
