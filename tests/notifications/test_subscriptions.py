"""Subscriptions to data changes: detected in one place, alerted after commit, one digest per
operation, only for objects in scope and visible to the subscriber, one-click unsubscribe."""

import pytest
from django.db import transaction
from django.test import Client
from django.urls import reverse

from accounts.models import Profile
from mailing.models import Mailing
from notifications import alerts
from notifications.changes import current_author
from notifications.models import Change, Event, Subscription
from school.models import Student
from tests.factories import make_class, make_guardian, make_student, make_user

pytestmark = pytest.mark.django_db


def _alerts_to(user):
    return list(Mailing.objects.filter(is_automated=True, recipients__email=user.email)
                .order_by("pk"))


def _subscribe(user, event=Event.STUDENT_CLASS_CHANGED, **fields):
    return Subscription.objects.create(user=user, event=event, **fields)


@pytest.fixture
def principal(db):
    return make_user(Profile.DIRECTION, email="principal@example.org", first_name="Paule")


def test_a_class_change_alerts_the_subscriber(principal, secretary_client, secretary):
    cm1, cm2 = make_class("CM1 A", level="CM1"), make_class("CM2 B", level="CM2")
    student = make_student(cm1, first_name="Léa", last_name="Dubois")
    subscription = _subscribe(principal)
    response = secretary_client.post(reverse("school:class_move_students", args=[cm1.pk]),
                                     {"students": [student.pk], "target": cm2.pk})
    assert response.status_code == 302
    assert alerts.dispatch_changes() == 1

    [mailing] = _alerts_to(principal)
    assert mailing.subject.endswith("changement pour Léa Dubois (classe)")
    body = mailing.body_text
    assert "avant : CM1 A" in body and "après : CM2 B" in body
    assert f"par {secretary.get_full_name()}" in body
    assert f"/school/students/{student.pk}/" in body
    unsubscribe = alerts.unsubscribe_url(subscription)
    assert unsubscribe in body
    assert mailing.headers == {"List-Unsubscribe": f"<{unsubscribe}>",
                               "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}
    assert alerts.dispatch_changes() == 0  # nothing is sent twice


def test_a_rolled_back_change_sends_nothing(principal):
    cm1, cm2 = make_class(), make_class()
    student = make_student(cm1)
    _subscribe(principal)
    with pytest.raises(RuntimeError), transaction.atomic():
        student.school_class = cm2
        student.save()
        assert Change.objects.filter(event=Event.STUDENT_CLASS_CHANGED).exists()
        raise RuntimeError("the rest of the operation failed")
    assert not Change.objects.filter(event=Event.STUDENT_CLASS_CHANGED).exists()
    assert alerts.dispatch_changes() == 0
    assert _alerts_to(principal) == []


def test_a_bulk_move_gives_one_digest(principal, secretary_client):
    cm1, cm2 = make_class("CM1 A"), make_class("CM2 B")
    students = [make_student(cm1) for _ in range(30)]
    _subscribe(principal)
    secretary_client.post(reverse("school:class_move_students", args=[cm1.pk]),
                          {"students": [s.pk for s in students], "target": cm2.pk})
    assert Student.objects.filter(school_class=cm2).count() == 30
    alerts.dispatch_changes()
    [digest] = _alerts_to(principal)
    assert "30 changements" in digest.subject
    assert digest.body_text.count("après : CM2 B") == 30


def test_dispatch_queries_do_not_grow_with_the_changes(principal, secretary,
                                                       django_assert_max_num_queries):
    cm1, cm2 = make_class(), make_class()
    students = [make_student(cm1) for _ in range(40)]
    _subscribe(principal)
    _subscribe(secretary)
    for student in students:
        student.school_class = cm2
        student.save()
    with django_assert_max_num_queries(40):
        assert alerts.dispatch_changes() == 2


@pytest.mark.parametrize("scope, alerted", [
    ({}, True),
    ({"level": "CM2"}, True),       # the new class's level
    ({"level": "CM1"}, True),       # the old class's level
    ({"level": "6e"}, False),
    ("old", True), ("new", True), ("other", False),
])
def test_scope_by_class_or_level(principal, scope, alerted):
    cm1, cm2 = make_class("CM1 A", level="CM1"), make_class("CM2 B", level="CM2")
    other = make_class("6e A", level="6e")
    if isinstance(scope, str):
        scope = {"school_class": {"old": cm1, "new": cm2, "other": other}[scope]}
    _subscribe(principal, **scope)
    student = make_student(cm1)
    student.school_class = cm2
    student.save()
    alerts.dispatch_changes()
    assert bool(_alerts_to(principal)) is alerted


def test_the_author_is_not_alerted_unless_they_asked(principal, secretary):
    cm1, cm2 = make_class(), make_class()
    student = make_student(cm1)
    _subscribe(principal)
    own = _subscribe(secretary)
    token = current_author.set(secretary)
    try:
        student.school_class = cm2
        student.save()
    finally:
        current_author.reset(token)
    alerts.dispatch_changes()
    assert len(_alerts_to(principal)) == 1
    assert _alerts_to(secretary) == []

    own.include_own_changes = True
    own.save()
    token = current_author.set(secretary)
    try:
        student.school_class = cm1
        student.save()
    finally:
        current_author.reset(token)
    alerts.dispatch_changes()
    assert len(_alerts_to(secretary)) == 1


def test_subscribers_only_hear_of_what_their_profile_may_see(db):
    limited = Profile.objects.create(code="students-only", name="Vie scolaire")
    from django.contrib.auth.models import Permission

    limited.permissions.set(Permission.objects.filter(
        codename__in=["view_student", "subscribe_to_changes"]))
    watcher = make_user("students-only", email="watcher@example.org")
    _subscribe(watcher, event=Event.GUARDIAN_CONTACT_CHANGED)
    guardian = make_guardian(phone="01 00 00 00 00")
    guardian.phone = "06 11 22 33 44"
    guardian.save()
    alerts.dispatch_changes()
    assert Change.objects.filter(event=Event.GUARDIAN_CONTACT_CHANGED).count() == 1
    assert _alerts_to(watcher) == []


def test_a_guardian_phone_change_on_the_staff_screen_alerts_admissions(secretary_client):
    admissions = make_user(Profile.ADMISSIONS, email="admissions@example.org")
    _subscribe(admissions, event=Event.GUARDIAN_CONTACT_CHANGED)
    cm1 = make_class()
    guardian = make_guardian(first_name="Nadia", last_name="Haddad", phone="01 02 03 04 05",
                             email="nadia@example.org")
    make_student(cm1, guardians=[guardian])
    response = secretary_client.get(reverse("school:guardian_edit", args=[guardian.pk]))
    form = response.context["form"]
    data = {name: form[name].value() or "" for name in form.fields}
    data["phone"] = "06 99 88 77 66"
    assert secretary_client.post(reverse("school:guardian_edit", args=[guardian.pk]),
                                 data).status_code == 302
    alerts.dispatch_changes()
    [mailing] = _alerts_to(admissions)
    assert "Nadia Haddad" in mailing.subject
    assert "avant : 01 02 03 04 05" in mailing.body_text
    assert "après : 06 99 88 77 66" in mailing.body_text


def test_parent_registration_and_new_student_are_watched(principal):
    from accounts.signup import parent_activate, parent_register

    _subscribe(principal, event=Event.PARENT_REGISTERED)
    _subscribe(principal, event=Event.STUDENT_CREATED)
    user = parent_register(first_name="Jeanne", last_name="Roux", email="jeanne@example.org",
                           phone="0600000000", password="a long pass phrase")
    alerts.dispatch_changes()
    assert _alerts_to(principal) == []  # not registered until the link is confirmed
    parent_activate(user=user)
    parent_activate(user=user)  # twice: one registration
    make_student(make_class("CP A"), first_name="Tom", last_name="Roux")
    alerts.dispatch_changes()
    subjects = sorted(m.subject for m in _alerts_to(principal))
    assert len(subjects) == 2
    assert any("Jeanne Roux (compte parent activé)" in s for s in subjects)
    assert any("Tom Roux (nouvel élève, en classe)" in s for s in subjects)


# --- Screens ------------------------------------------------------------------------------

def test_staff_subscribe_and_end_their_own_subscriptions(secretary_client, secretary):
    cm1 = make_class("CM1 A")
    url = reverse("notifications:subscription_list")
    response = secretary_client.post(url, {"event": Event.STUDENT_CLASS_CHANGED,
                                           "school_class": cm1.pk, "level": ""})
    assert response.status_code == 302
    subscription = Subscription.objects.get()
    assert (subscription.user, subscription.school_class) == (secretary, cm1)
    again = secretary_client.post(url, {"event": Event.STUDENT_CLASS_CHANGED,
                                        "school_class": cm1.pk, "level": ""})
    assert again.status_code == 200 and Subscription.objects.count() == 1
    secretary_client.post(reverse("notifications:subscription_delete",
                                  args=[subscription.pk]))
    assert not Subscription.objects.exists()


def test_others_subscriptions_are_out_of_reach_except_for_administrators(
        secretary_client, principal, admin_user):
    theirs = _subscribe(principal)
    page = secretary_client.get(reverse("notifications:subscription_list"))
    assert theirs not in page.context["page"].object_list
    assert secretary_client.post(reverse("notifications:subscription_delete",
                                         args=[theirs.pk])).status_code == 404
    assert Subscription.objects.filter(pk=theirs.pk).exists()

    admin = Client()
    admin.force_login(admin_user)
    page = admin.get(reverse("notifications:subscription_list"))
    assert theirs in page.context["page"].object_list
    response = admin.post(reverse("notifications:subscription_list"), {
        "user": principal.pk, "event": Event.PARENT_REGISTERED, "level": ""})
    assert response.status_code == 302
    assert Subscription.objects.filter(user=principal, event=Event.PARENT_REGISTERED,
                                       created_by=admin_user).exists()
    admin.post(reverse("notifications:subscription_delete", args=[theirs.pk]))
    assert not Subscription.objects.filter(pk=theirs.pk).exists()


def test_teachers_and_parents_cannot_subscribe(teacher_client):
    assert teacher_client.get(reverse("notifications:subscription_list")).status_code == 403


def test_one_click_unsubscribe_needs_a_post_and_the_token(principal):
    subscription = _subscribe(principal)
    other = _subscribe(principal, event=Event.PARENT_REGISTERED)
    url = reverse("notifications:unsubscribe", args=[subscription.token])
    browser = Client(enforce_csrf_checks=True)
    assert browser.get(url).status_code == 200
    assert Subscription.objects.filter(pk=subscription.pk).exists()  # a GET never ends it
    # What a mail client does (RFC 8058): no session, no CSRF token.
    response = browser.post(url, {"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    assert not Subscription.objects.filter(pk=subscription.pk).exists()
    assert Subscription.objects.filter(pk=other.pk).exists()
    assert browser.post(url).status_code == 200  # again: same answer
    forged = reverse("notifications:unsubscribe", args=["x" * 32])
    assert browser.post(forged).status_code == 200
    assert Subscription.objects.filter(pk=other.pk).exists()


def test_the_sweep_only_takes_changes_the_after_commit_dispatch_missed(principal):
    from datetime import timedelta

    from django.utils import timezone

    from notifications.tasks import sweep_changes

    cm1, cm2 = make_class(), make_class()
    student = make_student(cm1)
    _subscribe(principal)
    student.school_class = cm2
    student.save()
    assert sweep_changes() == 0  # fresh: the after-commit dispatch will take it
    Change.objects.update(created_at=timezone.now() - timedelta(minutes=5))
    assert sweep_changes() == 1  # the broker was down: the sweep does it
    assert len(_alerts_to(principal)) == 1


def test_a_change_in_the_django_admin_is_detected_with_its_author(principal, client):
    from accounts.models import User

    operator = User.objects.create_superuser("ops@example.org", "ops-password-long",
                                             first_name="Op", last_name="Érateur")
    client.force_login(operator)
    cm1, cm2 = make_class("CM1 A"), make_class("CM2 B")
    student = make_student(cm1, first_name="Léa", last_name="Dubois")
    _subscribe(principal)
    response = client.post(reverse("admin:school_student_change", args=[student.pk]), {
        "first_name": "Léa", "last_name": "Dubois", "birth_date": "", "school_class": cm2.pk,
        "guardians": []})
    assert response.status_code == 302, response.content
    change = Change.objects.get(event=Event.STUDENT_CLASS_CHANGED)
    assert (change.author, change.old_value, change.new_value) == (operator, "CM1 A", "CM2 B")
    alerts.dispatch_changes()
    [mailing] = _alerts_to(principal)
    assert "par Op Érateur" in mailing.body_text


def test_a_change_outside_any_request_has_no_author(principal):
    cm1, cm2 = make_class(), make_class()
    student = make_student(cm1)
    _subscribe(principal)
    student.school_class = cm2
    student.save()  # as a management command or the shell would
    alerts.dispatch_changes()
    [mailing] = _alerts_to(principal)
    assert "par un traitement automatique" in mailing.body_text


def test_the_parent_portal_alerts_admissions_of_a_phone_change_and_an_enrolment_request(
        client, parent_user):
    """The product page's example: admissions told when a parent updates a phone number."""
    from datetime import date

    admissions = make_user(Profile.ADMISSIONS, email="admissions@example.org")
    _subscribe(admissions, event=Event.GUARDIAN_CONTACT_CHANGED)
    cm2, other = make_class("CM2 B", level="CM2"), make_class("6e A", level="6e")
    _subscribe(admissions, event=Event.ENROLMENT_REQUESTED, level="CM2")
    guardian = make_guardian(user=parent_user, first_name="Nadia", last_name="Haddad",
                             phone="01 02 03 04 05")
    make_student(other, guardians=[guardian])
    client.force_login(parent_user)
    client.post(reverse("portal:details"), {"civility": "mme", "phone": "06 99 88 77 66",
                                            "address": ""})
    born = date(date.today().year - 10, 3, 1).isoformat()
    client.post(reverse("portal:enrolment_create"), {
        "first_name": "Sami", "last_name": "Haddad", "birth_date": born,
        "requested_class": cm2.pk, "note": ""})
    client.post(reverse("portal:enrolment_create"), {  # out of the subscription's level
        "first_name": "Lina", "last_name": "Haddad", "birth_date": born,
        "requested_class": other.pk, "note": ""})
    alerts.dispatch_changes()
    mailings = _alerts_to(admissions)
    assert len(mailings) == 2
    phone, enrolment = sorted(mailings, key=lambda m: "Sami" in m.subject)
    assert "Nadia Haddad (téléphone)" in phone.subject
    assert "après : 06 99 88 77 66" in phone.body_text
    assert f"par {parent_user.get_full_name()}" in phone.body_text
    assert "Sami Haddad" in enrolment.subject and "Lina" not in enrolment.body_text
    assert "/school/enrolments/" in enrolment.body_text


def test_a_bulk_move_schedules_one_dispatch(secretary_client,
                                            django_capture_on_commit_callbacks):
    from notifications.changes import muted

    with muted():
        cm1, cm2 = make_class(), make_class()
        students = [make_student(cm1) for _ in range(30)]
    with django_capture_on_commit_callbacks() as callbacks:
        secretary_client.post(reverse("school:class_move_students", args=[cm1.pk]),
                              {"students": [s.pk for s in students], "target": cm2.pk})
    assert [c for c in callbacks if c is alerts._dispatch_later] == [alerts._dispatch_later]


def test_a_rolled_back_change_schedules_nothing(django_capture_on_commit_callbacks):
    from notifications.changes import muted

    with muted():
        cm1, cm2 = make_class(), make_class()
        student = make_student(cm1)
    with (django_capture_on_commit_callbacks() as callbacks, pytest.raises(RuntimeError),
          transaction.atomic()):
        student.school_class = cm2
        student.save()
        raise RuntimeError
    assert callbacks == []


def test_a_subscriber_whose_profile_no_longer_allows_alerts_gets_none(principal):
    principal.profile = Profile.objects.get(code=Profile.TEACHER)  # still sees students
    principal.save()
    _subscribe(principal)
    cm1, cm2 = make_class(), make_class()
    student = make_student(cm1)
    student.school_class = cm2
    student.save()
    alerts.dispatch_changes()
    assert _alerts_to(principal) == []


def test_reactivating_a_parent_is_not_a_registration(principal):
    from django.utils import timezone

    _subscribe(principal, event=Event.PARENT_REGISTERED)
    parent = make_user(Profile.PARENT, email="p@example.org", last_login=timezone.now())
    make_guardian(user=parent)
    parent.is_active = False
    parent.save()
    parent.is_active = True
    parent.save()
    assert not Change.objects.filter(event=Event.PARENT_REGISTERED).exists()


def test_the_subscription_list_costs_the_same_for_3_or_30_subscriptions(
        admin_client, django_assert_max_num_queries):
    classes = [make_class() for _ in range(3)]
    for index in range(30):
        _subscribe(make_user(Profile.SECRETARIAT), school_class=classes[index % 3])
    with django_assert_max_num_queries(14):
        page = admin_client.get(reverse("notifications:subscription_list"))
    assert len(page.context["page"].object_list) == 30
