"""Scheduled sending: a mailing saved with a time leaves by itself when beat finds its time
come, not before; it can be cancelled or moved until then; a paused account makes it wait."""

import html
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from mailing.engine import send_account_work
from mailing.mailings.scheduling import mailings_start_due
from mailing.models import Mailing
from mailing.tasks import start_scheduled
from tests.mailing.conftest import make_account, make_mailing

pytestmark = pytest.mark.django_db
ADDRESSES = ["a@example.org", "b@example.org"]


@pytest.fixture
def draft(sink, secretary, school):
    account = make_account(sink)
    account.users.add(secretary)
    return make_mailing(account, secretary, mode=Mailing.Mode.PER_GUARDIAN, subject="Sortie",
                        body="Bonjour", audience={"addresses": ADDRESSES})


def _schedule(client, mailing, when):
    local = timezone.localtime(when).strftime("%Y-%m-%dT%H:%M")
    return client.post(reverse("mailings:mailing_schedule", args=[mailing.pk]),
                       {"send_at": local}, follow=True)


def test_it_leaves_when_its_time_comes_and_not_before(draft, secretary_client, sink):
    when = timezone.now() + timedelta(minutes=2)
    page = html.unescape(_schedule(secretary_client, draft, when).content.decode())
    draft.refresh_from_db()
    assert draft.status == Mailing.Status.SCHEDULED
    assert abs((draft.scheduled_at - when).total_seconds()) < 60  # to the minute, Paris time
    assert "partira de lui-même le" in page
    assert start_scheduled() == 0  # not yet

    Mailing.objects.filter(pk=draft.pk).update(scheduled_at=timezone.now())  # two minutes on
    assert mailings_start_due() == [draft.pk]
    draft.refresh_from_db()
    assert draft.status == Mailing.Status.QUEUED
    send_account_work(draft.account_id)
    assert sorted(m.rcpt_tos[0] for m in sink.received) == ADDRESSES
    assert mailings_start_due() == []  # started once


def test_it_can_be_cancelled_or_moved_until_it_starts(draft, secretary_client):
    _schedule(secretary_client, draft, timezone.now() + timedelta(hours=1))
    later = timezone.now() + timedelta(days=1)
    _schedule(secretary_client, draft, later)
    draft.refresh_from_db()
    assert draft.scheduled_at > timezone.now() + timedelta(hours=23)
    secretary_client.post(reverse("mailings:mailing_action", args=[draft.pk, "unschedule"]))
    draft.refresh_from_db()
    assert (draft.status, draft.scheduled_at) == (Mailing.Status.DRAFT, None)


def test_a_time_in_the_past_is_refused_with_a_clear_message(draft, secretary_client):
    page = _schedule(secretary_client, draft, timezone.now() - timedelta(hours=1))
    assert "Choisissez une date et une heure à venir." in html.unescape(page.content.decode())
    draft.refresh_from_db()
    assert draft.status == Mailing.Status.DRAFT


def test_a_paused_account_makes_it_wait_and_says_so(draft, secretary_client):
    _schedule(secretary_client, draft, timezone.now() + timedelta(minutes=5))
    Mailing.objects.filter(pk=draft.pk).update(scheduled_at=timezone.now())
    draft.account.paused_reason = "535 5.7.8 Authentication credentials invalid"
    draft.account.save()
    assert mailings_start_due() == []
    page = secretary_client.get(reverse("mailings:mailing_detail", args=[draft.pk]))
    assert "le compte d'envoi est en pause" in html.unescape(page.content.decode())


def test_another_account_s_user_cannot_schedule_it(draft, teacher_client):
    response = teacher_client.post(reverse("mailings:mailing_schedule", args=[draft.pk]),
                                   {"send_at": "2030-01-01T10:00"})
    assert response.status_code in (403, 404)
    draft.refresh_from_db()
    assert draft.status == Mailing.Status.DRAFT
