"""The mailing page as a picture: the outcomes over time as SVG, told apart without colour,
and the failures and bounces by reason, each linking to its filtered list."""

import html

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from mailing.engine import send_account_work
from mailing.mailings.charts import failure_reasons, timeline_svg
from mailing.mailings.services import mailing_submit
from mailing.models import Mailing, Recipient
from tests.mailing.conftest import make_account, make_mailing

pytestmark = pytest.mark.django_db
S = Recipient.Status


@pytest.fixture
def mailing(smtp_server_factory, secretary, school):
    server = smtp_server_factory(refuse_recipients={
        "gone@example.org": "550 5.1.1 User unknown",
        "spam@example.org": "554 5.7.1 Message refused as spam"})
    account = make_account(server)
    account.users.add(secretary)
    mailing = make_mailing(account, secretary, mode=Mailing.Mode.PER_GUARDIAN, audience={
        "addresses": ["ok1@example.org", "ok2@example.org", "full@example.org",
                      "gone@example.org", "spam@example.org"]})
    mailing_submit(mailing=mailing)
    send_account_work(account.pk)
    # A delivery report: one delivered, one bounced because its mailbox is full.
    now = timezone.now()
    Recipient.objects.filter(email="ok1@example.org").update(
        status=S.DELIVERED, delivery_status="2.0.0", delivery_reported_at=now)
    Recipient.objects.filter(email="full@example.org").update(
        status=S.BOUNCED, delivery_status="5.2.2", delivery_reported_at=now)
    return mailing


def test_failures_and_bounces_are_grouped_by_reason(mailing):
    reasons = {r["key"]: r["count"] for r in failure_reasons(mailing)}
    assert reasons == {"unknown": 1, "full": 1, "refused": 1}


def test_the_timeline_draws_each_outcome_with_its_own_pattern_and_label(mailing):
    svg = timeline_svg(mailing)
    assert svg.count("<polyline") == 4
    assert len({part.split('"')[0] for part in svg.split('stroke-dasharray="')[1:5]}) == 4
    label = html.unescape(svg.split('aria-label="')[1].split('"')[0])
    assert label == "Destinataires au fil du temps : Envoyé 3, Distribué 1, " \
                    "Rejeté (bounce) 1, Échoué 2"


def test_the_page_shows_the_picture_and_each_reason_filters_the_list(mailing,
                                                                      secretary_client):
    url = reverse("mailings:mailing_detail", args=[mailing.pk])
    page = html.unescape(secretary_client.get(url).content.decode())
    picture_url = reverse("mailings:mailing_picture", args=[mailing.pk])
    assert f'data-url="{picture_url}"' in page  # loaded apart, the page reads no recipient
    picture = html.unescape(secretary_client.get(picture_url).content.decode())
    assert '<figure class="timeline">' in picture
    assert f'href="{url}?reason=unknown">Adresse inconnue</a>' in picture
    listed = html.unescape(secretary_client.get(url + "?reason=full").content.decode())
    assert "full@example.org" in listed and "gone@example.org" not in listed


def test_the_picture_stays_within_its_query_budget_and_is_for_readers_only(
        mailing, secretary_client, django_assert_max_num_queries, teacher):
    url = reverse("mailings:mailing_picture", args=[mailing.pk])
    with django_assert_max_num_queries(12):
        assert secretary_client.get(url).status_code == 200
    other = Client()
    other.force_login(teacher)
    assert other.get(url).status_code in (403, 404)
