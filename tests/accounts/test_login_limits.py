"""Failed logins are limited per account and per IP address (django-axes): after the limit the
right password is refused too, until the wait ends, with a page that says nothing about the
account."""

import re
from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.urls import reverse
from django.utils import timezone

from tests.factories import PASSWORD, make_user

pytestmark = pytest.mark.django_db
LOCKED = "Trop de tentatives infructueuses"


def _login(client, email, password, ip):
    return client.post(reverse("accounts:login"), {"username": email, "password": password},
                       REMOTE_ADDR=ip)


def test_it_suspends_an_account_after_ten_failures_even_with_the_right_password(client):
    user = make_user(email="claire@example.org")
    for attempt in range(10):  # from ten different addresses: the account is what counts
        response = _login(client, "Claire@example.org", "wrong", f"203.0.113.{attempt}")
        # Nine failures are answered as usual; the tenth suspends the account.
        assert response.status_code == (200 if attempt < 9 else 429)
    response = _login(client, user.email, PASSWORD, "198.51.100.7")
    assert response.status_code == 429
    assert LOCKED in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_it_answers_the_same_for_an_unknown_address(client):
    make_user(email="known@example.org")
    pages = {}
    for email in ("known@example.org", "nobody@example.org"):
        for attempt in range(10):
            _login(client, email, "wrong", f"192.0.2.{attempt}")
        response = _login(client, email, "wrong", "192.0.2.99")
        page = re.sub(r'value="[^"]+"', "", response.content.decode())  # CSRF tokens
        pages[email] = (response.status_code, page.replace(email, "ADDRESS"))
    assert pages["known@example.org"] == pages["nobody@example.org"]
    assert pages["known@example.org"][0] == 429


def test_it_suspends_an_address_that_tries_many_accounts(client):
    victim = make_user(email="victim@example.org")
    for attempt in range(10):
        _login(client, f"guess{attempt}@example.org", "wrong", "203.0.113.50")
    assert _login(client, victim.email, PASSWORD, "203.0.113.50").status_code == 429
    # Someone else, elsewhere, logs in as usual.
    response = _login(client, victim.email, PASSWORD, "198.51.100.8")
    assert response.status_code == 302


def test_it_lets_the_account_in_once_the_wait_is_over(client):
    user = make_user(email="patient@example.org")
    for attempt in range(10):
        _login(client, user.email, "wrong", f"203.0.113.{attempt}")
    assert _login(client, user.email, PASSWORD, "198.51.100.9").status_code == 429
    AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(minutes=16))
    assert _login(client, user.email, PASSWORD, "198.51.100.9").status_code == 302


def test_it_counts_nine_failures_as_nothing_special(client):
    user = make_user(email="clumsy@example.org")
    for _ in range(9):
        _login(client, user.email, "wrong", "203.0.113.77")
    assert _login(client, user.email, PASSWORD, "203.0.113.77").status_code == 302
