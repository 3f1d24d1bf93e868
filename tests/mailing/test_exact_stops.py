"""Stops are exact: cancel is final even for claimed messages, a retry on a cancelled mailing
sends only what was named, a message dropped after its final dot is never resent silently
(RFC 1047), and the compose page saves one draft however often it is submitted."""

import pytest

from mailing.engine import claim, release, send_account_work
from mailing.engine import claims as engine
from mailing.engine.loop import _AccountRun
from mailing.mailings.selectors import mailing_counts, mailing_status_label
from mailing.mailings.services import (
    mailing_cancel,
    mailing_pause,
    mailing_retry_failed,
    mailing_submit,
    message_resend,
)
from mailing.models import Mailing, Message, Recipient
from mailing.sending_accounts.smtp import ErrorKind, SMTPFailure
from tests.mailing.conftest import make_account, make_mailing

pytestmark = pytest.mark.django_db
S = Message.Status


def _addresses(count, prefix="p"):
    return [f"{prefix}{n}@example.org" for n in range(count)]


def _submitted(account, user, addresses, django_capture_on_commit_callbacks):
    mailing = make_mailing(account, user, mode=Mailing.Mode.PER_GUARDIAN, subject="Sortie",
                           body="Bonjour", audience={"addresses": addresses})
    with django_capture_on_commit_callbacks(execute=False):
        mailing_submit(mailing=mailing)
    return mailing


def _fates(mailing):
    return dict(Recipient.objects.filter(mailing=mailing).values_list("email", "status"))


def _copies(server):
    copies = {}
    for message in server.received:
        for address in message.rcpt_tos:
            copies[address] = copies.get(address, 0) + 1
    return copies


def test_it_cancels_the_messages_a_worker_had_claimed(sink, secretary, school,
                                                      django_capture_on_commit_callbacks):
    account = make_account(sink)
    mailing = _submitted(account, secretary, _addresses(10), django_capture_on_commit_callbacks)
    owner = engine.worker_identity()
    claimed = claim(account, owner, 4)
    assert len(claimed) == 4
    assert mailing_cancel(mailing=mailing) == 10
    # The worker goes on with its batch: nothing may start, and its release gives nothing back.
    assert engine._mark_in_flight(claimed[0].pk, owner) == 0
    release(owner)
    assert set(_fates(mailing).values()) == {S.CANCELLED}
    assert send_account_work(account.pk) is False
    assert sink.received == []
    counts = mailing_counts(mailing)
    assert counts["cancelled"] == counts["total"] == 10


def test_it_lets_the_message_in_flight_finish_when_cancelled(sink, secretary, school,
                                                             django_capture_on_commit_callbacks):
    account = make_account(sink)
    mailing = _submitted(account, secretary, _addresses(3), django_capture_on_commit_callbacks)
    owner = engine.worker_identity()
    first, *_ = claim(account, owner, 3)
    assert engine._mark_in_flight(first.pk, owner) == 1
    assert mailing_cancel(mailing=mailing) == 2  # the one in flight is already with the server
    fates = _fates(mailing)
    assert sorted(fates.values()) == [S.CANCELLED, S.CANCELLED, S.SENDING]


def test_it_keeps_a_cancelled_mailing_cancelled_when_a_person_retries_the_failed(
        smtp_server_factory, secretary, school, django_capture_on_commit_callbacks):
    server = smtp_server_factory()
    account = make_account(server)
    addresses = _addresses(5)
    mailing = _submitted(account, secretary, addresses, django_capture_on_commit_callbacks)
    owner = engine.worker_identity()
    (first,) = claim(account, owner, 1)
    engine._record_failure(first, SMTPFailure(ErrorKind.PERMANENT, "5.1.1 User unknown", 550),
                           engine._now())
    release(owner)
    assert mailing_cancel(mailing=mailing) == 4
    with django_capture_on_commit_callbacks(execute=False):
        assert mailing_retry_failed(mailing=mailing) == 1
    send_account_work(account.pk)
    assert _copies(server) == {addresses[0]: 1}
    fates = _fates(mailing)
    assert fates[addresses[0]] == S.SENT
    assert [fates[a] for a in addresses[1:]] == [S.CANCELLED] * 4
    mailing.refresh_from_db()
    assert mailing.status == Mailing.Status.CANCELLED


def test_it_resends_an_uncertain_message_of_a_cancelled_mailing_alone(
        smtp_server_factory, secretary, school, django_capture_on_commit_callbacks):
    server = smtp_server_factory(fault="accept_then_drop")
    account = make_account(server)
    addresses = _addresses(4)
    mailing = _submitted(account, secretary, addresses, django_capture_on_commit_callbacks)
    owner = engine.worker_identity()
    claimed = claim(account, owner, 1)
    run = _AccountRun(account, engine.slot_acquire(account, owner), owner, 30)
    assert run.connect(claimed)
    assert engine._mark_in_flight(claimed[0].pk, owner) == 1
    run.transmit(claimed[0], None, {})
    run.close()
    assert _fates(mailing)[addresses[0]] == S.UNCERTAIN
    mailing_cancel(mailing=mailing)
    server._fault = None
    with django_capture_on_commit_callbacks(execute=False):
        assert message_resend(message=claimed[0]) is True
    send_account_work(account.pk)
    assert _copies(server) == {addresses[0]: 2}  # once before the drop, once resent
    assert Message.objects.get(pk=claimed[0].pk).message_id == claimed[0].message_id
    fates = _fates(mailing)
    assert fates[addresses[0]] == S.SENT
    assert {fates[a] for a in addresses[1:]} == {S.CANCELLED}
    mailing.refresh_from_db()
    assert mailing.status == Mailing.Status.CANCELLED


def test_it_leaves_a_paused_mailing_paused_when_retrying_the_failed(
        sink, secretary, school, django_capture_on_commit_callbacks):
    account = make_account(sink)
    mailing = _submitted(account, secretary, _addresses(3), django_capture_on_commit_callbacks)
    owner = engine.worker_identity()
    (first,) = claim(account, owner, 1)
    engine._record_failure(first, SMTPFailure(ErrorKind.PERMANENT, "refused", 550),
                           engine._now())
    release(owner)
    mailing_pause(mailing=mailing)
    with django_capture_on_commit_callbacks(execute=False):
        mailing_retry_failed(mailing=mailing)
    assert send_account_work(account.pk) is False
    assert sink.received == []
    mailing.refresh_from_db()
    assert mailing.status == Mailing.Status.PAUSED


@pytest.mark.parametrize("fault", ["accept_then_drop", "accept_then_hang"])
def test_it_never_resends_silently_what_the_server_may_have_kept(
        smtp_server_factory, secretary, school, settings, fault,
        django_capture_on_commit_callbacks):
    settings.SMTP_TIMEOUT = 1
    server = smtp_server_factory(fault=fault)
    account = make_account(server)
    addresses = _addresses(2)
    mailing = _submitted(account, secretary, addresses, django_capture_on_commit_callbacks)
    send_account_work(account.pk)
    assert _copies(server) == {address: 1 for address in addresses}
    assert set(_fates(mailing).values()) == {S.UNCERTAIN}
    message = Message.objects.filter(mailing=mailing).first()
    assert "RFC 1047" in message.smtp_text
    assert message.next_attempt_at is None
    # Nothing is due: a later run sends nothing again.
    assert send_account_work(account.pk) is False
    assert len(server.received) == 2
    mailing.refresh_from_db()
    assert mailing.status == Mailing.Status.DONE
    assert mailing_status_label(mailing, mailing_counts(mailing)) == "Terminé — 2 à vérifier"


def test_it_retries_a_message_lost_before_its_final_dot(
        smtp_server_factory, secretary, school, django_capture_on_commit_callbacks):
    server = smtp_server_factory(chaos={"mail": 1.0})
    account = make_account(server)
    mailing = _submitted(account, secretary, _addresses(1), django_capture_on_commit_callbacks)
    send_account_work(account.pk)
    assert server.received == []
    assert set(_fates(mailing).values()) == {S.DEFERRED}
    message = Message.objects.get(mailing=mailing)
    assert message.next_attempt_at is not None


def test_it_saves_one_draft_when_the_compose_page_is_sent_twice(secretary_client, secretary,
                                                                smtp_server_factory, school):
    account = make_account(smtp_server_factory())
    account.users.add(secretary)
    page = secretary_client.get("/emails/new/")
    token = page.context["form"].initial["compose_token"]
    data = {"account": account.pk, "mode": "bcc", "subject": "Sortie",
            "body_html": "<p>Bonjour</p>",
            "addresses": "a@example.org", "compose_token": token}
    first = secretary_client.post("/emails/new/", data)
    second = secretary_client.post("/emails/new/", data)
    assert Mailing.objects.filter(created_by=secretary).count() == 1
    assert first["Location"] == second["Location"]
    # Another compose page is another draft.
    data["compose_token"] = secretary_client.get("/emails/new/").context["form"].initial[
        "compose_token"]
    secretary_client.post("/emails/new/", data)
    assert Mailing.objects.filter(created_by=secretary).count() == 2


@pytest.mark.django_db(transaction=True)
def test_it_tells_the_sender_when_the_queue_service_is_down(secretary_client, secretary,
                                                            smtp_server_factory, school,
                                                            monkeypatch):
    from eduka.celery import app
    from tests.workers import _reset_connections

    account = make_account(smtp_server_factory())
    account.users.add(secretary)
    mailing = make_mailing(account, secretary, mode=Mailing.Mode.BCC, subject="Sortie",
                           body="Bonjour", audience={"addresses": ["a@example.org"]})
    saved = app.conf.broker_url
    down = "redis://127.0.0.1:9/0"  # nothing listens there: refused at once
    monkeypatch.setenv("CELERY_BROKER_URL", down)  # Celery reads it before its settings
    app.conf.broker_url = down
    _reset_connections()
    try:
        response = secretary_client.post(f"/emails/{mailing.pk}/send/", follow=True)
    finally:
        monkeypatch.undo()
        app.conf.broker_url = saved
        _reset_connections()
    page = response.content.decode()
    assert "partira de lui-même dès que le service sera rétabli" in page
    assert "L'envoi est en cours" not in page
    assert Message.objects.filter(mailing=mailing, status=S.QUEUED).count() == 1


def test_a_worker_back_from_a_long_silence_judges_nobody_dead_at_once(
        sink, secretary, school, settings, django_capture_on_commit_callbacks):
    from datetime import timedelta

    from mailing.engine import heartbeat
    from mailing.models import WorkerProcess

    account = make_account(sink)
    _submitted(account, secretary, _addresses(3), django_capture_on_commit_callbacks)
    owner = "other-host:123:abcd/run1"
    claim(account, owner, 3)
    WorkerProcess.objects.create(key="other-host:123:abcd",
                                 beat_at=engine._now() - timedelta(seconds=60))
    heartbeat._last_beat = 0.0  # this process has not beaten for a long time either
    heartbeat.beat_and_reap()
    assert Message.objects.filter(lease_owner=owner, status=S.SENDING).count() == 3
    heartbeat.beat_and_reap()  # a beat later, the other is still silent: it is dead
    assert not Message.objects.filter(lease_owner=owner).exists()
    assert Message.objects.filter(status=S.QUEUED).count() == 3
    assert not WorkerProcess.objects.filter(key="other-host:123:abcd").exists()


def test_a_mailing_resumed_with_nothing_left_to_send_is_done(
        sink, secretary, school, django_capture_on_commit_callbacks):
    from mailing.mailings.services import mailing_resume

    account = make_account(sink)
    mailing = _submitted(account, secretary, _addresses(2), django_capture_on_commit_callbacks)
    owner = engine.worker_identity()
    claimed = claim(account, owner, 2)
    for message in claimed:  # both with the server when the pause comes
        assert engine._mark_in_flight(message.pk, owner) == 1
    mailing_pause(mailing=mailing)
    for message in claimed:
        engine._record_failure(message, SMTPFailure(ErrorKind.PERMANENT, "refused", 550),
                               engine._now())
    mailing.refresh_from_db()
    assert mailing.status == Mailing.Status.PAUSED
    with django_capture_on_commit_callbacks(execute=False):
        mailing_resume(mailing=mailing)
    mailing.refresh_from_db()
    assert mailing.status == Mailing.Status.DONE
