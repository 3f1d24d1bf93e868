import smtplib
import socket
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller
from django.test import Client
from django.urls import clear_url_caches, reverse

from mailing.devtools.catcher import CatcherHandler, caught_mail_list

pytestmark = pytest.mark.django_db


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def catcher(tmp_path, settings):
    settings.MAIL_CATCHER_DIR = tmp_path / "caught"
    # The catcher's URLs are only routed when a catcher folder is configured.
    import importlib

    import eduka.urls
    importlib.reload(eduka.urls)
    clear_url_caches()
    controller = Controller(CatcherHandler(settings.MAIL_CATCHER_DIR), hostname="127.0.0.1",
                            port=_free_port())
    controller.start()
    yield controller
    controller.stop()
    settings.MAIL_CATCHER_DIR = None
    importlib.reload(eduka.urls)
    clear_url_caches()


def _send(controller, *, with_html=True, attachment=True):
    message = EmailMessage()
    message["From"] = "Collège <secretariat@example.org>"
    message["To"] = "Parents <parents@example.org>"
    message["Subject"] = "Réunion parents-professeurs"
    message.set_content("Bonjour,\nla réunion a lieu jeudi.")
    if with_html:
        message.add_alternative("<p>Bonjour,</p><script>alert(1)</script>", subtype="html")
    if attachment:
        message.add_attachment(b"%PDF-1.4 fake", maintype="application", subtype="pdf",
                               filename="convocation.pdf")
    with smtplib.SMTP(controller.hostname, controller.port) as client:
        client.send_message(message, to_addrs=["a@example.org", "b@example.org"])


def test_it_stores_every_message_with_its_envelope(catcher, settings):
    _send(catcher)
    [mail] = caught_mail_list(settings.MAIL_CATCHER_DIR)
    assert mail.rcpt_tos == ["a@example.org", "b@example.org"]
    assert mail.mail_from == "secretariat@example.org"
    assert mail.subject == "Réunion parents-professeurs"
    assert "jeudi" in mail.text
    assert mail.attachments[0]["filename"] == "convocation.pdf"


def test_it_shows_caught_mail_in_the_browser(catcher, settings, secretary_client):
    client = secretary_client
    _send(catcher)
    [mail] = caught_mail_list(settings.MAIL_CATCHER_DIR)
    listing = client.get(reverse("mail_catcher:list")).content.decode()
    assert "Réunion parents-professeurs" in listing
    detail = client.get(reverse("mail_catcher:detail", args=[mail.id])).content.decode()
    assert "b@example.org" in detail  # envelope recipients
    assert "la réunion a lieu jeudi" in detail
    assert 'sandbox=""' in detail  # HTML shown in a frame that cannot run scripts
    assert "<script>alert(1)</script>" not in detail
    download = client.get(reverse("mail_catcher:attachment", args=[mail.id, 0]))
    assert download.content == b"%PDF-1.4 fake"
    assert download["Content-Disposition"].startswith("attachment")
    raw = client.get(reverse("mail_catcher:raw", args=[mail.id]))
    assert b"Subject:" in raw.content


def test_it_clears_caught_mail(catcher, settings, secretary_client):
    client = secretary_client
    _send(catcher, with_html=False, attachment=False)
    client.post(reverse("mail_catcher:clear"))
    assert caught_mail_list(settings.MAIL_CATCHER_DIR) == []


def test_it_rejects_path_tricks_in_message_ids(catcher, secretary_client):
    client = secretary_client
    assert client.get(reverse("mail_catcher:detail", args=["..%2F..%2Fetc"])).status_code == 404
    assert client.get("/dev/mail/20260101T000000-zz/").status_code == 404


def test_it_is_not_routed_without_a_catcher_folder(client):
    assert client.get("/dev/mail/").status_code == 404


def test_it_shows_caught_mail_to_staff_only(catcher, settings, parent_client):
    """Caught mail holds reset and sign-up links: nobody but logged-in staff reads it."""
    _send(catcher, with_html=False, attachment=False)
    [mail] = caught_mail_list(settings.MAIL_CATCHER_DIR)
    for url in (reverse("mail_catcher:list"), reverse("mail_catcher:detail", args=[mail.id]),
                reverse("mail_catcher:raw", args=[mail.id])):
        anonymous = Client().get(url)
        assert anonymous.status_code == 302 and "/accounts/login/" in anonymous.url
        assert parent_client.get(url).status_code == 403
    assert parent_client.post(reverse("mail_catcher:clear")).status_code == 403
    assert len(caught_mail_list(settings.MAIL_CATCHER_DIR)) == 1
