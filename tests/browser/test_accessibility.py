"""Accessibility and phones: axe-core (from the npm registry, injected here) finds no serious
or critical violation on each staff, administrator, parent and public page — one test per
page — and the public pages and the mailing page fit a 390 px wide phone screen."""

import datetime
import json
from pathlib import Path

import pytest

from accounts.models import Profile
from mailing.engine import send_account_work
from mailing.mailings.services import mailing_submit
from mailing.models import Mailing, SendingAccount
from school.models import EnrolmentRequest
from tests.browser.conftest import REQUIRED, log_in
from tests.factories import PASSWORD, make_class, make_guardian, make_student, make_user
from tests.mailing.conftest import make_account, make_mailing

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
SERIOUS = ("serious", "critical")

# page name -> (who looks at it, its address from the objects made by `school_data`)
PAGES = {
    "login": (None, lambda d: "/accounts/login/"),
    "password_reset": (None, lambda d: "/accounts/password/reset/"),
    "signup": (None, lambda d: "/accounts/signup/"),
    "contact": (None, lambda d: "/contact/"),
    "home_secretary": ("secretary", lambda d: "/"),
    "mailing_list": ("secretary", lambda d: "/emails/"),
    "mailing_compose": ("secretary", lambda d: "/emails/new/"),
    "mailing_draft": ("secretary", lambda d: f"/emails/{d['draft'].pk}/"),
    "mailing_detail": ("secretary", lambda d: f"/emails/{d['sent'].pk}/"),
    "sms_compose": ("secretary", lambda d: "/emails/sms/new/"),
    "sms_draft": ("secretary", lambda d: f"/emails/{d['sms_draft'].pk}/"),
    "message_detail": ("secretary", lambda d: f"/emails/{d['sent'].pk}/messages/"
                                              f"{d['sent'].messages.first().pk}/"),
    "template_list": ("secretary", lambda d: "/emails/templates/"),
    "template_new": ("secretary", lambda d: "/emails/templates/new/"),
    "class_list": ("secretary", lambda d: "/school/classes/"),
    "class_detail": ("secretary", lambda d: f"/school/classes/{d['class'].pk}/"),
    "student_detail": ("secretary", lambda d: f"/school/students/{d['student'].pk}/"),
    "student_edit": ("secretary", lambda d: f"/school/students/{d['student'].pk}/edit/"),
    "guardian_list": ("secretary", lambda d: "/school/guardians/"),
    "guardian_detail": ("secretary", lambda d: f"/school/guardians/{d['guardian'].pk}/"),
    "enrolment_list": ("admissions", lambda d: "/school/enrolments/"),
    "enrolment_detail": ("admissions", lambda d: f"/school/enrolments/{d['enrolment'].pk}/"),
    "alerts": ("secretary", lambda d: "/alerts/"),
    "password_change": ("secretary", lambda d: "/accounts/password/"),
    "account_list": ("admin", lambda d: "/configuration/accounts/"),
    "account_new": ("admin", lambda d: "/configuration/accounts/new/"),
    "account_edit": ("admin", lambda d: f"/configuration/accounts/{d['account'].pk}/"),
    "sms_account_new": ("admin", lambda d: "/configuration/accounts/new-sms/"),
    "sms_account_edit": ("admin",
                         lambda d: f"/configuration/accounts/{d['sms_account'].pk}/"),
    "automated_emails": ("admin", lambda d: "/configuration/automated-emails/"),
    "suppressed": ("admin", lambda d: "/configuration/suppressed/"),
    "user_list": ("admin", lambda d: "/accounts/users/"),
    "user_new": ("admin", lambda d: "/accounts/users/new/"),
    "profiles": ("admin", lambda d: "/accounts/profiles/"),
    "school_settings": ("admin", lambda d: "/school/school/"),
    "portal_home": ("parent", lambda d: "/portal/"),
    "portal_details": ("parent", lambda d: "/portal/details/"),
    "portal_enrolment": ("parent", lambda d: "/portal/enrolments/new/"),
}
PHONE_PAGES = ["login", "password_reset", "signup", "contact", "portal_home", "portal_details",
               "portal_enrolment", "mailing_detail", "mailing_compose", "sms_compose",
               "sms_draft"]
USERS = {"secretary": "secretaire@example.org", "admin": "admin@example.org",
         "admissions": "admissions@example.org", "parent": "nadia@example.org"}


@pytest.fixture
def school_data(sink, school):
    users = {"secretary": make_user(Profile.SECRETARIAT, email=USERS["secretary"]),
             "admin": make_user(Profile.ADMIN, email=USERS["admin"]),
             "admissions": make_user(Profile.ADMISSIONS, email=USERS["admissions"]),
             "parent": make_user(Profile.PARENT, email=USERS["parent"], first_name="Nadia")}
    school_class = make_class("6e A")
    guardian = make_guardian(user=users["parent"], first_name="Nadia", last_name="Haddad",
                             email=USERS["parent"], phone="+33612345678")
    student = make_student(school_class, guardians=[guardian], first_name="Léa",
                           last_name="Haddad")
    account = make_account(sink)
    account.users.add(users["secretary"])
    sent = make_mailing(account, users["secretary"], mode=Mailing.Mode.PER_GUARDIAN,
                        subject="Sortie", body="Bonjour", audience={
                            "addresses": ["a@example.org", "b@example.org"]})
    mailing_submit(mailing=sent)
    send_account_work(account.pk)
    draft = make_mailing(account, users["secretary"], mode=Mailing.Mode.PER_STUDENT,
                         audience={"classes": [school_class.pk]})
    enrolment = EnrolmentRequest.objects.create(
        guardian=guardian, first_name="Sami", last_name="Haddad",
        birth_date=datetime.date(2015, 3, 14), requested_class=school_class)
    sms_account = SendingAccount.objects.create(
        name="SMS", kind="sms", sms_provider="brevo", sms_sender_id="COLLEGE",
        sms_credentials='{"api_key": "k"}')
    sms_account.users.add(users["secretary"])
    sms_draft = make_mailing(sms_account, users["secretary"], subject="Bonjour",
                             body="Bonjour, {{ eleve.prenom }} est absente aujourd'hui.",
                             audience={"class_ids": [school_class.pk]})
    return {"class": school_class, "student": student, "guardian": guardian,
            "account": account, "sent": sent, "draft": draft, "enrolment": enrolment,
            "sms_account": sms_account, "sms_draft": sms_draft}


def _axe(page) -> list[dict]:
    if not AXE.exists():
        if REQUIRED:
            pytest.fail(f"axe-core is missing at {AXE}: run make setup (needs npm)")
        pytest.skip("axe-core not installed (npm not found at set-up)")
    page.add_script_tag(path=str(AXE))
    return page.evaluate("""async () => {
        const result = await axe.run(document, {resultTypes: ["violations"]});
        return result.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
            nodes: v.nodes.slice(0, 3).map(n => n.target.join(" "))}));
    }""")


def _open(page, name, data):
    persona, address = PAGES[name]
    if persona:
        log_in(page, USERS[persona], PASSWORD)
    response = page.goto(address(data))
    assert response.ok, f"{name}: {response.status}"
    # Judge the page people see: scripts run and the editor's icon font loaded (before the
    # font arrives, axe reads its ligatures, "format_paragraph", as words).
    page.wait_for_load_state("networkidle")
    page.evaluate("document.fonts.ready.then(() => true)")


@pytest.mark.parametrize("name", list(PAGES))
def test_no_serious_accessibility_violation(page, school_data, name):
    _open(page, name, school_data)
    violations = [v for v in _axe(page) if v["impact"] in SERIOUS]
    assert violations == [], f"{name}:\n" + json.dumps(violations, ensure_ascii=False, indent=1)


@pytest.mark.parametrize("name", PHONE_PAGES)
def test_it_fits_a_phone_screen(page, school_data, name):
    page.set_viewport_size({"width": 390, "height": 844})
    _open(page, name, school_data)
    page.wait_for_load_state("networkidle")
    overflow, wide = page.evaluate("""() => [
        document.documentElement.scrollWidth - window.innerWidth,
        Array.from(document.querySelectorAll("body *")).filter(
            e => e.getBoundingClientRect().right > window.innerWidth + 1).slice(0, 5).map(
            e => e.tagName.toLowerCase() + (e.id ? "#" + e.id : "")
                 + (e.className && e.className.baseVal === undefined ? "." + e.className : ""))]""")
    assert overflow <= 0, f"{name} is {overflow} px wider than a 390 px phone screen: {wide}"
