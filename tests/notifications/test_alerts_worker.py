"""End to end with a real worker and a real SMTP server: a bulk move through the staff screen
gives each subscriber one digest from the System account, with a working one-click
unsubscribe; a rolled-back change gives nothing."""

import time

import pytest
from django.db import transaction
from django.test import Client
from django.urls import reverse

from accounts.models import Profile
from notifications.models import Change, Event, Subscription
from tests.factories import make_class, make_student, make_user
from tests.mailing.conftest import configure_system_account
from tests.workers import running_worker

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def _wait_for(condition, timeout=60.0):
    deadline = time.monotonic() + timeout
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.2)
    return condition()


def test_bulk_move_gives_one_digest_and_one_click_unsubscribe_works(
        tmp_path, smtp_server_factory, settings, isolated_queues):
    sink = smtp_server_factory()
    configure_system_account(sink)
    principal = make_user(Profile.DIRECTION, email="principal@example.org", first_name="Paule")
    secretary = make_user(Profile.SECRETARIAT, email="secretary@example.org")
    cm1, cm2 = make_class("CM1 A", level="CM1"), make_class("CM2 B", level="CM2")
    students = [make_student(cm1) for _ in range(30)]
    subscription = Subscription.objects.create(user=principal,
                                               event=Event.STUDENT_CLASS_CHANGED)
    Change.objects.update(dispatched_at="2026-01-01T00:00:00Z")  # the set-up's own changes
    staff = Client()
    staff.force_login(secretary)

    with running_worker(tmp_path, extra_env=isolated_queues,
                        queues=settings.MAILING_QUEUE_SYSTEM):
        # A change that is rolled back: nothing may come of it.
        with pytest.raises(RuntimeError), transaction.atomic():
            students[0].school_class = cm2
            students[0].save()
            raise RuntimeError
        response = staff.post(reverse("school:class_move_students", args=[cm1.pk]),
                              {"students": [s.pk for s in students], "target": cm2.pk})
        assert response.status_code == 302
        assert _wait_for(lambda: sink.received)
        time.sleep(2)  # time for a wrong second alert to show up

    [mail] = sink.received
    assert mail.rcpt_tos == ["principal@example.org"]
    message = mail.message()
    assert message["Auto-Submitted"] == "auto-generated"
    assert "30 changements" in str(message["Subject"])
    body = message.get_body(("plain",)).get_content()
    assert body.count("après : CM2 B") == 30
    assert Change.objects.filter(dispatched_at__isnull=True).count() == 0
    assert Change.objects.filter(event=Event.STUDENT_CLASS_CHANGED).count() == 30

    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    url = message["List-Unsubscribe"].strip("<>")
    assert url == f"{settings.SITE_URL}/alerts/unsubscribe/{subscription.token}/"
    mail_client = Client(enforce_csrf_checks=True)  # no session, no CSRF token
    assert mail_client.post(url.removeprefix(settings.SITE_URL),
                            {"List-Unsubscribe": "One-Click"}).status_code == 200
    assert not Subscription.objects.filter(pk=subscription.pk).exists()
