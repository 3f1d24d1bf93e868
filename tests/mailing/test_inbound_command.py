"""`manage.py run_inbound_smtp` as ops run it: a process that listens, answers, and stops
cleanly on SIGTERM (honcho, docker)."""

import os
import signal
import smtplib
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_the_command_listens_refuses_relaying_and_stops_on_sigterm():
    port = _free_port()
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "eduka.settings.test"}
    process = subprocess.Popen(
        [sys.executable, "manage.py", "run_inbound_smtp", "--host", "127.0.0.1", "--port",
         str(port)], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                client = smtplib.SMTP("127.0.0.1", port, timeout=5)
                break
            except OSError:
                assert process.poll() is None, process.stdout.read().decode()
                assert time.monotonic() < deadline, "the server did not start"
                time.sleep(0.2)
        with client:
            assert client.ehlo()[0] == 250
            client.mail("someone@example.org")
            assert client.rcpt("victim@example.com") == (550, b"5.7.1 Relaying denied")
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
        assert f"listening on 127.0.0.1:{port}" in process.stdout.read().decode()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
