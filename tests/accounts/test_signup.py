import re
import time

import pytest
from django.core import signing
from django.core.cache import cache
from django.urls import reverse

from accounts.models import Profile, User
from mailing.models import Mailing
from school.models import Guardian
from tests.factories import make_user

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def clear_cache():
    cache.clear()


def _payload(**overrides):
    data = {"first_name": "Nadia", "last_name": "Haddad", "email": "nadia@example.org",
            "phone": "06 12 34 56 78", "password1": "une phrase assez longue",
            "password2": "une phrase assez longue", "consent": "on", "website": "",
            "started": signing.dumps(time.time() - 10, salt="signup-form")}
    data.update(overrides)
    return data


def _link(mailing) -> str:
    text = mailing.body_text
    return "/" + re.search(r"https?://\S+", text).group(0).split("//", 1)[1].split("/", 1)[1]


def test_it_creates_an_inactive_account_and_validates_it_on_post(client):
    response = client.post(reverse("accounts:signup"), _payload())
    assert response.status_code == 302 and response.url == reverse("accounts:signup_sent")
    user = User.objects.get(email="nadia@example.org")
    assert not user.is_active and user.profile.code == Profile.PARENT
    assert Guardian.objects.get(user=user).phone == "+33612345678"  # E.164
    link = _link(Mailing.objects.get(is_automated=True))
    opened = client.get(link)  # a mail scanner opening the link changes nothing
    assert opened["Referrer-Policy"] == "no-referrer"
    assert opened.url == reverse("accounts:signup_confirm")  # token out of the address bar
    assert client.get(opened.url).status_code == 200
    user.refresh_from_db()
    assert not user.is_active
    assert client.post(opened.url).status_code == 302
    user.refresh_from_db()
    assert user.is_active
    assert client.get(reverse("home")).url == reverse("portal:home")  # logged in, a parent
    assert client.get(reverse("portal:home")).status_code == 200
    client.logout()
    reused = client.get(link, follow=True)
    assert "Ce lien ne fonctionne plus" in reused.content.decode()


def test_it_refuses_tampered_and_expired_links(client, settings):
    client.post(reverse("accounts:signup"), _payload())
    link = _link(Mailing.objects.get(is_automated=True))
    assert "ne fonctionne plus" in client.get(link[:-3] + "abc/", follow=True).content.decode()
    settings.EMAIL_VALIDATION_TIMEOUT = 0
    assert "ne fonctionne plus" in client.get(link, follow=True).content.decode()
    client.post(reverse("accounts:signup_confirm"))
    assert not User.objects.get(email="nadia@example.org").is_active


def test_it_never_reveals_an_existing_address(client):
    make_user(Profile.SECRETARIAT, email="nadia@example.org")
    response = client.post(reverse("accounts:signup"), _payload(email="NADIA@example.org"))
    assert response.status_code == 302 and response.url == reverse("accounts:signup_sent")
    assert User.objects.filter(email__iexact="nadia@example.org").count() == 1
    reminder = Mailing.objects.get(is_automated=True)
    assert "mot de passe" in reminder.body_text  # "you already have an account"


def test_it_resends_a_link_for_an_inactive_account_only(client):
    client.post(reverse("accounts:signup"), _payload())
    started = signing.dumps(time.time() - 10, salt="resend-form")
    response = client.post(reverse("accounts:signup_invalid"),
                           {"email": "nadia@example.org", "website": "", "started": started})
    assert response.status_code == 302
    assert Mailing.objects.filter(is_automated=True).count() == 2
    client.post(reverse("accounts:signup_invalid"),
                {"email": "unknown@example.org", "website": "", "started": started})
    assert Mailing.objects.filter(is_automated=True).count() == 2


@pytest.mark.parametrize("overrides,field", [
    ({"password1": "court", "password2": "court"}, "password2"),
    ({"consent": ""}, "consent"),
    ({"email": "pas-une-adresse"}, "email"),
    ({"website": "http://spam"}, None),
])
def test_it_rejects_bad_input_and_robots(client, overrides, field):
    response = client.post(reverse("accounts:signup"), _payload(**overrides))
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert (field in errors) if field else errors
    assert not User.objects.filter(email="nadia@example.org").exists()


def test_names_with_line_breaks_are_refused(client):
    from accounts.forms import ParentSignupForm

    form = ParentSignupForm(data={"first_name": "Jean\r\nBcc: x@example.org",
                                  "last_name": "Roux"})
    form.is_valid()
    assert "first_name" in form.errors


def test_the_validation_link_reveals_nothing_of_the_password_hash(db):
    from django.core import signing

    from accounts.signup import SALT, parent_register, validation_token

    user = parent_register(first_name="Jeanne", last_name="Roux", email="jr@example.org",
                           phone="0600000000", password="a long pass phrase")
    payload = signing.loads(validation_token(user), salt=SALT)
    assert user.password[-12:] not in str(payload)
    assert user.email not in str(payload)
