import pytest
from django.core.management import call_command

from notifications.models import Change, Subscription
from school.models import Student

pytestmark = pytest.mark.django_db


def test_seed_demo_is_idempotent_and_is_not_news_for_subscribers():
    call_command("seed_demo", verbosity=0)
    students, subscriptions = Student.objects.count(), Subscription.objects.count()
    call_command("seed_demo", verbosity=0)
    assert students > 0 and Student.objects.count() == students
    assert subscriptions == 4 and Subscription.objects.count() == 4
    assert not Change.objects.exists()  # loading demo data alerts nobody


def test_the_demo_families_have_numbers_sms_can_reach_and_a_few_it_cannot():
    from school.models import Guardian

    call_command("seed_demo", verbosity=0)
    statuses = [g.phone_status() for g in Guardian.objects.all()]
    assert sum(s.is_mobile for s in statuses) > len(statuses) // 2
    assert any(s.e164 and not s.is_mobile for s in statuses)  # landlines
    assert all(s.e164 for s in statuses)  # stored in E.164
    assert Guardian.objects.filter(sms_opt_out=True).count() == 1
