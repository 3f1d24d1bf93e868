"""The compose page's live count: the audience being chosen, resolved by the same function as
the confirm page, with who is left out and why, in a bounded number of queries."""

import html
import re

import pytest
from django.test import Client
from django.urls import reverse

from mailing.models import Mailing, SuppressedAddress
from tests.mailing.conftest import make_account, make_mailing

pytestmark = pytest.mark.django_db
URL = reverse("mailings:mailing_audience_count")


@pytest.fixture
def account(sink, secretary):
    account = make_account(sink, max_bcc_recipients=2)
    account.users.add(secretary)
    return account


def _count(client, **data):
    response = client.post(URL, data)
    assert response.status_code == 200
    text = re.sub(r"<[^>]+>", " ", html.unescape(response.content.decode()))
    return " ".join(text.split())


def test_it_counts_what_the_confirm_page_will_show(secretary_client, secretary, account,
                                                   class_with_families, school):
    school_class, _ = class_with_families
    SuppressedAddress.objects.create(email="p0@example.org", reason="5.1.1 unknown")
    text = _count(secretary_client, account=account.pk, mode="per_student",
                  classes=[school_class.pk], addresses="extra@example.org")
    # The same audience on the confirm page.
    mailing = make_mailing(account, secretary, mode=Mailing.Mode.PER_STUDENT, audience={
        "class_ids": [school_class.pk], "addresses": ["extra@example.org"]})
    page = html.unescape(secretary_client.get(
        reverse("mailings:mailing_detail", args=[mailing.pk])).content.decode())
    recipients = re.search(r'id="recipient-count">(\d+)<', page).group(1)
    messages = re.search(r'id="message-count">(\d+)<', page).group(1)
    assert f"{recipients} destinataires" in text
    assert f"{messages} messages à envoyer" in text
    assert "p0@example.org — adresse bloquée: 5.1.1 unknown" in text
    assert "Sans Adresse" in text  # a guardian without an address is left out, with why


def test_bcc_counts_the_batches(secretary_client, account, class_with_families, school):
    school_class, _ = class_with_families
    text = _count(secretary_client, account=account.pk, mode="bcc", classes=[school_class.pk])
    assert "4 destinataires · 2 messages à envoyer" in text  # 4 addresses, BCC max 2


def test_it_stays_within_a_few_queries(secretary_client, account, class_with_families,
                                       django_assert_max_num_queries, school):
    school_class, students = class_with_families
    with django_assert_max_num_queries(14):
        _count(secretary_client, account=account.pk, mode="per_guardian",
               classes=[school_class.pk], students=[s.pk for s in students])


def test_it_is_for_senders_only(teacher_client, account):
    assert teacher_client.post(URL, {"mode": "bcc"}).status_code == 403
    assert teacher_client.get(URL).status_code == 405
    assert Client().post(URL, {"mode": "bcc"}).status_code == 302  # to the login page
