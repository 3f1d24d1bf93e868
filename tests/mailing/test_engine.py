"""The sending engine, in-process, against real SMTP servers."""

from datetime import timedelta

import pytest
from django.utils import timezone

from mailing.engine import claim, recover_expired, send_account_work
from mailing.engine.loop import _preparer
from mailing.mailings.audience import Audience, resolve
from mailing.mailings.services import (
    account_resume,
    mailing_cancel,
    mailing_pause,
    mailing_retry_failed,
    mailing_submit,
    message_resend,
)
from mailing.models import Mailing, Message, Recipient, SendingAccount, SuppressedAddress
from tests.mailing.conftest import make_account, make_mailing

pytestmark = pytest.mark.django_db
S = Message.Status


def _submit(mailing, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        return mailing_submit(mailing=mailing)


def _statuses(mailing):
    return sorted(Recipient.objects.filter(mailing=mailing).values_list("status", flat=True))


def test_it_sends_a_per_student_mail_merge(sink, secretary, school, class_with_families,
                                           django_capture_on_commit_callbacks):
    school_class, students = class_with_families
    account = make_account(sink)
    mailing = make_mailing(account, secretary, audience={"class_ids": [school_class.pk]})
    plan = resolve(Audience.from_json(mailing.audience), mailing.mode)
    assert plan.recipient_count == 5  # Léa and Yanis share Nadia: one message per child each
    assert any("no e-mail" in why or "adresse" in why for _, why in plan.excluded)
    _submit(mailing, django_capture_on_commit_callbacks)
    assert send_account_work(account.pk) is False
    assert len(sink.received) == 5
    bodies = sorted(m.message().get_body(("plain",)).get_content() for m in sink.received)
    assert any("Léa (6e A) — Collège Jean Moulin" in body for body in bodies)
    assert any("Yanis (6e A)" in body and "Mme Haddad" in body for body in bodies)
    mailing.refresh_from_db()
    assert mailing.status == Mailing.Status.DONE
    assert set(_statuses(mailing)) == {S.SENT}
    for message in Message.objects.filter(mailing=mailing):
        assert message.message_id.endswith("@college.example.org>")


def test_it_cuts_bcc_into_chunks_of_the_accounts_maximum(sink, secretary, school,
                                                         django_capture_on_commit_callbacks):
    account = make_account(sink, max_bcc_recipients=100)
    addresses = [f"parent{n}@example.org" for n in range(400)]
    mailing = make_mailing(account, secretary, mode=Mailing.Mode.BCC,
                           audience={"addresses": addresses}, subject="Info",
                           body="Réunion jeudi.")
    _submit(mailing, django_capture_on_commit_callbacks)
    send_account_work(account.pk)
    assert [len(m.rcpt_tos) for m in sink.received] == [100, 100, 100, 100]
    for received in sink.received:
        headers = received.content.split(b"\r\n\r\n", 1)[0].decode()
        assert "parent" not in headers
        assert received.message()["To"] == "Secrétariat <secretariat@college.example.org>"
    assert _statuses(mailing) == [S.SENT] * 400


def test_it_records_a_refused_bcc_recipient_and_sends_the_rest(
        smtp_server_factory, secretary, school, django_capture_on_commit_callbacks):
    server = smtp_server_factory(refuse_recipients={"gone@example.org": "550 5.1.1 User unknown",
                                                    "full@example.org": "452 4.2.2 Mailbox full"})
    account = make_account(server)
    mailing = make_mailing(account, secretary, mode=Mailing.Mode.BCC, subject="x", body="y",
                           audience={"addresses": ["a@example.org", "gone@example.org",
                                                   "full@example.org"]})
    _submit(mailing, django_capture_on_commit_callbacks)
    send_account_work(account.pk)
    assert server.received[0].rcpt_tos == ["a@example.org"]
    gone = Recipient.objects.get(email="gone@example.org")
    assert (gone.status, gone.smtp_code, gone.smtp_text) == (S.FAILED, 550, "5.1.1 User unknown")
    full = Recipient.objects.get(email="full@example.org")
    assert full.status == S.DEFERRED
    assert full.message.recipients.count() == 1  # retried alone
    assert Recipient.objects.get(email="a@example.org").status == S.SENT


def test_it_defers_temporary_failures_then_sends_with_the_same_message_id(
        smtp_server_factory, secretary, school, django_capture_on_commit_callbacks):
    server = smtp_server_factory(fault="data_451", fault_count=1)
    account = make_account(server)
    mailing = make_mailing(account, secretary, mode=Mailing.Mode.BCC, subject="x", body="y",
                           audience={"addresses": ["a@example.org"]})
    _submit(mailing, django_capture_on_commit_callbacks)
    send_account_work(account.pk)
    message = Message.objects.get(mailing=mailing)
    assert (message.status, message.smtp_code, message.attempts) == (S.DEFERRED, 451, 1)
    assert message.next_attempt_at > timezone.now()
    assert send_account_work(account.pk) is False  # not due yet: nothing sent
    assert server.received == []
    Message.objects.filter(pk=message.pk).update(next_attempt_at=timezone.now())
    send_account_work(account.pk)
    message.refresh_from_db()
    assert message.status == S.SENT
    assert server.received[0].message()["Message-ID"] == message.message_id


def test_it_fails_permanent_errors_with_the_servers_text(smtp_server_factory, secretary, school,
                                                         django_capture_on_commit_callbacks):
    server = smtp_server_factory(fault="data_554")
    account = make_account(server)
    mailing = make_mailing(account, secretary, mode=Mailing.Mode.BCC, subject="x", body="y",
                           audience={"addresses": ["a@example.org"]})
    _submit(mailing, django_capture_on_commit_callbacks)
    send_account_work(account.pk)
    recipient = Recipient.objects.get(mailing=mailing)
    assert (recipient.status, recipient.smtp_code) == (S.FAILED, 554)
    assert recipient.smtp_text == "5.7.1 Message rejected"


def test_it_pauses_the_account_on_535_and_resumes_without_resending(
        smtp_server_factory, secretary, school, django_capture_on_commit_callbacks):
    server = smtp_server_factory(mode="plain", users={"u@example.org": "right"})
    account = make_account(server, username="u@example.org", password="wrong",
                           allow_plain_auth=True)
    mailing = make_mailing(account, secretary, mode=Mailing.Mode.PER_GUARDIAN, subject="x",
                           body="y", audience={"addresses": [f"p{n}@example.org"
                                                             for n in range(5)]})
    _submit(mailing, django_capture_on_commit_callbacks)
    send_account_work(account.pk)
    account.refresh_from_db()
    assert account.paused_reason == "535 5.7.3 Authentication unsuccessful"
    assert server.auth_attempts == 1
    assert set(_statuses(mailing)) == {S.QUEUED}
    send_account_work(account.pk)  # paused: does not knock again
    assert server.auth_attempts == 1
    account.password = "right"
    account.save()
    with django_capture_on_commit_callbacks(execute=False):
        account_resume(account=account)
    send_account_work(account.pk)
    assert sorted(r for m in server.received for r in m.rcpt_tos) == [
        f"p{n}@example.org" for n in range(5)]
    assert set(_statuses(mailing)) == {S.SENT}


def test_it_defers_the_batch_once_when_the_server_is_down(smtp_server_factory, secretary, school,
                                                          django_capture_on_commit_callbacks):
    server = smtp_server_factory(fault="greet_421")
    account = make_account(server)
    mailing = make_mailing(account, secretary, mode=Mailing.Mode.PER_GUARDIAN, subject="x",
                           body="y", audience={"addresses": [f"p{n}@example.org"
                                                             for n in range(10)]})
    _submit(mailing, django_capture_on_commit_callbacks)
    send_account_work(account.pk)
    assert server.connections == 1
    assert set(_statuses(mailing)) == {S.DEFERRED}


def test_it_skips_suppressed_addresses_with_the_reason(sink, secretary, school,
                                                       django_capture_on_commit_callbacks):
    SuppressedAddress.objects.create(email="Bounced@example.org", reason="550 hard bounce")
    account = make_account(sink)
    mailing = make_mailing(account, secretary, mode=Mailing.Mode.PER_GUARDIAN, subject="x",
                           body="y", audience={"addresses": ["bounced@example.org",
                                                             "ok@example.org"]})
    _submit(mailing, django_capture_on_commit_callbacks)
    send_account_work(account.pk)
    skipped = Recipient.objects.get(email="bounced@example.org")
    assert (skipped.status, skipped.smtp_text) == (S.SKIPPED, "550 hard bounce")
    assert [m.rcpt_tos for m in sink.received] == [["ok@example.org"]]


def test_it_recovers_a_dead_workers_claims_without_double_sending(
        sink, secretary, school, django_capture_on_commit_callbacks):
    account = make_account(sink)
    mailing = make_mailing(account, secretary, mode=Mailing.Mode.PER_GUARDIAN, subject="x",
                           body="y", audience={"addresses": [f"p{n}@example.org"
                                                             for n in range(6)]})
    _submit(mailing, django_capture_on_commit_callbacks)
    claimed = claim(account, "dead-worker", 4)
    Message.objects.filter(pk=claimed[0].pk).update(in_flight_at=timezone.now())
    Message.objects.filter(lease_owner="dead-worker").update(
        lease_expires_at=timezone.now() - timedelta(seconds=1))
    assert recover_expired() == [account.pk]
    uncertain = Message.objects.get(pk=claimed[0].pk)
    assert uncertain.status == S.UNCERTAIN
    send_account_work(account.pk)
    assert len(sink.received) == 5  # every other recipient exactly once
    assert len({m.rcpt_tos[0] for m in sink.received}) == 5
    with django_capture_on_commit_callbacks(execute=False):
        message_resend(message=uncertain)
    send_account_work(account.pk)
    assert len(sink.received) == 6


def test_it_pauses_cancels_and_retries(smtp_server_factory, secretary, school,
                                       django_capture_on_commit_callbacks):
    server = smtp_server_factory(fault="data_554")
    account = make_account(server)
    mailing = make_mailing(account, secretary, mode=Mailing.Mode.PER_GUARDIAN, subject="x",
                           body="y", audience={"addresses": ["a@example.org", "b@example.org"]})
    _submit(mailing, django_capture_on_commit_callbacks)
    mailing_pause(mailing=mailing)
    send_account_work(account.pk)
    assert server.received == [] and set(_statuses(mailing)) == {S.QUEUED}
    mailing_cancel(mailing=mailing)
    assert set(_statuses(mailing)) == {S.CANCELLED}

    other = make_mailing(account, secretary, mode=Mailing.Mode.PER_GUARDIAN, subject="x",
                         body="y", audience={"addresses": ["c@example.org"]})
    _submit(other, django_capture_on_commit_callbacks)
    send_account_work(account.pk)
    assert _statuses(other) == [S.FAILED]
    with django_capture_on_commit_callbacks(execute=False):
        assert mailing_retry_failed(mailing=other) == 1
    assert _statuses(other) == [S.QUEUED]


def test_it_bounds_queries_per_message(sink, secretary, school, django_assert_max_num_queries,
                                       django_capture_on_commit_callbacks, settings):
    settings.MAILING_BATCH_SIZE = 200
    account = make_account(sink)
    mailing = make_mailing(account, secretary, mode=Mailing.Mode.PER_GUARDIAN,
                           audience={"addresses": [f"p{n}@example.org" for n in range(200)]})
    _submit(mailing, django_capture_on_commit_callbacks)
    # In flight, result (message + recipients, in a transaction): constant per message.
    with django_assert_max_num_queries(200 * 6 + 40):
        send_account_work(account.pk)
    assert len(sink.received) == 200


def test_the_system_account_goes_first(sink, secretary, school,
                                       django_capture_on_commit_callbacks):
    account = make_account(sink)
    bulk = make_mailing(account, secretary, mode=Mailing.Mode.PER_GUARDIAN, subject="bulk",
                        body="y", audience={"addresses": ["a@example.org"]})
    _submit(bulk, django_capture_on_commit_callbacks)
    assert Message.objects.get(mailing=bulk).priority > 0
    system = SendingAccount.objects.get(is_system=True)
    assert system.is_system


def test_building_the_next_message_while_waiting_never_raises():
    class Broken:
        def build(self, message, recipients):
            raise TypeError("a context that is not plain data")

    following = Message(pk=2, mailing_id=1)
    following.envelope = []
    prepared = {}
    prepare = _preparer(following, {1: Broken()}, prepared)
    prepare()  # the error will be raised when the message is built in its turn
    assert prepared == {}
    assert _preparer(following, {}, prepared) is None  # no renderer at hand: nothing to do


def test_it_fails_only_the_recipient_whose_message_passes_the_render_cap(
        sink, secretary, school, class_with_families, settings,
        django_capture_on_commit_callbacks):
    # Nadia has two children: the nested loops repeat the line 4 times for her, once for the
    # parents of one child. The cap lets one repetition through, not four.
    school_class, _students = class_with_families
    settings.MAILING_RENDER_MAX_BYTES = 1500
    account = make_account(sink)
    body = ("{% for enfant in enfants %}{% for autre in enfants %}" + "x" * 500
            + "{% endfor %}{% endfor %}")
    mailing = make_mailing(account, secretary, mode=Mailing.Mode.PER_GUARDIAN, body=body,
                           audience={"class_ids": [school_class.pk]})
    _submit(mailing, django_capture_on_commit_callbacks)
    assert send_account_work(account.pk) is False
    failed = Recipient.objects.get(mailing=mailing, status=S.FAILED)
    assert failed.email == "nadia@example.org"
    assert "1.5" in failed.smtp_text or "1,5" in failed.smtp_text  # the cap, named
    assert sorted(r for m in sink.received for r in m.rcpt_tos) == [
        "p0@example.org", "p1@example.org", "p2@example.org"]
    mailing.refresh_from_db()
    assert mailing.status == Mailing.Status.DONE


def test_it_fails_with_the_reason_a_mailing_saved_before_a_stricter_template_rule(
        sink, secretary, school, settings, django_capture_on_commit_callbacks):
    account = make_account(sink)
    body = "{% for a in enfants %}{% for b in enfants %}{% for c in enfants %}x" \
           "{% endfor %}{% endfor %}{% endfor %}"
    settings.MAILING_TEMPLATE_MAX_LOOP_DEPTH = 3
    mailing = make_mailing(account, secretary, mode=Mailing.Mode.PER_GUARDIAN, body=body,
                           audience={"addresses": ["a@example.org"]})
    _submit(mailing, django_capture_on_commit_callbacks)
    settings.MAILING_TEMPLATE_MAX_LOOP_DEPTH = 2  # an upgrade made the rule stricter
    assert send_account_work(account.pk) is False
    failed = Recipient.objects.get(mailing=mailing)
    assert failed.status == S.FAILED and "2" in failed.smtp_text
    assert sink.received == []


def test_it_stores_submitted_rows_exactly_as_written(secretary, school, sink,
                                                     django_capture_on_commit_callbacks):
    """Submission writes rows in bulk (COPY on PostgreSQL): text with the characters COPY
    escapes, JSON contexts and the shared values come back as given."""
    from tests.factories import make_class, make_guardian, make_student

    awkward = "O'Brien \\ Dupont\t\"Jr\"\nNuñez"
    school_class = make_class("6e B")
    guardian = make_guardian(first_name="Zoé", last_name=awkward, email="zoe@example.org")
    make_student(school_class, guardians=[guardian], first_name="Élise", last_name=awkward)
    SuppressedAddress.objects.create(email="gone@example.org", reason="5.1.1 \\ gone\tfor good")
    account = make_account(sink)
    mailing = make_mailing(account, secretary, audience={"class_ids": [school_class.pk],
                                                         "addresses": ["gone@example.org"]})
    _submit(mailing, django_capture_on_commit_callbacks)
    message = Message.objects.get(mailing=mailing)
    assert (message.context["eleve"]["nom"], message.context["parent"]["nom"]) == (awkward,
                                                                                   awkward)
    assert (message.status, message.priority, message.account_id) == (S.QUEUED, 5, account.pk)
    assert message.created_at is not None and message.attempts == 0
    sent = Recipient.objects.get(mailing=mailing, status=S.QUEUED)
    assert (sent.email, sent.message_id) == ("zoe@example.org", message.pk)
    assert awkward in sent.name and awkward in sent.student_name
    skipped = Recipient.objects.get(mailing=mailing, status=S.SKIPPED)
    assert (skipped.message_id, skipped.smtp_text) == (None, "5.1.1 \\ gone\tfor good")
