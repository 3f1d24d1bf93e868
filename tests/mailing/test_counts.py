"""The recipient counts the database keeps with the statuses: equal to a full count after
every path that writes recipients, and what the mailing page and progress endpoint read."""

from datetime import timedelta

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from mailing.engine import claim, recover_expired, send_account_work
from mailing.mailings.selectors import mailing_counts, mailing_counts_mismatches
from mailing.mailings.services import (
    mailing_cancel,
    mailing_retry_failed,
    mailing_submit,
    message_resend,
)
from mailing.models import Message, Recipient, RecipientCount, SuppressedAddress
from mailing.tracking.dsn import DeliveryReport, RecipientReport
from mailing.tracking.reports import delivery_report_apply
from tests.mailing.conftest import make_account, make_mailing

pytestmark = pytest.mark.django_db
S = Recipient.Status


def _submit(mailing, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        return mailing_submit(mailing=mailing)


def _exact(mailing) -> dict[str, int]:
    """The kept counts, after checking them against a count of the recipients."""
    assert mailing_counts_mismatches(mailing) == {}
    return {status: n for status, n in mailing_counts(mailing).items() if n}


def _message_of(email) -> Message:
    return Recipient.objects.get(email=email).message


def _report(email, action, status):
    delivery_report_apply(message=_message_of(email), report=DeliveryReport(
        recipients=[RecipientReport(email, action, status, f"{status} from the test")]))


def _addresses(*names):
    return [f"{name}@example.org" for name in names]


def test_it_keeps_the_counts_exact_through_every_fate(
        smtp_server_factory, secretary, school, django_capture_on_commit_callbacks):
    server = smtp_server_factory(refuse_recipients={
        "gone@example.org": "550 5.1.1 User unknown", "retried@example.org": "550 5.1.1 Unknown",
        "full@example.org": "452 4.2.2 Mailbox full", "later@example.org": "452 4.2.2 Full"})
    SuppressedAddress.objects.create(email="blocked@example.org", reason="5.1.1 hard bounce")
    account = make_account(server)
    mailing = make_mailing(account, secretary, mode="per_guardian", subject="x", body="y",
                           audience={"addresses": _addresses(
                               "lost", "unsure", "sent", "delivered", "bounced", "gone",
                               "retried", "full", "later", "blocked")})
    _submit(mailing, django_capture_on_commit_callbacks)
    assert _exact(mailing) == {"total": 10, "queued": 9, "skipped": 1}

    # A worker dies with its first two messages in flight: their fate is unknown.
    claimed = claim(account, "dead-worker", 2)
    assert [m.envelope[0].email for m in claimed] == _addresses("lost", "unsure")
    assert _exact(mailing)["sending"] == 2
    Message.objects.filter(lease_owner="dead-worker").update(
        in_flight_at=timezone.now(), lease_expires_at=timezone.now() - timedelta(seconds=1))
    recover_expired()
    assert _exact(mailing)["uncertain"] == 2

    send_account_work(account.pk)
    assert _exact(mailing) == {"total": 10, "sent": 3, "failed": 2, "deferred": 2,
                               "uncertain": 2, "skipped": 1}

    _report("delivered@example.org", "delivered", "2.0.0")
    _report("bounced@example.org", "failed", "5.1.1")
    _report("sent@example.org", "delayed", "4.4.1")  # a note: no status changes
    assert _exact(mailing)["bounced"] == 1

    # Deferred, then sent once the mailbox has room.
    del server._refuse_recipients["full@example.org"]
    Message.objects.filter(pk=_message_of("full@example.org").pk).update(
        next_attempt_at=timezone.now())
    send_account_work(account.pk)
    assert Recipient.objects.get(email="full@example.org").status == S.SENT
    _exact(mailing)

    # Failed ones queued again: one goes, the other fails again.
    del server._refuse_recipients["retried@example.org"]
    with django_capture_on_commit_callbacks(execute=False):
        assert mailing_retry_failed(mailing=mailing) == 2
    assert _exact(mailing)["queued"] == 2
    send_account_work(account.pk)
    _exact(mailing)

    # A person resends one uncertain message and leaves the other to check.
    with django_capture_on_commit_callbacks(execute=False):
        assert message_resend(message=_message_of("lost@example.org"))
    send_account_work(account.pk)
    _exact(mailing)

    mailing_cancel(mailing=mailing)  # the still deferred one is cancelled
    assert _exact(mailing) == {"total": 10, "sent": 4, "delivered": 1, "bounced": 1,
                               "failed": 1, "uncertain": 1, "skipped": 1, "cancelled": 1}


def test_it_counts_a_bcc_chunk_whose_recipients_part_ways(
        smtp_server_factory, secretary, school, django_capture_on_commit_callbacks):
    server = smtp_server_factory(refuse_recipients={"gone@example.org": "550 5.1.1 Unknown",
                                                    "full@example.org": "452 4.2.2 Full"})
    account = make_account(server)
    mailing = make_mailing(account, secretary, mode="bcc", subject="x", body="y",
                           audience={"addresses": _addresses("a", "b", "gone", "full")})
    _submit(mailing, django_capture_on_commit_callbacks)
    send_account_work(account.pk)
    # The temporarily refused recipient moved to a message of its own, deferred.
    assert _exact(mailing) == {"total": 4, "sent": 2, "failed": 1, "deferred": 1}


def test_deleting_recipients_and_mailings_keeps_the_counts(
        sink, secretary, school, django_capture_on_commit_callbacks):
    account = make_account(sink)
    mailing = make_mailing(account, secretary, mode="per_guardian", subject="x", body="y",
                           audience={"addresses": _addresses("a", "b", "c")})
    _submit(mailing, django_capture_on_commit_callbacks)
    _message_of("a@example.org").delete()  # its recipient goes with it
    assert _exact(mailing) == {"total": 2, "queued": 2}
    mailing.delete()
    assert not RecipientCount.objects.filter(mailing_id=mailing.pk).exists()


def test_the_triggers_are_in_place_after_every_migration():
    """A migration that remakes the recipient table on SQLite drops its triggers: this says so
    before the counts drift."""
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("SELECT name FROM sqlite_master WHERE type = 'trigger' "
                           "AND tbl_name = 'mailing_recipient'")
        else:
            cursor.execute("SELECT tgname FROM pg_trigger "
                           "WHERE tgrelid = 'mailing_recipient'::regclass AND NOT tgisinternal")
        names = {row[0] for row in cursor.fetchall()}
    assert names == {f"mailing_recipient_counts_{event}" for event in ("insert", "update",
                                                                       "delete")}


@pytest.mark.django_db(transaction=True)
def test_the_migration_counts_what_was_there_and_goes_back(
        sink, secretary, school, django_capture_on_commit_callbacks):
    account = make_account(sink)
    mailing = make_mailing(account, secretary, mode="per_guardian", subject="x", body="y",
                           audience={"addresses": _addresses("a", "b", "c")})
    _submit(mailing, django_capture_on_commit_callbacks)
    # The executor itself, not the command: the command's post_migrate handlers would use
    # today's models on yesterday's tables.
    executor = MigrationExecutor(connection)
    latest = executor.loader.graph.leaf_nodes("mailing")
    executor.migrate([("mailing", "0011_application_access")])
    try:
        Recipient.objects.filter(email="a@example.org").update(status=S.SENT)
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(latest)
    assert _exact(mailing) == {"total": 3, "queued": 2, "sent": 1}


def _mailing_with(account, user, size, django_capture_on_commit_callbacks):
    mailing = make_mailing(account, user, mode="per_guardian", subject="x", body="y",
                           audience={"addresses": [f"p{n}@example.org" for n in range(size)]})
    _submit(mailing, django_capture_on_commit_callbacks)
    return mailing


@pytest.mark.parametrize("size", [3, 120])
def test_the_mailing_page_and_progress_make_the_same_queries_whatever_the_size(
        size, sink, secretary, secretary_client, school, django_assert_max_num_queries,
        django_capture_on_commit_callbacks):
    account = make_account(sink)
    account.users.add(secretary)
    mailing = _mailing_with(account, secretary, size, django_capture_on_commit_callbacks)
    with django_assert_max_num_queries(12):
        page = secretary_client.get(reverse("mailings:mailing_detail", args=[mailing.pk]))
    assert page.status_code == 200 and page.context["counts"]["queued"] == size
    with django_assert_max_num_queries(6):
        progress = secretary_client.get(reverse("mailings:mailing_progress",
                                                args=[mailing.pk])).json()
    assert progress["counts"]["queued"] == progress["counts"]["total"] == size


def test_the_screens_never_count_the_recipients(
        sink, secretary, secretary_client, school, django_capture_on_commit_callbacks):
    account = make_account(sink)
    account.users.add(secretary)
    mailing = _mailing_with(account, secretary, 120, django_capture_on_commit_callbacks)
    Recipient.objects.filter(email="p7@example.org").update(status=S.FAILED)
    screens = {"progress": reverse("mailings:mailing_progress", args=[mailing.pk])}
    for query in ("", "?status=failed", "?status=queued&page=3"):
        screens[query] = reverse("mailings:mailing_detail", args=[mailing.pk]) + query
    pages = {}
    for name, url in screens.items():
        with CaptureQueriesContext(connection) as queries:
            pages[name] = secretary_client.get(url)
        reading = [q["sql"] for q in queries if '"mailing_recipient"' in q["sql"]]
        assert not [sql for sql in reading if "COUNT(" in sql], name
        if name == "progress":
            assert reading == []
    assert pages[""].context["page"].paginator.count == 120
    assert [r.email for r in pages["?status=failed"].context["page"]] == ["p7@example.org"]
    page_three = pages["?status=queued&page=3"].context["page"]
    assert (page_three.paginator.num_pages, len(page_three)) == (3, 19)
