import re

import pytest
from django.core.cache import cache
from django.urls import reverse

from accounts.models import Profile, User
from accounts.tasks import email_change_send, email_changed_notify
from mailing.models import Mailing
from mailing.sending_accounts.fields import seal
from tests.factories import PASSWORD, make_guardian, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def clear_cache():
    cache.clear()


@pytest.fixture
def parent(db):
    user = make_user(Profile.PARENT, email="nadia@example.org", first_name="Nadia")
    make_guardian(user=user, first_name="Nadia", email="nadia@example.org")
    return user


def _ask(client, captured, new_email, password=PASSWORD):
    """Post the request; return the response and the work it left for after the commit."""
    with captured(execute=False) as callbacks:
        response = client.post(reverse("accounts:email_change"),
                               {"new_email": new_email, "password": password})
    return response, callbacks


def _mail_to(address) -> Mailing:
    return Mailing.objects.get(is_automated=True, recipients__email=address)


def _path(mailing) -> str:
    link = re.search(r"https?://\S+", mailing.body_text).group(0)
    return "/" + link.split("//", 1)[1].split("/", 1)[1]


def _requested_link(client, parent, captured, new_email="nadia.new@example.org") -> str:
    client.force_login(parent)
    response, callbacks = _ask(client, captured, new_email)
    assert response.status_code == 302, response.context["form"].errors
    assert len(callbacks) == 1
    email_change_send(parent.pk, seal(new_email))  # what the System queue's worker runs
    return _path(_mail_to(new_email))


def test_it_mails_a_link_to_the_new_address_and_changes_nothing_before_the_post(
        client, parent, django_capture_on_commit_callbacks):
    path = _requested_link(client, parent, django_capture_on_commit_callbacks)
    mailing = _mail_to("nadia.new@example.org")
    assert mailing.recipients.get().email == "nadia.new@example.org"
    assert "nadia.new@example.org" in mailing.body_text
    parent.refresh_from_db()
    assert parent.email == "nadia@example.org"  # nothing changes on request
    client.logout()  # the link may be opened on another device
    opened = client.get(path)  # a mail scanner opening the link changes nothing
    assert opened.url == reverse("accounts:email_change_confirm")  # token out of the URL
    assert opened["Referrer-Policy"] == "no-referrer"
    confirm = client.get(opened.url)
    assert confirm.status_code == 200 and "nadia.new@example.org" in confirm.content.decode()
    assert "nadia@example.org" not in confirm.content.decode()  # whoever holds the link
    parent.refresh_from_db()
    assert parent.email == "nadia@example.org"


def test_it_applies_on_post_to_the_account_and_guardian_and_tells_the_old_address(
        client, parent, django_capture_on_commit_callbacks):
    path = _requested_link(client, parent, django_capture_on_commit_callbacks)
    client.get(path)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        done = client.post(reverse("accounts:email_change_confirm"))
    assert done.status_code == 302
    parent.refresh_from_db()
    assert parent.email == "nadia.new@example.org"
    assert parent.guardian.email == "nadia.new@example.org"
    from notifications.alerts import _dispatch_later

    # The notification to the old address (besides the data-change alerts' dispatch).
    assert len([c for c in callbacks if c is not _dispatch_later]) == 1
    email_changed_notify(parent.pk, seal("nadia@example.org"))
    notice = _mail_to("nadia@example.org")
    assert "nadia.new@example.org" in notice.body_text
    assert "contact" in notice.body_text.lower()
    # The old address no longer logs in; the new one does.
    client.logout()
    assert not client.login(username="nadia@example.org", password=PASSWORD)
    assert client.login(username="NADIA.NEW@example.org", password=PASSWORD)


def test_the_link_works_once(client, parent, django_capture_on_commit_callbacks):
    path = _requested_link(client, parent, django_capture_on_commit_callbacks)
    client.get(path)
    client.post(reverse("accounts:email_change_confirm"))
    again = client.get(path)
    assert again.url == reverse("accounts:email_change_invalid")
    assert client.post(reverse("accounts:email_change_confirm")).url == reverse(
        "accounts:email_change_invalid")


def test_it_refuses_expired_and_tampered_links(client, parent, settings,
                                               django_capture_on_commit_callbacks):
    path = _requested_link(client, parent, django_capture_on_commit_callbacks)
    assert client.get(path[:-4] + "abc/").url == reverse("accounts:email_change_invalid")
    settings.EMAIL_VALIDATION_TIMEOUT = 0
    assert client.get(path).url == reverse("accounts:email_change_invalid")
    client.post(reverse("accounts:email_change_confirm"))
    parent.refresh_from_db()
    assert parent.email == "nadia@example.org"


def test_the_link_dies_when_the_password_changes(client, parent,
                                                 django_capture_on_commit_callbacks):
    path = _requested_link(client, parent, django_capture_on_commit_callbacks)
    parent.set_password("another passphrase 2026")
    parent.save()
    assert client.get(path).url == reverse("accounts:email_change_invalid")


def test_the_link_does_not_carry_the_old_address(client, parent,
                                                django_capture_on_commit_callbacks):
    # A signed payload is readable by whoever holds the link (only its integrity is protected).
    from django.core import signing

    from accounts.email_change import SALT

    path = _requested_link(client, parent, django_capture_on_commit_callbacks)
    payload = signing.loads(path.rstrip("/").rsplit("/", 1)[1], salt=SALT)
    assert "nadia@example.org" not in str(payload)
    assert parent.password[-12:] not in str(payload)


def test_it_never_reveals_that_an_address_has_an_account(client, parent,
                                                         django_capture_on_commit_callbacks):
    make_user(Profile.SECRETARIAT, email="taken@example.org")
    client.force_login(parent)
    taken, taken_work = _ask(client, django_capture_on_commit_callbacks, "TAKEN@example.org")
    free, free_work = _ask(client, django_capture_on_commit_callbacks, "free@example.org")
    assert taken.status_code == free.status_code == 302
    assert taken.url == free.url == reverse("accounts:email_change_sent")
    assert len(taken_work) == len(free_work) == 1  # the same work: one enqueued task
    email_change_send(parent.pk, seal("TAKEN@example.org"))
    warning = _mail_to("TAKEN@example.org")
    assert not re.search(r"/accounts/email/validate/", warning.body_text)  # no link
    assert "/accounts/password/reset/" in warning.body_text
    parent.refresh_from_db()
    assert parent.email == "nadia@example.org"


def test_a_link_for_an_address_taken_meanwhile_does_not_apply(
        client, parent, django_capture_on_commit_callbacks):
    path = _requested_link(client, parent, django_capture_on_commit_callbacks)
    make_user(Profile.PARENT, email="nadia.new@example.org")  # signed up in between
    client.get(path)
    response = client.post(reverse("accounts:email_change_confirm"))
    assert response.url == reverse("accounts:email_change_invalid")
    parent.refresh_from_db()
    assert parent.email == "nadia@example.org"
    assert User.objects.filter(email__iexact="nadia.new@example.org").count() == 1


@pytest.mark.parametrize("new_email,password,field", [
    ("nadia.new@example.org", "wrong password", "password"),
    ("NADIA@example.org", PASSWORD, "new_email"),
    ("not-an-address", PASSWORD, "new_email"),
])
def test_it_rejects_bad_requests_with_translated_errors(
        client, parent, django_capture_on_commit_callbacks, new_email, password, field):
    client.force_login(parent)
    response, callbacks = _ask(client, django_capture_on_commit_callbacks, new_email, password)
    assert response.status_code == 200
    assert field in response.context["form"].errors
    assert callbacks == []


def test_it_rate_limits_requests(client, parent, django_capture_on_commit_callbacks):
    client.force_login(parent)
    for index in range(5):
        response, _ = _ask(client, django_capture_on_commit_callbacks,
                           f"new{index}@example.org")
        assert response.status_code == 302
    response, callbacks = _ask(client, django_capture_on_commit_callbacks, "new9@example.org")
    assert response.status_code == 200 and callbacks == []
    assert "Trop de demandes" in response.content.decode()


def test_it_requires_a_login_to_ask(client):
    response = client.get(reverse("accounts:email_change"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("accounts:login"))
