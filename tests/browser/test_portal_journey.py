import datetime
import time

import pytest
from playwright.sync_api import expect

from accounts.models import Profile
from school.models import EnrolmentRequest, Student
from tests.browser.conftest import log_in
from tests.factories import PASSWORD, make_class, make_guardian, make_student, make_user
from tests.mailing.conftest import configure_system_account
from tests.workers import running_worker

pytestmark = [pytest.mark.browser, pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_a_parent_asks_to_enrol_a_child_and_admissions_accept(
        page, tmp_path, smtp_server_factory, settings, live_server, isolated_queues):
    settings.SITE_URL = live_server.url
    sink = smtp_server_factory()
    configure_system_account(sink)
    parent = make_user(Profile.PARENT, email="nadia@example.org", first_name="Nadia")
    guardian = make_guardian(user=parent, first_name="Nadia", last_name="Haddad",
                             email="nadia@example.org", phone="06 00 00 00 00")
    make_student(make_class("6e A"), guardians=[guardian], first_name="Léa",
                 last_name="Haddad")
    cm2 = make_class("CM2 B", level="CM2")
    make_user(Profile.ADMISSIONS, email="admissions@example.org")
    birth_date = datetime.date.today().replace(year=datetime.date.today().year - 10,
                                               month=3, day=14)

    # The parent lands on their portal, updates their phone and asks to enrol a child.
    log_in(page, "nadia@example.org", PASSWORD)
    expect(page.get_by_role("heading", level=1)).to_contain_text("Bonjour Nadia")
    expect(page.locator("ul.children")).to_contain_text("Léa Haddad — 6e A")
    page.locator("a[href='/portal/details/']").first.click()
    page.locator("[name=phone]").fill("06 98 76 54 32")
    page.get_by_role("button", name="Enregistrer").click()
    expect(page.locator(".details")).to_contain_text("06 98 76 54 32")
    page.locator("main a[href='/portal/enrolments/new/']").click()
    page.locator("[name=first_name]").fill("Sami")
    page.locator("[name=last_name]").fill("Haddad")
    page.locator("[name=birth_date]").fill(birth_date.isoformat())
    page.locator("[name=requested_class]").select_option(label="CM2 B")
    page.locator("button[name=send]").click()
    expect(page.locator("table.enrolments")).to_contain_text("Sami")
    guardian.refresh_from_db()
    assert guardian.phone == "+33698765432"  # stored in E.164
    enrolment = EnrolmentRequest.objects.get()
    page.get_by_role("button", name="Déconnexion").click()

    # Admissions see it in their menu with the pending count, and accept it.
    with running_worker(tmp_path, extra_env={**isolated_queues},
                        queues=settings.MAILING_QUEUE_SYSTEM):
        log_in(page, "admissions@example.org", PASSWORD)
        menu = page.get_by_role("navigation", name="Menu principal")
        entry = menu.locator("a[href='/school/enrolments/']")
        expect(entry.locator(".badge")).to_have_text("1")
        entry.click()
        page.get_by_role("link", name="Haddad Sami").click()
        expect(page.locator("[name=school_class]")).to_have_value(str(cm2.pk))
        page.locator("button[name=accept]").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Sami Haddad")
        expect(page.locator(".details")).to_contain_text("CM2 B")
        expect(page.locator("main")).to_contain_text("Nadia Haddad")
        page.locator(f".details a[href='/school/classes/{cm2.pk}/']").click()
        expect(page.locator("main")).to_contain_text("Sami")

        student = Student.objects.get(first_name="Sami")
        assert student.school_class == cm2 and list(student.guardians.all()) == [guardian]
        enrolment.refresh_from_db()
        assert enrolment.status == EnrolmentRequest.Status.ACCEPTED
        # The parent is told by the System account, through the real worker.
        deadline = time.monotonic() + 60
        while not sink.received and time.monotonic() < deadline:
            time.sleep(0.2)
    [mail] = sink.received
    assert mail.rcpt_tos == ["nadia@example.org"]
    assert "Sami Haddad" in mail.message().get_body(("plain",)).get_content()
