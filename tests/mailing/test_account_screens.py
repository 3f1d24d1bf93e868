import pytest
from django.urls import reverse

from accounts.models import Profile
from mailing.models import SendingAccount
from mailing.sending_accounts.selectors import accounts_user_may_read, accounts_user_may_send_from
from tests.factories import make_user

pytestmark = pytest.mark.django_db


def external_payload(**overrides):
    payload = {
        "name": "Secrétariat", "kind": "external", "sender_name": "Collège Jean Moulin",
        "from_email": "secretariat@ecole.example.org", "smtp_host": "smtp.example.org",
        "security": "tls", "smtp_port": "587", "username": "secretariat@ecole.example.org",
        "password": "  pass word  ", "reply_to": "", "max_bcc_recipients": "100",
        "send_delay": "1.5", "max_connections": "4", "is_active": "on",
        "integrated_local_part": "", "forward_to": "",
        "pinned_certificate": "",
    }
    payload.update(overrides)
    return {k: v for k, v in payload.items() if v is not None}


def test_it_has_a_system_account_that_starts_unconfigured_and_cannot_be_deleted(admin_client):
    system = SendingAccount.objects.get(is_system=True)
    assert not system.is_configured
    page = admin_client.get(reverse("home")).content.decode()
    assert "Système n&#x27;est pas configuré" in page
    admin_client.post(reverse("mailing:account_delete", args=[system.pk]))
    assert SendingAccount.objects.filter(is_system=True).exists()


def test_it_adds_an_external_account_and_keeps_password_spaces(admin_client):
    response = admin_client.post(reverse("mailing:account_create"), external_payload())
    assert response.status_code == 302
    account = SendingAccount.objects.get(name="Secrétariat")
    assert account.password == "  pass word  "
    assert str(account.send_delay) == "1.500"
    assert "pass word" not in admin_client.get(response.url).content.decode()


def test_it_keeps_the_stored_password_when_left_blank_on_edit(admin_client):
    admin_client.post(reverse("mailing:account_create"), external_payload())
    account = SendingAccount.objects.get(name="Secrétariat")
    admin_client.post(reverse("mailing:account_edit", args=[account.pk]),
                      external_payload(password="", sender_name="Nouveau nom"))
    account.refresh_from_db()
    assert (account.sender_name, account.password) == ("Nouveau nom", "  pass word  ")


def test_it_proposes_the_default_port_for_the_security(admin_client):
    admin_client.post(reverse("mailing:account_create"),
                      external_payload(security="ssl", smtp_port=""))
    assert SendingAccount.objects.get(name="Secrétariat").smtp_port == 465


@pytest.mark.parametrize("field,value", [
    ("smtp_host", "not a host!"), ("smtp_port", "70000"), ("smtp_port", "0"),
    ("from_email", "nope"), ("reply_to", "nope"), ("max_bcc_recipients", "0"),
    ("send_delay", "-1"), ("send_delay", "99999"), ("sender_name", "Evil\r\nBcc: x@y.org"),
    ("username", "user\nname"), ("smtp_host", ""),
])
def test_it_rejects_bad_input_on_the_field_and_saves_nothing(admin_client, field, value):
    before = SendingAccount.objects.count()
    response = admin_client.post(reverse("mailing:account_create"),
                                 external_payload(**{field: value}))
    assert response.status_code == 200
    assert field in response.context["form"].errors
    assert SendingAccount.objects.count() == before


@pytest.mark.parametrize("host", ["127.0.0.1", "10.0.0.5", "192.168.1.1", "169.254.169.254",
                                  "localhost", "[::1]"])
def test_it_refuses_internal_hosts_unless_allowed(admin_client, settings, host):
    settings.SMTP_ALLOW_INTERNAL_HOSTS = False
    response = admin_client.post(reverse("mailing:account_create"),
                                 external_payload(smtp_host=host))
    assert "smtp_host" in response.context["form"].errors


def test_it_warns_about_an_unusual_security_and_port_pair(admin_client):
    response = admin_client.post(reverse("mailing:account_create"),
                                 external_payload(security="ssl", smtp_port="587"), follow=True)
    assert "inhabituel" in response.content.decode()


def test_it_requires_what_an_integrated_account_needs(admin_client, settings):
    settings.INTEGRATED_MAIL_DOMAIN = "ecolemail.eduka.school"
    response = admin_client.post(reverse("mailing:account_create"), external_payload(
        kind="integrated", integrated_local_part="", smtp_host="", from_email=""))
    assert "integrated_local_part" in response.context["form"].errors
    admin_client.post(reverse("mailing:account_create"), external_payload(
        kind="integrated", integrated_local_part="Inscriptions", smtp_host="", from_email="",
        forward_to="inscriptions@ecole.org", username="school-42"))
    account = SendingAccount.objects.get(name="Secrétariat")
    assert account.envelope_from == "inscriptions@ecolemail.eduka.school"
    assert account.effective_reply_to == "inscriptions@ecole.org"


def test_it_assigns_accounts_from_both_doors(admin_client):
    admin_client.post(reverse("mailing:account_create"), external_payload())
    account = SendingAccount.objects.get(name="Secrétariat")
    alice, bob = make_user(Profile.SECRETARIAT), make_user(Profile.ADMISSIONS)
    admin_client.post(reverse("mailing:account_users", args=[account.pk]), {"users": [alice.pk]})
    assert list(account.users.all()) == [alice]
    admin_client.post(reverse("mailing:user_accounts", args=[bob.pk]), {"accounts": [account.pk]})
    assert set(account.users.all()) == {alice, bob}
    page = admin_client.get(reverse("mailing:account_list")).content.decode()
    assert str(bob) in page and str(alice) in page
    assert str(account) in admin_client.get(reverse("accounts:user_edit", args=[bob.pk])
                                            ).content.decode()


def test_it_applies_the_history_and_sending_rules():
    account = SendingAccount.objects.create(name="A", kind="external", smtp_host="h.org",
                                            from_email="a@h.org")
    sender, director, other = (make_user(Profile.SECRETARIAT), make_user(Profile.DIRECTION),
                               make_user(Profile.TEACHER))
    account.users.add(sender)
    account.history_profiles.add(Profile.objects.get(code=Profile.DIRECTION))
    assert list(accounts_user_may_send_from(sender)) == [account]
    assert list(accounts_user_may_send_from(director)) == []
    assert list(accounts_user_may_read(sender)) == [account]
    assert list(accounts_user_may_read(director)) == [account]
    assert list(accounts_user_may_read(other)) == []


def test_it_refuses_account_screens_to_everyone_but_administrators(client):
    account = SendingAccount.objects.get(is_system=True)
    urls = [reverse("mailing:account_list"), reverse("mailing:account_create"),
            reverse("mailing:account_edit", args=[account.pk])]
    for url in urls:
        assert client.get(url).status_code == 302
    for profile in (Profile.SECRETARIAT, Profile.DIRECTION, Profile.PARENT):
        client.force_login(make_user(profile))
        for url in urls:
            assert client.get(url).status_code == 403
        assert client.post(reverse("mailing:account_test", args=[account.pk]),
                           {"to_email": "x@example.org"}).status_code == 403
    client.force_login(make_user(Profile.ADMIN))
    for url in urls:
        assert client.get(url).status_code == 200
    assert client.get(reverse("mailing:account_edit", args=[98765])).status_code == 404
