import datetime

import pytest
from django.urls import reverse

from accounts.models import Profile
from mailing.models import Mailing
from school import services
from school.models import EnrolmentRequest, Student
from school.tasks import enrolment_decision_notify
from tests.factories import make_class, make_guardian, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def admissions(db):
    return make_user(Profile.ADMISSIONS, email="admissions@example.org")


@pytest.fixture
def enrolment(parent_user):
    guardian = make_guardian(user=parent_user, first_name="Nadia", last_name="Haddad")
    return EnrolmentRequest.objects.create(
        guardian=guardian, first_name="Sami", last_name="Haddad",
        birth_date=datetime.date(2015, 3, 14), requested_class=make_class("CM2", level="CM2"))


def test_admissions_staff_see_the_list_pending_first(client, admissions, enrolment):
    decided = EnrolmentRequest.objects.create(
        guardian=enrolment.guardian, first_name="Old", last_name="Request",
        birth_date=datetime.date(2014, 1, 1), status=EnrolmentRequest.Status.REFUSED)
    client.force_login(admissions)
    page = client.get(reverse("school:enrolment_list"))
    assert list(page.context["page"]) == [enrolment, decided]
    refused = client.get(reverse("school:enrolment_list"), {"status": "refused"})
    assert list(refused.context["page"]) == [decided]


def test_the_staff_list_takes_a_constant_number_of_queries(client, admissions, enrolment,
                                                           django_assert_max_num_queries):
    for index in range(30):
        EnrolmentRequest.objects.create(
            guardian=make_guardian(), first_name=f"Child{index}", last_name="X",
            birth_date=datetime.date(2015, 1, 1), requested_class=make_class())
    client.force_login(admissions)
    # Session, user, permissions, menu badge, profile, count, page.
    with django_assert_max_num_queries(8):
        response = client.get(reverse("school:enrolment_list"))
    assert len(response.context["page"].object_list) == 25


def test_the_menu_shows_the_pending_count_to_staff_who_may_see_requests(
        client, admissions, teacher, enrolment):
    client.force_login(admissions)
    nav = client.get(reverse("home")).context["nav_main"]
    [entry] = [item for item in nav if item["name"] == "school:enrolment_list"]
    assert entry["badge"] == 1
    client.force_login(teacher)
    nav = client.get(reverse("home")).context["nav_main"]
    assert "school:enrolment_list" not in [item["name"] for item in nav]


@pytest.mark.parametrize("profile", [Profile.ADMIN, Profile.DIRECTION, Profile.SECRETARIAT,
                                     Profile.ADMISSIONS])
def test_these_profiles_may_process_requests(profile):
    user = make_user(profile)
    assert user.has_perms(["school.view_enrolmentrequest", "school.process_enrolmentrequest"])


def test_teachers_and_parents_can_neither_see_nor_decide(client, teacher, parent_user,
                                                         enrolment):
    for user in (teacher, parent_user):
        client.force_login(user)
        assert client.get(reverse("school:enrolment_list")).status_code == 403
        assert client.get(enrolment.get_absolute_url()).status_code == 403
        accept = client.post(reverse("school:enrolment_accept", args=[enrolment.pk]),
                             {"school_class": enrolment.requested_class_id})
        assert accept.status_code == 403
        refuse = client.post(reverse("school:enrolment_refuse", args=[enrolment.pk]),
                             {"reason": "Non"})
        assert refuse.status_code == 403
    enrolment.refresh_from_db()
    assert enrolment.is_pending and not Student.objects.exists()


def test_accepting_creates_the_student_linked_to_the_guardian_and_tells_the_parent(
        client, admissions, enrolment, django_capture_on_commit_callbacks):
    client.force_login(admissions)
    detail = client.get(enrolment.get_absolute_url())
    assert detail.context["accept_form"]["school_class"].value() == enrolment.requested_class_id
    other_class = make_class("CM1", level="CM1")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client.post(reverse("school:enrolment_accept", args=[enrolment.pk]),
                               {"school_class": other_class.pk})
    student = Student.objects.get()
    assert response.url == student.get_absolute_url()
    assert (student.first_name, student.birth_date) == ("Sami", datetime.date(2015, 3, 14))
    assert student.school_class == other_class
    assert list(student.guardians.all()) == [enrolment.guardian]
    enrolment.refresh_from_db()
    assert enrolment.status == EnrolmentRequest.Status.ACCEPTED
    assert (enrolment.student, enrolment.decided_by) == (student, admissions)
    assert enrolment.decided_at is not None
    assert len(callbacks) == 1
    enrolment_decision_notify(enrolment.pk)
    mail = Mailing.objects.get(is_automated=True)
    assert mail.recipients.get().email == "parent@example.org"
    assert "Sami Haddad" in mail.body_text and "CM1" in mail.body_text
    # The class shows the new student, the parent's portal too.
    assert "Sami" in client.get(other_class.get_absolute_url()).content.decode()


def test_accepting_twice_creates_one_student(client, admissions, secretary, enrolment,
                                             django_capture_on_commit_callbacks):
    client.force_login(admissions)
    url = reverse("school:enrolment_accept", args=[enrolment.pk])
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        client.post(url, {"school_class": enrolment.requested_class_id})
        client.force_login(secretary)  # a colleague on the same request
        second = client.post(url, {"school_class": enrolment.requested_class_id})
        refused = client.post(reverse("school:enrolment_refuse", args=[enrolment.pk]),
                              {"reason": "Trop tard"})
    assert second.url == enrolment.get_absolute_url() == refused.url
    assert Student.objects.count() == 1
    assert len(callbacks) == 1  # one decision, one mail
    enrolment.refresh_from_db()
    assert enrolment.status == EnrolmentRequest.Status.ACCEPTED
    assert enrolment.decided_by == admissions and enrolment.refusal_reason == ""


def test_the_service_decides_a_stale_request_only_once(admissions, enrolment):
    stale = EnrolmentRequest.objects.get(pk=enrolment.pk)  # loaded before anyone decided
    first = services.enrolment_request_accept(enrolment_id=enrolment.pk, decided_by=admissions,
                                              school_class=enrolment.requested_class)
    assert first is not None and stale.is_pending
    assert services.enrolment_request_accept(enrolment_id=stale.pk, decided_by=admissions,
                                             school_class=enrolment.requested_class) is None
    assert services.enrolment_request_refuse(enrolment_id=stale.pk, decided_by=admissions,
                                             reason="x") is None
    assert Student.objects.count() == 1


def test_refusing_needs_a_reason_and_tells_the_parent(client, admissions, enrolment,
                                                      django_capture_on_commit_callbacks):
    client.force_login(admissions)
    url = reverse("school:enrolment_refuse", args=[enrolment.pk])
    empty = client.post(url, {"reason": "  "})
    assert empty.status_code == 200
    assert empty.context["refuse_form"].has_error("reason", "required")
    assert "Ce champ est obligatoire" in empty.content.decode()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        client.post(url, {"reason": "Plus de place en CM2 cette année."})
    enrolment.refresh_from_db()
    assert enrolment.status == EnrolmentRequest.Status.REFUSED
    assert not Student.objects.exists() and len(callbacks) == 1
    enrolment_decision_notify(enrolment.pk)
    assert "Plus de place en CM2" in Mailing.objects.get(is_automated=True).body_text
    client.force_login(enrolment.guardian.user)
    assert "Plus de place en CM2" in client.get(reverse("portal:home")).content.decode()


def test_a_decided_request_shows_no_decision_forms(client, admissions, enrolment):
    services.enrolment_request_refuse(enrolment_id=enrolment.pk, decided_by=admissions,
                                      reason="Complet")
    client.force_login(admissions)
    page = client.get(enrolment.get_absolute_url())
    assert "accept_form" not in page.context and "refuse_form" not in page.context


@pytest.mark.django_db(transaction=True)
def test_two_colleagues_accepting_at_once_create_one_student(admissions, secretary, enrolment,
                                                             isolated_queues):
    import threading

    from django.db import connection

    barrier = threading.Barrier(2)
    results = []

    def accept(user):
        try:
            barrier.wait()
            results.append(services.enrolment_request_accept(
                enrolment_id=enrolment.pk, decided_by=user,
                school_class=enrolment.requested_class))
        finally:
            connection.close()

    threads = [threading.Thread(target=accept, args=(user,)) for user in (admissions, secretary)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(result is None for result in results) == [False, True]
    assert Student.objects.count() == 1
    assert Student.objects.get().guardians.count() == 1
