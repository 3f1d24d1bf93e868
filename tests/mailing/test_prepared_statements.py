"""PostgreSQL: each message's result is one statement prepared once per connection, and a
connection pooler that loses prepared statements costs nothing but the preparation."""

import logging

import pytest
from django.db import connection

from mailing.engine import send_account_work, statements
from mailing.mailings.selectors import mailing_counts_mismatches
from mailing.mailings.services import mailing_submit
from mailing.models import Mailing, Recipient
from tests.mailing.conftest import make_account, make_mailing

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql",
                       reason="prepared statements are PostgreSQL's (CI runs this on it)"),
]


@pytest.fixture(autouse=True)
def fresh_process(monkeypatch):
    monkeypatch.setattr(statements, "_pooler_drops_prepared", False)


def _send(account, user, label: str, count: int = 3) -> Mailing:
    mailing = make_mailing(account, user, mode=Mailing.Mode.PER_GUARDIAN, subject=label,
                           body="b", audience={"addresses": [f"{label}{n}@example.org"
                                                             for n in range(count)]})
    mailing_submit(mailing=mailing)
    send_account_work(account.pk)
    assert set(Recipient.objects.filter(mailing=mailing).values_list("status", flat=True)) \
        == {"sent"}
    assert mailing_counts_mismatches(mailing) == {}
    return mailing


def _prepared() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        return [statement for (statement,) in cursor.fetchall()]


def test_each_result_is_one_prepared_statement(sink, secretary, school):
    _send(make_account(sink), secretary, "first")
    assert [s for s in _prepared() if s.startswith("WITH sent AS")], _prepared()
    # Only that one: Django's own statements stay unprepared, as a pooler needs.
    assert len(_prepared()) == 1


def test_the_setting_sends_it_as_text(sink, secretary, school, settings):
    settings.MAILING_PREPARED_STATEMENTS = False
    _send(make_account(sink), secretary, "text")
    assert _prepared() == []


def test_a_pooler_that_loses_it_costs_nothing_but_the_preparation(
        sink, secretary, school, caplog):
    account = make_account(sink)
    _send(account, secretary, "before")
    # What PgBouncer in transaction mode amounts to: the next transaction may run on a server
    # connection that never saw the statement.
    with connection.cursor() as cursor:
        cursor.execute("DEALLOCATE ALL")
    with caplog.at_level(logging.WARNING, logger="mailing.engine.statements"):
        _send(account, secretary, "after")
    assert "lost a prepared statement" in caplog.text
    assert sorted(address for m in sink.received for address in m.rcpt_tos) == sorted(
        [f"before{n}@example.org" for n in range(3)] + [f"after{n}@example.org"
                                                         for n in range(3)])
    _send(account, secretary, "later")  # as text from now on
    assert _prepared() == []
