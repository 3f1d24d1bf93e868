import datetime

import pytest
from django.core.cache import cache
from django.urls import reverse
from django.utils import translation

from accounts.models import Profile
from school.models import EnrolmentRequest, Guardian
from tests.factories import make_class, make_guardian, make_student, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def clear_cache():
    cache.clear()


@pytest.fixture
def family(parent_user):
    mine = make_guardian(user=parent_user, first_name="Nadia", last_name="Haddad",
                         phone="06 00 00 00 00")
    make_student(make_class("6e A"), guardians=[mine], first_name="Mine")
    other = make_guardian(first_name="Other", last_name="Family", phone="01 11 11 11 11")
    make_student(make_class("6e B"), guardians=[other], first_name="NotMine")
    return mine, other


def _years_ago(years, days=0):
    today = datetime.date.today()
    return today.replace(year=today.year - years) - datetime.timedelta(days=days)


def test_parents_land_on_their_portal(parent_client, family):
    response = parent_client.get(reverse("home"))
    assert response.url == reverse("portal:home")


def test_the_portal_shows_only_the_parents_own_details_and_children(parent_client, family):
    page = parent_client.get(reverse("portal:home")).content.decode()
    assert "Mine" in page and "6e A" in page and "06 00 00 00 00" in page
    assert "NotMine" not in page and "01 11 11 11 11" not in page


def test_the_portal_is_for_parents_only(client, admin_user, teacher, family):
    for user in (admin_user, teacher):
        client.force_login(user)
        assert client.get(reverse("portal:home")).status_code == 403
        assert client.get(reverse("portal:details")).status_code == 403
        assert client.get(reverse("portal:enrolment_create")).status_code == 403
    client.logout()
    assert client.get(reverse("portal:home")).url.startswith(reverse("accounts:login"))


def test_a_parent_without_a_guardian_record_is_told_to_contact_the_school(parent_client):
    page = parent_client.get(reverse("portal:home"))
    assert page.status_code == 200 and page.context["guardian"] is None
    assert parent_client.get(reverse("portal:details")).url == reverse("portal:home")


def test_a_parent_updates_their_own_phone_and_address(parent_client, family):
    mine, other = family
    response = parent_client.post(reverse("portal:details"), {
        "civility": "mme", "phone": "06 98 76 54 32", "address": "3 rue des Lilas\n75011 Paris",
        # Not editable from the portal: ignored.
        "first_name": "Pirate", "email": "pirate@example.org", "id": other.pk})
    assert response.status_code == 302
    mine.refresh_from_db()
    other.refresh_from_db()
    assert (mine.phone, mine.civility) == ("+33698765432", "mme")  # stored in E.164
    assert mine.address.startswith("3 rue des Lilas")
    assert mine.first_name == "Nadia" and mine.email != "pirate@example.org"
    assert other.phone == "01 11 11 11 11"


def test_the_details_save_fires_save_signals(parent_client, family):
    from django.db.models.signals import post_save

    saved = []

    def record(sender, instance, **kwargs):
        saved.append(instance.pk)

    post_save.connect(record, sender=Guardian)
    try:
        parent_client.post(reverse("portal:details"), {"civility": "", "phone": "06 98 76 54 32",
                                                       "address": ""})
    finally:
        post_save.disconnect(record, sender=Guardian)
    assert saved == [family[0].pk]


def test_it_refuses_a_bad_phone_with_a_translated_error(parent_client, family):
    response = parent_client.post(reverse("portal:details"),
                                  {"civility": "", "phone": "call me", "address": ""})
    assert response.status_code == 200
    assert "phone" in response.context["form"].errors
    assert "numéro de téléphone valide" in response.content.decode()


def test_a_parent_sends_an_enrolment_request_and_sees_its_status(parent_client, family):
    wanted = make_class("CM2", level="CM2")
    response = parent_client.post(reverse("portal:enrolment_create"), {
        "first_name": "Sami", "last_name": "Haddad", "birth_date": _years_ago(10).isoformat(),
        "requested_class": wanted.pk, "note": "Frère de Mine"})
    assert response.status_code == 302
    enrolment = EnrolmentRequest.objects.get()
    assert enrolment.guardian == family[0] and enrolment.requested_class == wanted
    assert enrolment.status == EnrolmentRequest.Status.PENDING
    page = parent_client.get(reverse("portal:home")).content.decode()
    with translation.override("fr"):
        assert "Sami" in page and str(EnrolmentRequest.Status.PENDING.label) in page


@pytest.mark.parametrize("birth_date,code", [
    (datetime.date.today() + datetime.timedelta(days=1), "future_birth_date"),
    (datetime.date.today(), "future_birth_date"),
    (_years_ago(1), "implausible_birth_date"),
    (_years_ago(30), "implausible_birth_date"),
])
def test_it_checks_the_birth_date(parent_client, family, birth_date, code):
    response = parent_client.post(reverse("portal:enrolment_create"), {
        "first_name": "Sami", "last_name": "Haddad", "birth_date": birth_date.isoformat()})
    assert response.status_code == 200
    assert response.context["form"].has_error("birth_date", code)
    assert not EnrolmentRequest.objects.exists()


def test_it_requires_the_names_and_the_birth_date(parent_client, family):
    response = parent_client.post(reverse("portal:enrolment_create"), {})
    errors = response.context["form"].errors
    assert {"first_name", "last_name", "birth_date"} <= set(errors)
    assert "Ce champ est obligatoire" in response.content.decode()


def test_it_refuses_a_duplicate_pending_request(parent_client, family):
    data = {"first_name": "Sami", "last_name": "Haddad",
            "birth_date": _years_ago(10).isoformat()}
    parent_client.post(reverse("portal:enrolment_create"), data)
    response = parent_client.post(reverse("portal:enrolment_create"),
                                  {**data, "first_name": "SAMI"})
    assert response.context["form"].has_error("__all__", "duplicate")
    assert EnrolmentRequest.objects.count() == 1


def test_a_parent_never_sees_another_familys_requests(client, family):
    EnrolmentRequest.objects.create(guardian=family[1], first_name="Secret",
                                    last_name="Child", birth_date=_years_ago(8))
    parent = make_user(Profile.PARENT)
    make_guardian(user=parent)
    client.force_login(parent)
    assert "Secret" not in client.get(reverse("portal:home")).content.decode()


def test_parents_see_their_portal_in_the_menu_and_no_staff_screen(parent_client, family):
    page = parent_client.get(reverse("portal:home")).content.decode()
    assert reverse("portal:enrolment_create") in page
    assert reverse("school:enrolment_list") not in page
    assert parent_client.get(reverse("school:enrolment_list")).status_code == 403
    assert parent_client.get(reverse("school:student_list")).status_code == 403
    assert parent_client.get(reverse("school:guardian_detail",
                                     args=[family[1].pk])).status_code == 403


def test_a_parent_says_no_to_sms_and_sees_it(parent_client, family):
    mine, _other = family
    response = parent_client.post(reverse("portal:details"), {
        "civility": "", "phone": "06 12 34 56 78", "address": "", "sms_opt_out": "on"})
    assert response.status_code == 302
    mine.refresh_from_db()
    assert mine.sms_opt_out and mine.sms_opt_out_at is not None
    home = parent_client.get(reverse("portal:home")).content.decode()
    assert "06 12 34 56 78" in home and "Vous avez demandé à ne pas en recevoir" in home
    parent_client.post(reverse("portal:details"), {"civility": "", "phone": "06 12 34 56 78",
                                                   "address": ""})
    mine.refresh_from_db()
    assert not mine.sms_opt_out and mine.sms_opt_out_at is None
    assert "Envoyés à ce numéro" in parent_client.get(reverse("portal:home")).content.decode()
