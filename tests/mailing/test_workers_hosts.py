"""Workers on several machines share one account's work and hold its limits together.

Each worker runs under a host name of its own (a UTS namespace: `tests.workers.running_worker`
with `host=`), so that it names its claims, slots and heartbeats after that host and gives it in
EHLO, as a worker on another machine does. They share the database and the broker, as machines
do in production: PostgreSQL and Redis in CI (.ci/run checks that host names can be given).
"""

from collections import Counter

import pytest

from mailing.mailings.services import mailing_submit
from mailing.models import Mailing, Message
from mailing.tasks import enqueue_account
from tests.mailing.conftest import make_account, make_mailing
from tests.mailing.test_workers import _wait
from tests.workers import can_name_hosts, running_worker

pytestmark = [
    pytest.mark.worker, pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not can_name_hosts(), reason="worker host names need a UTS namespace "
                       "(`unshare --uts`, as root); .ci/run requires it"),
]
HOSTS = ("host-a.eduka.test", "host-b.eduka.test")


def _addresses(count):
    return [f"parent{n}@example.org" for n in range(count)]


def _send_on_two_hosts(tmp_path, sink, account, secretary, isolated_queues, count):
    """Two machines of two pool processes each: one machine alone can hold two of the
    account's connections at most."""
    mailing = make_mailing(account, secretary, mode=Mailing.Mode.PER_GUARDIAN, subject="x",
                           body="y", audience={"addresses": _addresses(count)})
    env = {**isolated_queues, "MAILING_BATCH_SIZE": "2"}
    queues = ",".join(isolated_queues.values())
    with running_worker(tmp_path / "a", shared_broker=tmp_path, extra_env=env, queues=queues,
                        concurrency=2, host=HOSTS[0]), \
            running_worker(tmp_path / "b", shared_broker=tmp_path, extra_env=env,
                           queues=queues, concurrency=2, host=HOSTS[1]):
        # Both machines up before the work arrives (the second one starting late would find
        # it done: true to life, but it proves nothing).
        _wait(lambda: all(" ready." in log.read_text(errors="replace")
                          for folder in ("a", "b") for log in (tmp_path / folder).glob("*.log")),
              60, "a worker did not start")
        mailing_submit(mailing=mailing)
        enqueue_account(account.pk, connections=6)  # more asks than the account allows
        _wait(lambda: Message.objects.filter(mailing=mailing, status=Message.Status.SENT)
              .count() == count, 90, lambda: f"not everything was sent: {Counter(
                  Message.objects.filter(mailing=mailing).values_list('status', flat=True))}")
    return mailing


def test_two_hosts_share_an_account_within_its_connection_limit(
        tmp_path, smtp_server_factory, secretary, school, isolated_queues):
    sink = smtp_server_factory(latency=0.1)
    account = make_account(sink, max_connections=3)
    _send_on_two_hosts(tmp_path, sink, account, secretary, isolated_queues, 60)

    assert Counter(r for m in sink.received for r in m.rcpt_tos) == Counter(_addresses(60))
    print("EHLO names:", Counter(m.helo for m in sink.received),
          "most sessions at once:", sink.max_active_sessions)
    # Four pool processes, three connections allowed: never more than three at once, and
    # with one machine able to hold two, the third was the other machine's.
    assert sink.max_active_sessions <= 3
    assert set(Counter(m.helo for m in sink.received)) == set(HOSTS)


def test_two_hosts_hold_the_delay_between_sends_together(
        tmp_path, smtp_server_factory, secretary, school, isolated_queues):
    """Six asks on two machines for a paced account: it sends over one connection at a time
    (the pace is the account's), so one machine may well do it all; never faster."""
    sink = smtp_server_factory()
    account = make_account(sink, max_connections=2, send_delay="0.3")
    _send_on_two_hosts(tmp_path, sink, account, secretary, isolated_queues, 10)

    assert Counter(r for m in sink.received for r in m.rcpt_tos) == Counter(_addresses(10))
    times = sorted(m.received_at for m in sink.received)
    gaps = [round(later - earlier, 3) for earlier, later in zip(times, times[1:], strict=False)]
    print("EHLO names:", Counter(m.helo for m in sink.received), "gaps:", gaps)
    assert min(gaps) >= 0.3  # whichever machine sent, the account's pace held
