
import pytest
from playwright.sync_api import expect

from tests.browser.conftest import link_from_mail, log_in
from tests.factories import make_user
from tests.mailing.conftest import configure_system_account
from tests.workers import running_worker

pytestmark = [pytest.mark.browser, pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_a_user_resets_a_forgotten_password_from_the_mail(page, tmp_path, smtp_server_factory,
                                                          settings, live_server, isolated_queues):
    settings.SITE_URL = live_server.url
    sink = smtp_server_factory()
    configure_system_account(sink)
    make_user(email="maman@example.org", first_name="Nadia")
    env = {**isolated_queues, "SITE_URL": live_server.url}

    with running_worker(tmp_path, extra_env=env, queues=settings.MAILING_QUEUE_SYSTEM):
        page.goto("/accounts/login/")
        page.get_by_role("link", name="Mot de passe oublié ?").click()
        page.get_by_label("Adresse e-mail").fill("maman@example.org")
        page.get_by_role("button", name="Envoyez-moi un lien").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Consultez votre messagerie")
        link = link_from_mail(sink)
    page.goto(link)
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Choisissez un nouveau mot de passe")
    assert "set-password" in page.url  # the token left the address bar
    page.locator("#id_new_password1").fill("une nouvelle phrase secrète")
    page.locator("#id_new_password2").fill("une nouvelle phrase secrète")
    page.get_by_role("button", name="Modifier mon mot de passe").click()
    expect(page.get_by_role("status")).to_contain_text("Votre mot de passe a été changé")
    log_in(page, "maman@example.org", "une nouvelle phrase secrète")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Bonjour Nadia")
    page.goto(link)
    expect(page.get_by_role("heading", level=1)).to_have_text("Ce lien ne fonctionne plus")
