"""The compose page counts the recipients while they are chosen, as the confirm page will."""

import re

import pytest
from playwright.sync_api import expect

from accounts.models import Profile
from tests.browser.conftest import log_in
from tests.factories import PASSWORD, make_user
from tests.mailing.conftest import make_account

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_count_follows_the_audience_and_the_mode(page, sink, class_with_families, school):
    secretary = make_user(Profile.SECRETARIAT, email="secretaire@example.org")
    make_account(sink, max_bcc_recipients=2).users.add(secretary)
    school_class, _ = class_with_families
    log_in(page, "secretaire@example.org", PASSWORD)
    page.goto("/emails/new/")
    count = page.locator("#audience-count")
    expect(count).to_contain_text("0 destinataire")
    page.get_by_role("combobox", name=re.compile("Rechercher")).fill("6e")
    page.get_by_role("option", name=re.compile(f"^Toute la classe {school_class.name}")).click()
    expect(count).to_contain_text("5 destinataires")  # per student: Nadia twice
    expect(count).to_contain_text("laissé de côté")
    page.locator("[name=addresses]").fill("extra@example.org, autre@example.org")
    expect(count).to_contain_text("7 destinataires")
    page.get_by_label("CCi (un seul message", exact=False).check()
    expect(count).to_contain_text("6 destinataires · 3 messages à envoyer")  # BCC max 2
