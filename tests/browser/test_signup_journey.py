
import pytest
from playwright.sync_api import expect

from tests.browser.conftest import link_from_mail
from tests.mailing.conftest import configure_system_account
from tests.workers import running_worker

pytestmark = [pytest.mark.browser, pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_a_parent_signs_up_and_validates_the_address(page, tmp_path, smtp_server_factory,
                                                     settings, live_server, isolated_queues):
    settings.SITE_URL = live_server.url
    sink = smtp_server_factory()
    configure_system_account(sink)
    env = {**isolated_queues}

    with running_worker(tmp_path, extra_env=env, queues=settings.MAILING_QUEUE_SYSTEM):
        page.goto("/accounts/login/")
        page.get_by_role("link", name="Parents : créez votre compte").click()
        page.locator("#id_first_name").fill("Nadia")
        page.locator("#id_last_name").fill("Haddad")
        page.locator("#id_email").fill("nadia@example.org")
        page.locator("#id_phone").fill("06 12 34 56 78")
        page.locator("#id_password1").fill("une phrase assez longue")
        page.locator("#id_password2").fill("une phrase assez longue")
        page.locator("#id_consent").check()
        page.wait_for_timeout(3200)  # people take longer than the form's minimum fill time
        page.get_by_role("button", name="Créer mon compte").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Consultez votre messagerie")
        link = link_from_mail(sink)
    page.goto(link)
    page.get_by_role("button", name="Activer mon compte").click()
    expect(page.get_by_role("status")).to_contain_text("Votre compte est activé")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Bonjour Nadia")
