"""Abuse limits and personal data: one sign-up mail per address per interval, a fresh link for
an account never validated, single-use anti-bot tokens, test sends limited per user, no
address in clear in Celery messages, and the development mail catcher behind a staff login."""

import time

import pytest
from celery.signals import before_task_publish
from django.core import signing
from django.core.cache import cache
from django.urls import reverse

from accounts.models import User
from mailing.models import Mailing
from tests.factories import PASSWORD, make_user
from tests.mailing.conftest import make_account, make_mailing

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def clear_cache():
    cache.clear()


def _signup(client, email="nadia@example.org", password="une phrase assez longue",  # noqa: S107
            **extra):
    data = {"first_name": "Nadia", "last_name": "Haddad", "email": email,
            "phone": "06 12 34 56 78", "password1": password, "password2": password,
            "consent": "on", "website": "",
            "started": signing.dumps(time.time() - 10, salt="signup-form"), **extra}
    return client.post(reverse("accounts:signup"), data)


def _mails_to(address):
    return list(Mailing.objects.filter(is_automated=True, recipients__email=address)
                .order_by("pk"))


def test_it_mails_an_address_at_most_once_per_interval(client):
    make_user(email="known@example.org")
    for email in ("new@example.org", "known@example.org"):
        first, second = _signup(client, email), _signup(client, email)
        assert first.status_code == second.status_code == 302
        assert first.url == second.url
        assert len(_mails_to(email)) == 1, email


def test_it_sends_a_fresh_link_to_an_account_never_validated(client, settings):
    settings.SIGNUP_MAIL_INTERVAL = 0
    _signup(client, password="premier mot de passe long")
    _signup(client, password="second mot de passe long", first_name="Intrus")
    first, second = _mails_to("nadia@example.org")
    assert second.subject == first.subject  # the validation mail again, not "already registered"
    assert "/signup/" in second.body_text
    # Nothing typed the second time changes the account: nobody can set the password of an
    # account its owner is about to validate.
    user = User.objects.get(email="nadia@example.org")
    assert user.check_password("premier mot de passe long")
    assert user.first_name == "Nadia"
    assert User.objects.filter(email__iexact="nadia@example.org").count() == 1


def test_a_success_does_not_clear_failures_against_other_accounts(client):
    """A visitor who owns an account cannot reopen password guessing on another by logging
    into their own between guesses."""
    victim = make_user(email="direction@example.org")
    mine = make_user(email="mine@example.org")
    for _ in range(5):
        client.post(reverse("accounts:login"), {"username": victim.email, "password": "x"},
                    REMOTE_ADDR="203.0.113.9")
    client.post(reverse("accounts:login"), {"username": mine.email, "password": PASSWORD},
                REMOTE_ADDR="203.0.113.9")
    client.logout()
    for _ in range(5):
        response = client.post(reverse("accounts:login"),
                               {"username": victim.email, "password": "x"},
                               REMOTE_ADDR="203.0.113.9")
    assert response.status_code == 429


def test_it_refuses_a_replayed_form(client):
    started = signing.dumps(time.time() - 10, salt="signup-form")
    assert _signup(client, started=started).status_code == 302
    replay = _signup(client, email="other@example.org", started=started)
    assert replay.status_code == 200
    assert "déjà été envoyé" in replay.content.decode()
    assert not User.objects.filter(email="other@example.org").exists()
    # The page shown again carries a new token: the person can send it once it is filled in.
    assert replay.context["form"]["started"].value() != started


def test_a_form_shown_again_for_a_mistake_carries_a_fresh_token(client):
    started = signing.dumps(time.time() - 10, salt="signup-form")
    mistake = _signup(client, started=started, password2="autre chose")
    assert mistake.status_code == 200
    fresh = mistake.context["form"]["started"].value()
    assert fresh != started
    assert _signup(client, started=fresh).status_code == 302


def test_it_limits_a_users_test_sends(secretary_client, secretary, smtp_server_factory, school,
                                      settings):
    settings.MAILING_TEST_SEND_LIMIT = 3
    server = smtp_server_factory()
    account = make_account(server)
    account.users.add(secretary)
    mailing = make_mailing(account, secretary, mode=Mailing.Mode.BCC, subject="Info",
                           body="Bonjour", audience={"addresses": ["a@example.org"]})
    url = reverse("mailings:mailing_test", args=[mailing.pk])
    for _ in range(4):
        response = secretary_client.post(url, {"to_email": secretary.email}, follow=True)
    assert len(server.received) == 3
    assert "attendez quelques minutes" in response.content.decode()


def test_celery_messages_carry_no_address(client, django_capture_on_commit_callbacks):
    user = make_user(email="parent@example.org")
    published = []

    def record(body=None, **kwargs):
        published.append(repr(body))

    before_task_publish.connect(record)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            client.post(reverse("accounts:password_reset"), {"email": "parent@example.org"})
        client.force_login(user)
        with django_capture_on_commit_callbacks(execute=True):
            client.post(reverse("accounts:email_change"),
                        {"new_email": "nouveau@example.org", "password": PASSWORD})
    finally:
        before_task_publish.disconnect(record)
    assert len(published) >= 2
    for body in published:
        assert "@" not in body, body


def test_the_sealed_address_still_reaches_the_worker():
    from accounts.tasks import password_reset_send
    from mailing.sending_accounts.fields import seal

    make_user(email="parent@example.org")
    password_reset_send(seal("parent@example.org"))
    assert len(_mails_to("parent@example.org")) == 1
    password_reset_send("parent@example.org")  # not a sealed token: ignored
    assert len(_mails_to("parent@example.org")) == 1
