"""Phone numbers read in the school's country, stored in E.164, mobiles told from the rest."""

import pytest

from school import phones


@pytest.mark.parametrize("typed,region,e164,mobile", [
    ("06 12 34 56 78", "FR", "+33612345678", True),
    ("06.12.34.56.78", "FR", "+33612345678", True),
    ("+33 6 12 34 56 78", "BE", "+33612345678", True),
    ("0690 12 34 56", "GP", "+590690123456", True),  # a Guadeloupe mobile
    ("+32 470 12 34 56", "FR", "+32470123456", True),
    ("01 45 67 89 10", "FR", "+33145678910", False),  # a landline: valid, not for SMS
    ("0690 12 34 56", "FR", "", False),  # in mainland France, no such number
    ("06 12", "FR", "", False),
    ("call me", "FR", "", False),
    ("", "FR", "", False),
])
def test_numbers_are_read_in_the_schools_country(typed, region, e164, mobile):
    phone = phones.parse(typed, region)
    assert (phone.e164, phone.is_mobile) == (e164, mobile)
    assert bool(phone.reason) is not mobile


def test_what_is_stored_and_shown():
    assert phones.normalized("06 12 34 56 78") == "+33612345678"
    assert phones.normalized(" 06 12 ") == "06 12"  # kept as typed, and flagged
    assert phones.display("+33612345678", "FR") == "06 12 34 56 78"
    assert phones.display("+32470123456", "FR") == "+32 470 12 34 56"
    assert phones.display("06 12", "FR") == "06 12"


def test_existing_numbers_are_stored_in_e164_by_the_migration(django_db_blocker):
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    with django_db_blocker.unblock():
        executor = MigrationExecutor(connection)
        before = [("school", "0002_enrolment_request")]
        executor.migrate(before)
        old_apps = executor.loader.project_state(before).apps
        Guardian = old_apps.get_model("school", "Guardian")
        mobile = Guardian.objects.create(first_name="A", last_name="B", phone="06 12 34 56 78")
        odd = Guardian.objects.create(first_name="C", last_name="D", phone="06 12")
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate(executor.loader.graph.leaf_nodes())
        from school.models import Guardian as Current

        assert Current.objects.get(pk=mobile.pk).phone == "+33612345678"
        assert Current.objects.get(pk=odd.pk).phone == "06 12"
        Current.objects.filter(pk__in=[mobile.pk, odd.pk]).delete()
