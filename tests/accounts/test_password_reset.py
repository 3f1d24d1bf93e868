import re

import pytest
from django.core.cache import cache
from django.urls import reverse

from accounts.tasks import password_changed_notify, password_reset_send
from mailing.engine import send_account_work
from mailing.models import Mailing
from mailing.sending_accounts.fields import seal
from tests.factories import make_user
from tests.mailing.conftest import configure_system_account

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def clear_cache():
    cache.clear()


@pytest.fixture
def system(sink):
    return configure_system_account(sink)


def _request(client, email, captured, **headers):
    with captured(execute=False) as callbacks:
        response = client.post(reverse("accounts:password_reset"), {"email": email}, **headers)
    return response, callbacks


def test_it_answers_the_same_for_known_and_unknown_addresses(
        client, django_capture_on_commit_callbacks, system, sink, settings):
    settings.SITE_URL = "https://ecole.example.org"
    settings.ALLOWED_HOSTS = ["*"]
    make_user(email="known@example.org")
    evil = {"HTTP_HOST": "evil.example.com"}
    known, known_work = _request(client, "KNOWN@example.org",
                                 django_capture_on_commit_callbacks, **evil)
    unknown, unknown_work = _request(client, "nobody@example.org",
                                     django_capture_on_commit_callbacks, **evil)
    assert known.status_code == unknown.status_code == 302
    assert known.url == unknown.url
    assert len(known_work) == len(unknown_work) == 1  # the request only enqueues
    password_reset_send(seal("nobody@example.org"))
    assert not Mailing.objects.exists()
    password_reset_send(seal("KNOWN@example.org"))
    mailing = Mailing.objects.get()
    assert mailing.is_automated and mailing.account == system
    send_account_work(system.pk)
    [received] = sink.received
    message = received.message()
    assert message["Auto-Submitted"] == "auto-generated"
    text = message.get_body(("plain",)).get_content()
    assert "https://ecole.example.org/accounts/password/reset/" in text
    assert "evil.example.com" not in text


def test_the_link_works_once_and_leaves_the_url(client, system, sink,
                                                django_capture_on_commit_callbacks):
    user = make_user(email="parent@example.org")
    password_reset_send(seal("parent@example.org"))
    send_account_work(system.pk)
    link = re.search(r"https?://\S+", sink.received[0].message().get_body(
        ("plain",)).get_content()).group(0)
    path = link.split("//", 1)[1].split("/", 1)[1]
    first = client.get("/" + path)
    assert first.status_code == 302 and "set-password" in first.url  # token out of the URL
    assert first["Referrer-Policy"] == "no-referrer"
    assert client.get(first.url).status_code == 200
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        done = client.post(first.url, {"new_password1": "une toute nouvelle phrase",
                                       "new_password2": "une toute nouvelle phrase"})
    assert done.status_code == 302
    assert len(callbacks) == 1  # the "your password was changed" notification
    user.refresh_from_db()
    assert user.check_password("une toute nouvelle phrase")
    again = client.get("/" + path, follow=True)
    assert not again.context["validlink"]
    password_changed_notify(user.pk)
    send_account_work(system.pk)
    assert len(sink.received) == 2


def test_it_rejects_a_weak_new_password(client, system, sink):
    make_user(email="parent@example.org")
    password_reset_send(seal("parent@example.org"))
    send_account_work(system.pk)
    link = re.search(r"https?://\S+", sink.received[0].message().get_body(
        ("plain",)).get_content()).group(0)
    first = client.get("/" + link.split("//", 1)[1].split("/", 1)[1])
    response = client.post(first.url, {"new_password1": "1234", "new_password2": "1234"})
    assert response.status_code == 200
    assert response.context["form"].errors


def test_it_rate_limits_reset_requests(client, django_capture_on_commit_callbacks):
    for _ in range(3):
        _request(client, "someone@example.org", django_capture_on_commit_callbacks)
    response, work = _request(client, "someone@example.org",
                              django_capture_on_commit_callbacks)
    assert response.status_code == 200 and work == []
    assert response.context["form"].non_field_errors()


def test_automated_mail_waits_while_the_system_account_is_not_configured():
    make_user(email="parent@example.org")
    password_reset_send(seal("parent@example.org"))
    mailing = Mailing.objects.get()
    assert mailing.status == Mailing.Status.QUEUED
    assert send_account_work(mailing.account_id) is False  # kept, not dropped


def test_an_administrator_sends_a_reset_link_from_the_user_screen(
        admin_client, django_capture_on_commit_callbacks):
    user = make_user(email="teacher@example.org")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        admin_client.post(reverse("accounts:user_send_reset", args=[user.pk]))
    assert len(callbacks) == 1


@pytest.mark.parametrize(("timeout", "says"), [(1800, "expire dans 30 minutes"),
                                               (60, "expire dans 1 minute"),
                                               (3600, "expire dans 1 heure"),
                                               (86400, "expire dans 24 heures")])
def test_it_says_how_long_the_link_lives_in_words(system, sink, settings, timeout, says):
    settings.PASSWORD_RESET_TIMEOUT = timeout
    make_user(email="parent@example.org")
    password_reset_send(seal("parent@example.org"))
    send_account_work(system.pk)
    text = sink.received[0].message().get_body(("plain",)).get_content()
    assert says + "." in text
    assert "0 heures" not in text
