import re

import pytest
from playwright.sync_api import expect

from accounts.models import Profile
from notifications.models import Subscription
from school.models import Student
from tests.browser.conftest import log_in
from tests.factories import PASSWORD, make_class, make_student, make_user
from tests.mailing.conftest import configure_system_account
from tests.notifications.test_alerts_worker import _wait_for
from tests.workers import running_worker

pytestmark = [pytest.mark.browser, pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_a_principal_subscribes_to_class_changes_and_unsubscribes_from_the_mail(
        page, tmp_path, smtp_server_factory, settings, live_server, isolated_queues):
    settings.SITE_URL = live_server.url
    sink = smtp_server_factory()
    configure_system_account(sink)
    make_user(Profile.DIRECTION, email="principal@example.org", first_name="Paule")
    make_user(Profile.SECRETARIAT, email="secretariat@example.org", first_name="Claire",
              last_name="Martin")
    cm1, cm2 = make_class("CM1 A", level="CM1"), make_class("CM2 B", level="CM2")
    make_student(cm1, first_name="Léa", last_name="Dubois")
    make_student(cm1, first_name="Noé", last_name="Petit")

    log_in(page, "principal@example.org", PASSWORD)
    page.get_by_role("navigation").get_by_role("link", name="Alertes").click()
    page.get_by_label("Modification :", exact=True).select_option(label="Un élève change de classe")
    page.get_by_label("Uniquement pour le niveau").select_option("CM2")
    page.get_by_role("button", name="S'abonner").click()
    expect(page.get_by_role("status")).to_contain_text("Abonnement enregistré")
    expect(page.get_by_role("cell", name="Niveau CM2")).to_be_visible()

    page.context.clear_cookies()
    log_in(page, "secretariat@example.org", PASSWORD)
    env = {**isolated_queues, "SITE_URL": live_server.url}
    with running_worker(tmp_path, extra_env=env, queues=settings.MAILING_QUEUE_SYSTEM):
        page.goto(cm1.get_absolute_url())
        page.get_by_label("Léa Dubois").check()
        page.get_by_label("Déplacer vers la classe").select_option(label="CM2 B")
        page.get_by_role("button", name="Déplacer les élèves sélectionnés").click()
        expect(page.get_by_role("status")).to_contain_text("1 élève déplacé vers CM2 B")
        assert _wait_for(lambda: sink.received)
    assert Student.objects.get(first_name="Léa").school_class == cm2

    [mail] = sink.received
    message = mail.message()
    assert mail.rcpt_tos == ["principal@example.org"]
    body = message.get_body(("plain",)).get_content()
    assert "Léa Dubois : classe" in body and "après : CM2 B" in body
    assert "par Claire Martin" in body
    unsubscribe = re.search(r"Se désabonner : (\S+)", body).group(1)
    assert message["List-Unsubscribe"] == f"<{unsubscribe}>"

    page.context.clear_cookies()  # the link works without being logged in
    page.goto(unsubscribe)
    page.get_by_role("button", name="Se désabonner").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Désabonnement effectué")
    assert not Subscription.objects.exists()
