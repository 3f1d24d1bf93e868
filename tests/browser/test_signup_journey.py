import re
import time

import pytest
from playwright.sync_api import expect

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
        deadline = time.monotonic() + 60
        while not sink.received and time.monotonic() < deadline:
            time.sleep(0.2)
    [mail] = sink.received
    link = re.search(r"https?://\S+", mail.message().get_body(("plain",)).get_content())
    page.goto(link.group(0))
    page.get_by_role("button", name="Activer mon compte").click()
    expect(page.get_by_role("status")).to_contain_text("Votre compte est activé")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Bonjour Nadia")
