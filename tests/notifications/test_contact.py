import time

import pytest
from django.core import signing
from django.core.cache import cache
from django.urls import reverse

from accounts.models import Profile
from mailing.engine import send_account_work
from mailing.models import Message
from notifications.models import ContactMessage
from school.models import School
from tests.factories import make_user
from tests.mailing.conftest import configure_system_account

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def setup(db):
    cache.clear()
    School.objects.create(name="Collège", contact_email="contact@college.example.org")


def _payload(**overrides):
    data = {"name": "Visiteur", "email": "visiteur@example.org", "subject": "Inscription",
            "message": "Bonjour, {{ settings.SECRET_KEY }} comment inscrire mon fils ?",
            "website": "", "started": signing.dumps(time.time() - 10, salt="contact-form")}
    data.update(overrides)
    return data


def test_it_stores_the_message_when_mail_is_down_and_sends_it_when_back(
        client, smtp_server_factory, django_capture_on_commit_callbacks):
    down = smtp_server_factory(fault="greet_421")
    system = configure_system_account(down)
    with django_capture_on_commit_callbacks(execute=False):
        response = client.post(reverse("notifications:contact"), _payload())
    assert response.status_code == 302
    contact = ContactMessage.objects.get()
    send_account_work(system.pk)
    message = Message.objects.get(mailing=contact.mailing)
    assert message.status == Message.Status.DEFERRED  # kept, retried later
    up = smtp_server_factory()
    configure_system_account(up)
    Message.objects.filter(pk=message.pk).update(next_attempt_at=None)
    send_account_work(system.pk)
    [received] = up.received
    parsed = received.message()
    assert received.rcpt_tos == ["contact@college.example.org"]
    assert parsed["Reply-To"] == "visiteur@example.org"
    # The visitor's text is sent as written, never rendered as a template.
    assert "{{ settings.SECRET_KEY }}" in parsed.get_body(("plain",)).get_content()


@pytest.mark.parametrize("overrides", [
    {"website": "http://spam.example"},
    {"started": "just now"},
    {"started": "forged"},
    {"email": "not-an-address"},
])
def test_it_refuses_robots_and_bad_input_clearly(client, overrides):
    if overrides.get("started") == "just now":  # signed when the test runs, not when collected
        overrides = {"started": signing.dumps(time.time(), salt="contact-form")}
    response = client.post(reverse("notifications:contact"), _payload(**overrides))
    assert response.status_code == 200
    assert response.context["form"].errors
    assert not ContactMessage.objects.exists()


def test_it_rate_limits_the_contact_form(client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        for _ in range(5):
            client.post(reverse("notifications:contact"), _payload())
        response = client.post(reverse("notifications:contact"), _payload())
    assert response.status_code == 200
    assert ContactMessage.objects.count() == 5


def test_staff_with_the_right_profile_read_the_messages(client,
                                                        django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        client.post(reverse("notifications:contact"), _payload())
    url = reverse("notifications:contact_list")
    client.force_login(make_user(Profile.TEACHER))
    assert client.get(url).status_code == 403
    client.force_login(make_user(Profile.SECRETARIAT))
    page = client.get(url).content.decode()
    assert "Inscription" in page and "visiteur@example.org" in page
