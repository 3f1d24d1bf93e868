"""What is done for PostgreSQL's sake: each message's result is one statement prepared once
per connection (a connection pooler that loses it costs nothing but the preparation), and a
large submission leaves the planner knowing how large it is."""

import json
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
                       reason="PostgreSQL's own behaviour (CI runs these on it)"),
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


def _estimated_rows(mailing) -> int:
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (FORMAT JSON) SELECT * FROM mailing_recipient "
                       "WHERE mailing_id = %s", [mailing.pk])
        plan = cursor.fetchone()[0]
    return (json.loads(plan) if isinstance(plan, str) else plan)[0]["Plan"]["Plan Rows"]


def test_a_large_submission_tells_the_planner_how_large_it_is(sink, secretary, school,
                                                               settings):
    """Without it, the mailing page's first 50 recipients of a new 100,000-recipient mailing
    were read by sorting all of them."""
    settings.MAILING_ANALYZE_AFTER = 400
    account = make_account(sink)
    small = make_mailing(account, secretary, mode=Mailing.Mode.PER_GUARDIAN, subject="s",
                         body="b", audience={"addresses": [f"s{n}@example.org"
                                                           for n in range(399)]})
    mailing_submit(mailing=small)
    assert _estimated_rows(small) < 100  # below the threshold: left to autovacuum
    large = make_mailing(account, secretary, mode=Mailing.Mode.PER_GUARDIAN, subject="l",
                         body="b", audience={"addresses": [f"l{n}@example.org"
                                                           for n in range(600)]})
    mailing_submit(mailing=large)
    assert 500 <= _estimated_rows(large) <= 700


def test_a_vacuum_holding_the_tables_delays_a_submission_by_a_moment_only(
        sink, secretary, school, settings, caplog):
    import psycopg

    settings.MAILING_ANALYZE_AFTER = 10
    params = connection.get_connection_params()
    other = psycopg.connect(dbname=params["dbname"], user=params.get("user"),
                            host=params.get("host"), port=params.get("port"))
    try:
        # The lock VACUUM and ANALYZE take, held by another session.
        other.execute("LOCK TABLE mailing_recipient IN SHARE UPDATE EXCLUSIVE MODE")
        mailing = make_mailing(make_account(sink), secretary, mode=Mailing.Mode.PER_GUARDIAN,
                               subject="s", body="b", audience={"addresses": [
                                   f"v{n}@example.org" for n in range(20)]})
        with caplog.at_level(logging.WARNING, logger="mailing.mailings.services"):
            mailing_submit(mailing=mailing)
    finally:
        other.close()
    assert "ANALYZE after a large submission failed" in caplog.text
    mailing.refresh_from_db()
    assert mailing.status == Mailing.Status.QUEUED
    assert Recipient.objects.filter(mailing=mailing).count() == 20
