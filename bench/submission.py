"""Submission benchmark: messages accepted per second by `run_submission_smtp` from
concurrent clients, against a baseline server that accepts without storing.

    python bench/submission.py [--messages 2000] [--clients 4]
    make bench (after the sending benchmark)

Both servers run in processes of their own with the same TLS certificate, STARTTLS and AUTH
PLAIN; each client keeps one connection and sends its share of small messages (one recipient,
~1.5 KB) with smtplib. The submission server does what it does in production: checks the
access, the sender, the rate limits, and commits the Mailing, Message, Recipient and bytes
before each 250, in a throw-away SQLite database (or DATABASE_URL with --stack). The baseline
answers 250 at once: the ratio is what storing each message durably costs.

Nothing is asserted: figures are printed, and whether every accepted message was stored.
"""

import argparse
import os
import shutil
import smtplib
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import run as common  # noqa: E402 (bench/run.py: the environment and migrations)

ROOT = common.ROOT
OWN = "bench@ecolemail.eduka.school"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def baseline_server(port: int, cert: str, key: str) -> None:
    """An aiosmtpd server with the same TLS and AUTH that keeps nothing: 250 at once."""
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult

    class Handler:
        async def handle_DATA(self, server, session, envelope):  # noqa: N802
            return "250 2.0.0 OK"

    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    controller = Controller(Handler(), hostname="127.0.0.1", port=port, tls_context=context,
                            require_starttls=True, auth_required=True,
                            authenticator=lambda *args: AuthResult(success=True))
    controller.start()
    print("READY", flush=True)
    sys.stdin.read()  # until the parent closes our stdin
    controller.stop()


def _start(command: list[str], env: dict, ready: str) -> subprocess.Popen:
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdin=subprocess.PIPE,  # noqa: S603
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    for line in process.stdout:
        if ready in line:
            return process
    raise RuntimeError(f"{command[2]} did not start")


def _payload(n: int) -> bytes:
    return (f"From: Vie scolaire <{OWN}>\r\nTo: parent{n}@example.org\r\n"
            f"Subject: Absence du {n}\r\nMessage-ID: <bench-{n}-{time.time_ns()}@pronote.local>"
            "\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
            + "Votre enfant était absent ce matin. Merci de justifier l'absence.\r\n" * 20
            ).encode()


def drive(port: int, ca_file: str, login: tuple[str, str], messages: int, clients: int) -> dict:
    """`clients` threads, one connection each, `messages` in all; returns rate and errors."""
    context = ssl.create_default_context(cafile=ca_file)
    context.check_hostname = False
    errors: list[str] = []
    share = messages // clients

    def client(index: int) -> None:
        try:
            with smtplib.SMTP("127.0.0.1", port, timeout=60) as connection:
                connection.starttls(context=context)
                connection.login(*login)
                for n in range(index * share, (index + 1) * share):
                    connection.sendmail(OWN, [f"parent{n}@example.org"], _payload(n))
        except (smtplib.SMTPException, OSError) as error:
            errors.append(repr(error))

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    return {"sent": share * clients, "rate": share * clients / elapsed, "elapsed": elapsed,
            "errors": errors}


def main() -> int:
    parser = argparse.ArgumentParser(description="Submission benchmark (prints figures).")
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--baseline-server", nargs=3, metavar=("PORT", "CERT", "KEY"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.baseline_server:
        port, cert, key = args.baseline_server
        baseline_server(int(port), cert, key)
        return 0

    tmp = Path(tempfile.mkdtemp(prefix="eduka-bench-submission-"))
    common.configure_environment(tmp, None)
    from tests.smtp_servers import _server_cert

    files = _server_cert("ca")
    os.environ.update({"SUBMISSION_TLS_CERT_FILE": files.cert_file,
                       "SUBMISSION_TLS_KEY_FILE": files.key_file,
                       "SUBMISSION_MESSAGES_PER_MINUTE": "100000000",
                       "SUBMISSION_RECIPIENTS_PER_HOUR": "100000000"})
    print(f"Setting up a throw-away database in {tmp} ...", flush=True)
    common.migrate()
    import django

    django.setup()
    from mailing.models import SendingAccount, SubmittedMessage
    from mailing.submission.credentials import access_create

    account = SendingAccount.objects.create(name="Bench", kind="integrated",
                                            integrated_local_part="bench")
    access, password = access_create(account=account, name="Pronote")
    submission_port, baseline_port = free_port(), free_port()
    servers = []
    try:
        servers.append(_start([sys.executable, "manage.py", "run_submission_smtp", "--port",
                               str(submission_port)], os.environ.copy(), "listening"))
        servers.append(_start([sys.executable, str(Path(__file__)), "--baseline-server",
                               str(baseline_port), files.cert_file, files.key_file],
                              os.environ.copy(), "READY"))
        print(f"[1/2] submission server, {args.clients} clients, {args.messages} messages ...",
              flush=True)
        ours = drive(submission_port, files.ca_file, (access.username, password),
                     args.messages, args.clients)
        print("[2/2] baseline server (accepts without storing) ...", flush=True)
        base = drive(baseline_port, files.ca_file, ("any", "thing"), args.messages,
                     args.clients)
        stored = SubmittedMessage.objects.count()
    finally:
        for server in servers:
            server.stdin.close()
            server.terminate()
            server.wait(timeout=40)
        shutil.rmtree(tmp, ignore_errors=True)
    line = "-" * 78
    print(line)
    print(f"Submission server: {args.clients} concurrent clients (STARTTLS + AUTH, one "
          f"connection each), {ours['sent']:,} messages of one recipient")
    print(f"{'server':<44}{'accepted msg/s':>16}{'ratio':>8}")
    print(f"{'run_submission_smtp (stored before 250)':<44}{ours['rate']:>16.0f}"
          f"{ours['rate'] / base['rate']:>8.2f}")
    print(f"{'baseline aiosmtpd (250 at once, nothing kept)':<44}{base['rate']:>16.0f}"
          f"{1:>8.2f}")
    every = stored == ours["sent"] and not ours["errors"]
    print(f"every accepted message stored: {'yes' if every else 'NO'} "
          f"({stored:,} stored of {ours['sent']:,}; errors {ours['errors'][:3] or 'none'})")
    print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
