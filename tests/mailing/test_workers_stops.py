"""Exact stops and prompt recovery with real Celery workers: for every stop action and every
moment a connection can drop, what the SMTP server accepted is exactly what the mailing page
and `mailing_status --json` say; a killed worker's claims are sent by another within seconds;
a mailing starts on every connection its account may use."""

import io
import json
import os
import random
import signal
import time
from collections import Counter
from pathlib import Path

import pytest
from django.core.management import call_command

from mailing.engine import recover_expired
from mailing.mailings.selectors import mailing_counts
from mailing.mailings.services import (
    mailing_cancel,
    mailing_pause,
    mailing_resume,
    mailing_retry_failed,
    mailing_submit,
    message_resend,
)
from mailing.models import Mailing, Message, Recipient
from mailing.tasks import enqueue_account
from tests.mailing.conftest import make_account, make_mailing
from tests.workers import running_worker

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]
S = Message.Status
PENDING = [S.QUEUED, S.SENDING, S.DEFERRED]


@pytest.fixture
def queues(isolated_queues):
    return isolated_queues


def _wait(predicate, timeout, message, *, every=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        if every:
            every()
        time.sleep(0.2)
    raise AssertionError(message() if callable(message) else message)


def _ready(*folders):
    """Wait until every worker started in these folders says it is ready."""
    def all_ready():
        logs = [log for folder in folders for log in folder.glob("worker-*.log")]
        return len(logs) == len(folders) and all(
            " ready." in log.read_text(errors="replace") for log in logs)

    _wait(all_ready, 60, "a worker did not start")


def _addresses(count, prefix):
    return [f"{prefix}{n}@example.org" for n in range(count)]


def _copies(server, addresses):
    """Per address: (copies accepted, distinct Message-IDs among them)."""
    wanted = set(addresses)
    copies, ids = Counter(), {}
    for received in list(server.received):
        message_id = received.message()["Message-ID"]
        for address in received.rcpt_tos:
            if address in wanted:
                copies[address] += 1
                ids.setdefault(address, set()).add(message_id)
    return copies, {address: len(found) for address, found in ids.items()}


def _settle(mailing, account, timeout=90):
    """Until no recipient can still change: what beat's sweep does, every half second."""
    def sweep():
        recover_expired()
        enqueue_account(account.pk)

    _wait(lambda: not Message.objects.filter(mailing=mailing, status__in=PENDING).exists(),
          timeout, lambda: f"mailing {mailing.pk} did not settle: " + str(Counter(
              Message.objects.filter(mailing=mailing).values_list("status", flat=True))),
          every=sweep)


def _check_invariant(client, server, mailing, addresses, resent=()):
    copies, distinct = _copies(server, addresses)
    fates = dict(Recipient.objects.filter(mailing=mailing).values_list("email", "status"))
    assert set(fates) == set(addresses)
    for address, fate in fates.items():
        if fate == S.SENT:
            # A person may have resent an uncertain message: same Message-ID, one message.
            assert distinct.get(address) == 1, (address, fate, copies[address])
            assert copies[address] == 1 or address in resent, (address, copies[address])
        elif fate in (S.CANCELLED, S.FAILED):
            assert copies[address] == 0, (address, fate, copies[address])
        else:
            assert fate == S.UNCERTAIN and copies[address] <= 1, (address, fate)
    counts = mailing_counts(mailing)
    assert sum(v for k, v in counts.items() if k != "total") == counts["total"] == len(addresses)
    page = client.get(f"/emails/{mailing.pk}/progress/").json()
    assert page["counts"] == counts
    out = io.StringIO()
    call_command("mailing_status", str(mailing.pk), "--json", stdout=out)
    ops = {r["email"]: r["status"] for r in json.loads(out.getvalue())["recipients"]}
    assert ops == fates
    return Counter(fates.values())


def test_it_accounts_for_every_recipient_whatever_the_stop_and_the_drop(
        tmp_path, smtp_server_factory, secretary, secretary_client, school, queues):
    rng = random.Random(1047)
    server = smtp_server_factory(latency=0.01, seed=1047)
    account = make_account(server, max_connections=2)
    account.users.add(secretary)
    env = {**queues, "MAILING_RETRY_SCHEDULE": "1", "SMTP_TIMEOUT": "1.5",
           "MAILING_BATCH_SIZE": "4"}
    listen = ",".join(queues.values())
    summary = {}
    with running_worker(tmp_path / "w1", shared_broker=tmp_path, extra_env=env, queues=listen), \
            running_worker(tmp_path / "w2", shared_broker=tmp_path, extra_env=env, queues=listen):
        for action in ("pause", "resume", "cancel", "retry_failed", "resend_uncertain"):
            addresses = _addresses(24, prefix=f"{action}-")
            server._refuse_recipients = {a: "550 5.1.1 User unknown" for a in addresses[:2]}
            server.chaos = {"mail": 0.06, "data": 0.06, "after_dot": 0.06, "hang": 0.03}
            if action == "pause":
                server.chaos_due = {"mail", "data", "after_dot", "hang"}  # each at least once
            if action == "resend_uncertain":
                server.chaos["after_dot"] = 0.25
            # Slow enough that a cancel finds most of the mailing still to send: at 10 ms a
            # message, the 24 could all leave between two looks at the server (0.2 s).
            server._latency = 0.15 if action == "cancel" else 0.01
            mailing = make_mailing(account, secretary, mode=Mailing.Mode.PER_GUARDIAN,
                                   subject=action, body="x", audience={"addresses": addresses})
            mailing_submit(mailing=mailing)  # autocommit: the workers are asked at once
            moment = rng.randint(2, 14)
            _wait(lambda a=addresses, m=moment: sum(_copies(server, a)[0].values()) >= m, 60,
                  f"{action}: sending did not start")
            resent = set()
            finished_first = False
            if action == "pause":
                mailing_pause(mailing=mailing)
                time.sleep(2)  # what was in flight is recorded
                before = sum(_copies(server, addresses)[0].values())
                time.sleep(1.5)
                assert sum(_copies(server, addresses)[0].values()) == before, "sent while paused"
                mailing_resume(mailing=mailing)
            elif action == "resume":
                mailing_pause(mailing=mailing)
                time.sleep(rng.uniform(0, 0.5))
                mailing_resume(mailing=mailing)
            elif action == "cancel":
                mailing_cancel(mailing=mailing)
                # On a slow machine the workers may finish before the cancel: a mailing done
                # first stays done (there was nothing left to stop).
                finished_first = Mailing.objects.get(pk=mailing.pk).status == Mailing.Status.DONE
            _settle(mailing, account)
            server.chaos = None
            if action == "retry_failed":
                server._refuse_recipients = {}
                assert mailing_retry_failed(mailing=mailing) >= 2
                _settle(mailing, account)
            elif action == "resend_uncertain":
                uncertain = Message.objects.filter(mailing=mailing, status=S.UNCERTAIN)
                resent = set(Recipient.objects.filter(message__in=uncertain)
                             .values_list("email", flat=True))
                assert resent, "the drops after the final dot left nothing uncertain"
                for message in uncertain:
                    message_resend(message=message)
                _settle(mailing, account)
            summary[action] = _check_invariant(secretary_client, server, mailing, addresses,
                                               resent)
            mailing.refresh_from_db()
            expected = (Mailing.Status.CANCELLED if action == "cancel" and not finished_first
                        else Mailing.Status.DONE)
            assert mailing.status == expected, (action, mailing.status)
    print("drops:", Counter(server.chaos_log))
    for action, fates in summary.items():
        print(f"{action}: {dict(fates)}")
    assert summary["cancel"][S.CANCELLED] > 0
    assert summary["retry_failed"][S.FAILED] == 0
    assert set(Counter(server.chaos_log)) == {"mail", "data", "after_dot", "hang"}


def _children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(child) for child in path.read_text().split()] if path.exists() else []


def _claims_of(pid: int) -> list[int]:
    return list(Message.objects.filter(status=S.SENDING, lease_owner__contains=f":{pid}:")
                .values_list("pk", flat=True))


@pytest.mark.parametrize("victim", ["whole worker", "one pool child"])
def test_it_sends_a_killed_workers_claims_within_seconds(
        tmp_path, smtp_server_factory, secretary, school, queues, victim):
    server = smtp_server_factory(latency=0.03)
    account = make_account(server, max_connections=2)
    addresses = _addresses(400, prefix="k")
    mailing = make_mailing(account, secretary, mode=Mailing.Mode.PER_GUARDIAN, subject="k",
                           body="x", audience={"addresses": addresses})
    # Leases far longer than the bound: only the heartbeat can explain a prompt recovery.
    env = {**queues, "MAILING_LEASE_SECONDS": "300", "MAILING_BATCH_SIZE": "40"}
    listen = ",".join(queues.values())
    with running_worker(tmp_path / "w1", shared_broker=tmp_path,
                        extra_env=env, queues=listen) as (_, first), \
            running_worker(tmp_path / "w2", shared_broker=tmp_path,
                           extra_env=env, queues=listen) as (_, second):
        _ready(tmp_path / "w1", tmp_path / "w2")  # the two tasks go to the two workers
        mailing_submit(mailing=mailing)
        claims, holder = [], None

        def a_process_holds_claims():
            nonlocal claims, holder
            for worker in (first, second):
                for child in _children(worker.pid):
                    claims = _claims_of(child)
                    if claims:
                        holder = worker, child
                        return True
            return False

        _wait(a_process_holds_claims, 60, "no worker ever claimed anything")
        worker, child = holder
        if victim == "whole worker":
            os.killpg(worker.pid, signal.SIGKILL)
        else:
            os.kill(child, signal.SIGKILL)
        killed_at = time.monotonic()
        _wait(lambda: not Message.objects.filter(pk__in=claims, status=S.SENDING).exists(),
              60, "the dead worker's claims were never freed")
        _wait(lambda: not Message.objects.filter(pk__in=claims, status__in=PENDING).exists(),
              60, "the dead worker's claims were never sent")
        recovered_in = time.monotonic() - killed_at
        _wait(lambda: not Message.objects.filter(mailing=mailing, status__in=PENDING).exists(),
              120, "the mailing did not finish")
    print(f"SIGKILL of the {victim}: its {len(claims)} claimed messages were sent by another "
          f"process {recovered_in:.1f} s later")
    assert recovered_in < 30
    fates = Counter(Recipient.objects.filter(mailing=mailing).values_list("status", flat=True))
    assert fates[S.UNCERTAIN] <= 1 and fates[S.SENT] + fates[S.UNCERTAIN] == len(addresses)
    copies = Counter(r for m in server.received for r in m.rcpt_tos)
    assert max(copies.values()) == 1


def test_it_starts_a_mailing_on_every_connection_at_once(
        tmp_path, smtp_server_factory, secretary, school, queues):
    server = smtp_server_factory(latency=0.05)
    account = make_account(server, max_connections=4)
    mailing = make_mailing(account, secretary, mode=Mailing.Mode.PER_GUARDIAN, subject="c",
                           body="x", audience={"addresses": _addresses(200, prefix="c")})
    env = {**queues, "MAILING_BATCH_SIZE": "10"}
    with running_worker(tmp_path / "w", concurrency=4, extra_env=env,
                        queues=",".join(queues.values())):
        _ready(tmp_path / "w")  # so that what is measured is the engine, not the start
        submitted = time.monotonic()
        mailing_submit(mailing=mailing)
        _wait(lambda: server.max_active_sessions >= 4, 15,
              lambda: f"only {server.max_active_sessions} SMTP sessions at once")
        print(f"4 SMTP sessions open {time.monotonic() - submitted:.1f} s after submission")
        _wait(lambda: Mailing.objects.get(pk=mailing.pk).status == Mailing.Status.DONE, 60,
              "the mailing did not finish")


def test_it_shows_a_mailing_done_when_its_last_recipient_is_recorded(
        tmp_path, smtp_server_factory, secretary, school, queues):
    server = smtp_server_factory()
    account = make_account(server, send_delay="0.3")
    short = make_mailing(account, secretary, mode=Mailing.Mode.PER_GUARDIAN, subject="short",
                         body="x", audience={"addresses": _addresses(2, prefix="s")})
    long = make_mailing(account, secretary, mode=Mailing.Mode.PER_GUARDIAN, subject="long",
                        body="x", audience={"addresses": _addresses(12, prefix="l")})
    with running_worker(tmp_path / "w", extra_env=queues, queues=",".join(queues.values())):
        mailing_submit(mailing=short)
        mailing_submit(mailing=long)
        _wait(lambda: Mailing.objects.get(pk=short.pk).status == Mailing.Status.DONE, 20,
              "the short mailing never showed done")
        # Its run goes on with the long mailing, at 0.3 s a message: the short one was shown
        # done while the same worker task was still sending.
        assert Message.objects.filter(mailing=long, status__in=PENDING).exists()
        _wait(lambda: Mailing.objects.get(pk=long.pk).status == Mailing.Status.DONE, 30,
              "the long mailing did not finish")


def test_it_holds_the_accounts_connection_limit_across_workers(
        tmp_path, smtp_server_factory, secretary, school, queues):
    """Two worker processes (as on two machines: each its own pool, its own processes) with
    more pool processes between them than the account may use connections."""
    server = smtp_server_factory(latency=0.05)
    account = make_account(server, max_connections=3)
    mailing = make_mailing(account, secretary, mode=Mailing.Mode.PER_GUARDIAN, subject="m",
                           body="x", audience={"addresses": _addresses(120, prefix="m")})
    env = {**queues, "MAILING_BATCH_SIZE": "5"}
    listen = ",".join(queues.values())
    with running_worker(tmp_path / "a", shared_broker=tmp_path, concurrency=2,
                        extra_env=env, queues=listen), \
            running_worker(tmp_path / "b", shared_broker=tmp_path, concurrency=2,
                           extra_env=env, queues=listen):
        _ready(tmp_path / "a", tmp_path / "b")
        mailing_submit(mailing=mailing)
        for _ in range(3):  # more tasks than slots, as beat's sweep would add
            enqueue_account(account.pk)
        _wait(lambda: Mailing.objects.get(pk=mailing.pk).status == Mailing.Status.DONE, 60,
              "the mailing did not finish")
    print(f"at most {server.max_active_sessions} SMTP sessions at once (limit 3)")
    assert server.max_active_sessions == 3
    assert Counter(r for m in server.received for r in m.rcpt_tos).most_common(1)[0][1] == 1
