import io
import json

import pytest
from django.core.management import call_command

from eduka.celery import app
from mailing.engine import recover_expired, send_account_work
from mailing.mailings.services import mailing_submit
from mailing.models import Mailing, Message
from tests.mailing.conftest import make_account, make_mailing
from tests.workers import _reset_connections

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_mailing_is_accepted_when_the_broker_is_down_and_leaves_later(sink, secretary, school):
    account = make_account(sink)
    mailing = make_mailing(account, secretary, mode=Mailing.Mode.PER_GUARDIAN, subject="x",
                           body="y", audience={"addresses": ["a@example.org"]})
    saved = {key: app.conf.get(key) for key in ("broker_url", "broker_transport_options",
                                                "broker_connection_max_retries",
                                                "task_publish_retry")}
    app.conf.update(broker_url="redis://127.0.0.1:1/0", broker_transport_options={},
                    broker_connection_max_retries=0, task_publish_retry=False)
    _reset_connections()
    try:
        mailing_submit(mailing=mailing)  # on commit: the enqueue fails, the request does not
    finally:
        app.conf.update(saved)
        _reset_connections()
    mailing.refresh_from_db()
    assert mailing.status == Mailing.Status.QUEUED
    assert Message.objects.get(mailing=mailing).status == Message.Status.QUEUED
    # Once the broker is back, beat's sweep finds the work in the database.
    assert recover_expired() == [account.pk]
    send_account_work(account.pk)
    assert [m.rcpt_tos for m in sink.received] == [["a@example.org"]]


def test_mailing_status_prints_every_recipients_fate(sink, secretary, school):
    account = make_account(sink)
    mailing = make_mailing(account, secretary, mode=Mailing.Mode.PER_GUARDIAN, subject="x",
                           body="y", audience={"addresses": ["a@example.org", "b@example.org"]})
    mailing_submit(mailing=mailing)
    send_account_work(account.pk)
    out = io.StringIO()
    call_command("mailing_status", str(mailing.pk), "--json", stdout=out)
    data = json.loads(out.getvalue())
    assert data["counts"]["sent"] == 2
    assert {r["email"]: r["status"] for r in data["recipients"]} == {
        "a@example.org": "sent", "b@example.org": "sent"}
    assert all(r["message_id"].endswith("@college.example.org>") and r["attempts"] == 1
               and r["smtp_code"] == 250 for r in data["recipients"])
