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
