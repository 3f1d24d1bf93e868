"""`manage.py run_submission_smtp` as ops run it, and killed: the client never got 250, so
nothing was kept; a message that got 250 is in the database and leaves once a worker runs;
SIGTERM lets the message being stored finish before the process exits."""

import os
import signal
import smtplib
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from django.db import connection, transaction

from mailing.engine.queue import enqueue_account
from mailing.models import Mailing, Recipient
from tests.submission.conftest import DOMAIN, connect, free_port, note
from tests.workers import database_url, running_worker

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]
ROOT = Path(__file__).resolve().parents[2]


class SubmissionProcess:
    def __init__(self, certificate, tmp_path: Path):
        self.port = free_port()
        self.log = tmp_path / f"submission-{self.port}.log"
        env = {**os.environ, "DJANGO_SETTINGS_MODULE": "eduka.settings.test",
               "DATABASE_URL": database_url(), "INTEGRATED_MAIL_DOMAIN": DOMAIN,
               "SUBMISSION_TLS_CERT_FILE": certificate.cert_file,
               "SUBMISSION_TLS_KEY_FILE": certificate.key_file}
        with open(self.log, "w") as log:
            self.process = subprocess.Popen(
                [sys.executable, "manage.py", "run_submission_smtp", "--port", str(self.port)],
                cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        self.hostname = "127.0.0.1"
        deadline = time.monotonic() + 30
        while "listening" not in self.log.read_text():
            assert self.process.poll() is None, self.log.read_text()
            assert time.monotonic() < deadline, "the submission server did not start"
            time.sleep(0.1)

    def stop(self):
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


@pytest.fixture
def start(certificate, tmp_path):
    processes = []

    def start():
        processes.append(SubmissionProcess(certificate, tmp_path))
        return processes[-1]

    yield start
    for process in processes:
        process.stop()


class _StoreBlocked:
    """Hold the write the server needs to store a message (another connection's lock), as a
    slow or locked database would, until released."""

    def __enter__(self):
        self.atomic = transaction.atomic()
        self.atomic.__enter__()
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute("LOCK TABLE mailing_mailing IN EXCLUSIVE MODE")
            else:  # SQLite: any write takes the database's only write lock
                cursor.execute("UPDATE mailing_applicationaccess SET name = name")
        return self

    def __exit__(self, *exc):
        self.atomic.__exit__(None, None, None)


class _Client(threading.Thread):
    """An application that logs in, then sends its message when told to (so that the
    database can be locked between the two: logging in writes the last use)."""

    def __init__(self, server, tls, login, message):
        super().__init__()
        self.server, self.tls, self.login, self.message = server, tls, login, message
        self.logged_in, self.go, self.outcome = threading.Event(), threading.Event(), {}
        self.start()
        assert self.logged_in.wait(10)

    def run(self):
        try:
            with connect(self.server, self.tls, login=self.login) as client:
                self.logged_in.set()
                self.go.wait(10)
                self.outcome["refused"] = client.send_message(self.message)
        except (smtplib.SMTPException, OSError) as error:
            self.outcome["error"] = error
            self.logged_in.set()


def test_a_server_killed_before_its_answer_kept_nothing_and_an_accepted_message_leaves(
        start, client_tls, pronote, relay, tmp_path, isolated_queues):
    access, password = pronote
    server = start()
    client = _Client(server, client_tls, (access.username, password),
                     note(["lost@example.org"]))
    with _StoreBlocked():
        client.go.set()
        time.sleep(1.5)  # the client has sent its message and waits for the answer
        assert client.is_alive()
        server.process.send_signal(signal.SIGKILL)
        server.process.wait()
        client.join(10)
    assert isinstance(client.outcome.get("error"), smtplib.SMTPServerDisconnected)
    assert not Mailing.objects.exists()

    # Accepted, then the server dies at once: the message is safe and leaves with a worker.
    server = start()
    with connect(server, client_tls, login=(access.username, password)) as client:
        assert client.send_message(note(["kept@example.org"])) == {}
    server.process.send_signal(signal.SIGKILL)
    env = {**isolated_queues, "INTEGRATED_RELAY_HOST": relay.host,
           "INTEGRATED_RELAY_PORT": str(relay.port), "INTEGRATED_RELAY_SECURITY": "none",
           "INTEGRATED_MAIL_DOMAIN": DOMAIN}
    with running_worker(tmp_path / "worker", extra_env=env,
                        queues=",".join(isolated_queues.values())):
        enqueue_account(access.account_id)  # what beat's sweep does for due work
        deadline = time.monotonic() + 60
        while not relay.received and time.monotonic() < deadline:
            time.sleep(0.2)
    assert [m.rcpt_tos for m in relay.received] == [["kept@example.org"]]
    assert Recipient.objects.get().status == Recipient.Status.SENT


def test_sigterm_lets_the_message_being_stored_finish(start, client_tls, pronote):
    access, password = pronote
    server = start()
    client = _Client(server, client_tls, (access.username, password),
                     note(["parent@example.org"]))
    with _StoreBlocked():
        client.go.set()
        time.sleep(1.5)
        server.process.send_signal(signal.SIGTERM)
        time.sleep(0.5)
        assert server.process.poll() is None  # still storing: it waits
    client.join(10)
    assert client.outcome == {"refused": {}}  # the client got its 250
    assert server.process.wait(timeout=20) == 0
    assert Recipient.objects.get().email == "parent@example.org"
    log = server.log.read_text()
    assert "Submission SMTP stopped" in log
    assert "1 accepted (1 recipients)" in log
