import re

import pytest
from playwright.sync_api import expect

from accounts.models import Profile
from mailing.models import Mailing, Recipient
from tests.browser.conftest import log_in
from tests.factories import PASSWORD, make_user
from tests.mailing.conftest import make_account
from tests.workers import running_worker

pytestmark = [pytest.mark.browser, pytest.mark.worker, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def queues(isolated_queues):
    return isolated_queues


def test_a_secretary_sends_a_per_student_mail_merge_and_follows_it(
        page, tmp_path, smtp_server_factory, school, class_with_families, queues):
    sink = smtp_server_factory()
    secretary = make_user(Profile.SECRETARIAT, email="chloe@example.org", first_name="Chloé")
    account = make_account(sink, name="Secrétariat")
    account.users.add(secretary)
    attachment = tmp_path / "convocation.pdf"
    attachment.write_bytes(b"%PDF-1.4 convocation")

    with running_worker(tmp_path, extra_env=queues, queues=",".join(queues.values())):
        log_in(page, "chloe@example.org", PASSWORD)
        page.get_by_role("navigation", name="Menu principal").get_by_role(
            "link", name="E-mails").click()
        page.get_by_role("link", name="Nouvel envoi").click()
        page.get_by_label("Publipostage par élève").check()
        page.get_by_role("combobox", name=re.compile("Rechercher")).fill("6e A")
        page.get_by_role("option", name=re.compile("^Toute la classe 6e A")).click()
        page.locator("#id_subject").fill("Réunion pour {{ eleve.prenom }}")
        page.locator(".tiptap.ProseMirror").click()
        page.keyboard.type("Bonjour {{ parent.civilite }} {{ parent.nom }},\n"
                           "la réunion de {{ eleve.classe }} a lieu jeudi.")
        page.locator("#id_attachments").set_input_files(str(attachment))
        page.get_by_role("button", name=re.compile("Continuer")).click()

        expect(page.locator("#recipient-count")).to_have_text("5")
        page.get_by_label("Aperçu pour").select_option(index=2)
        page.get_by_role("button", name="Afficher").click()
        expect(page.locator("#preview-subject")).to_contain_text("Réunion pour")
        page.get_by_role("button", name=re.compile("Envoyer à 5 destinataires")).click()

        expect(page.locator('[data-count="sent"]')).to_have_text("5", timeout=60_000)
        expect(page.locator("#mailing-status")).to_have_text("Terminé", timeout=30_000)
    assert len(sink.received) == 5
    assert all(m.message().get_filename() is None for m in sink.received)
    assert all(any(p.get_filename() == "convocation.pdf" for p in m.message().iter_attachments())
               for m in sink.received)

    mailing = Mailing.objects.get()
    first = Recipient.objects.filter(mailing=mailing).first()
    page.get_by_role("link", name=first.name).first.click()
    expect(page.locator(".mail-text")).to_contain_text("a lieu jeudi")

    # Someone not assigned to the account (and not allowed to read it) cannot see it.
    page.get_by_role("button", name="Déconnexion").click()
    make_user(Profile.SECRETARIAT, email="autre@example.org")
    log_in(page, "autre@example.org", PASSWORD)
    assert page.goto(f"/emails/{mailing.pk}/").status == 404
    page.goto("/emails/")
    expect(page.get_by_text("Réunion pour")).to_have_count(0)
