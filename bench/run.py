"""Sending benchmark: the real pipeline against plain smtplib, on the same local SMTP sink.

    python bench/run.py [--n 2000] [--batch-size B] [--profile] [--keep]
    make bench [N=20000]

The pipeline is the one production runs: `mailing_submit` writes the messages and recipients
and enqueues on commit, the file-system broker carries the task, a real `celery -A eduka
worker` process (prefork) runs `send_account_work`, which renders each message, sends it over
SMTP and records its status. Everything happens in a throw-away SQLite database and broker
folder. The sink (bench/sink.py) runs in a process of its own.

The baseline is the practical limit of a Python SMTP client: smtplib sending the same
messages, built beforehand, over persistent connections to the same sink.

Nothing is asserted: figures are printed, with whether the targets are met.
"""

import argparse
import contextlib
import cProfile
import io
import json
import os
import pstats
import shutil
import signal
import smtplib
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

TARGETS = {"ratio_0ms": 0.4, "ratio_5ms": 0.8, "submit_20k_s": 5.0, "memory_growth": 1.2}
SUBJECT = "Rentrée {{ ecole.nom }} : informations pour {{ destinataire.email }}"
PARAGRAPH_TEXT = (
    "La rentrée des classes aura lieu le lundi 1er septembre. Les élèves sont attendus à "
    "8 h 15 dans la cour principale, où les professeurs principaux les accueilleront. "
    "Merci de vérifier que le dossier de votre enfant est complet (fiche sanitaire, "
    "attestation d'assurance, autorisation de sortie) avant cette date.\n"
)
BODY_TEXT = (
    "Madame, Monsieur,\n\n"
    "Ce message est adressé à {{ destinataire.email }} par {{ ecole.nom }}.\n\n"
    + PARAGRAPH_TEXT * 3
    + "\nPour toute question : {{ ecole.telephone }}, {{ ecole.adresse }}.\n"
    "Votre adresse enregistrée : {{ destinataire.email }}.\n\n"
    "Bien cordialement,\nLe secrétariat de {{ ecole.nom }}\n"
)
PARAGRAPH_HTML = (
    "<p>La rentrée des classes aura lieu le <strong>lundi 1er septembre</strong>. Les élèves "
    "sont attendus à 8 h 15 dans la cour principale, où les professeurs principaux les "
    "accueilleront. Merci de vérifier que le dossier de votre enfant est complet "
    "(<em>fiche sanitaire, attestation d'assurance, autorisation de sortie</em>).</p>\n"
)
BODY_HTML = (
    "<h2>{{ ecole.nom }}</h2>\n<p>Madame, Monsieur ({{ destinataire.email }}),</p>\n"
    + PARAGRAPH_HTML * 3
    + "<table><tr><th>Téléphone</th><td>{{ ecole.telephone }}</td></tr>"
    "<tr><th>Adresse</th><td>{{ ecole.adresse }}</td></tr>"
    "<tr><th>Destinataire</th><td><a href=\"mailto:{{ destinataire.email }}\">"
    "{{ destinataire.email }}</a></td></tr></table>\n"
    "<p>Bien cordialement,<br>Le secrétariat de {{ ecole.nom }}</p>\n"
)


# --- environment -----------------------------------------------------------------------------

def configure_environment(tmp: Path, batch_size: int | None, **stack: str) -> None:
    """A throw-away database and broker folder (or the `stack` given: DATABASE_URL,
    CELERY_BROKER_URL…, see bench/prod.py); must run before Django is imported."""
    token = uuid.uuid4().hex[:10]
    env = {
        "DJANGO_SETTINGS_MODULE": "eduka.settings.dev",
        "DATABASE_URL": f"sqlite:///{tmp / 'bench.sqlite3'}",
        "CELERY_BROKER_URL": "filesystem://",
        "CELERY_BROKER_FOLDER": str(tmp / "broker"),
        "CELERY_RESULT_BACKEND": "",
        "SMTP_ALLOW_INTERNAL_HOSTS": "true",
        "SMTP_ALLOWED_EXTRA_PORTS": "1024-65535",  # the sink listens on an ephemeral port
        "MAILING_QUEUE_BULK": f"bench-{token}",
        "MAILING_QUEUE_SYSTEM": f"bench-system-{token}",
        # As in production: DEBUG keeps every query in memory and slows the worker.
        "DEBUG": "false",
        "LOG_LEVEL": "WARNING",
        "MEDIA_ROOT": str(tmp / "media"),
        "MAIL_CATCHER_DIR": str(tmp / "catcher"),
    }
    env.update(stack)
    if batch_size:
        env["MAILING_BATCH_SIZE"] = str(batch_size)
    os.environ.update(env)


def migrate() -> None:
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
                   cwd=ROOT, check=True, env=os.environ.copy())


# --- the sink --------------------------------------------------------------------------------

class Sink:
    """bench/sink.py in its own process, driven over its stdin/stdout."""

    def __init__(self, delay_ms: float = 0, pipelining: bool = True):
        self.process = subprocess.Popen(  # noqa: S603 (our own interpreter and script)
            [sys.executable, str(Path(__file__).with_name("sink.py")), "--delay-ms",
             str(delay_ms), *([] if pipelining else ["--no-pipelining"])],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        ready = self.process.stdout.readline().split()
        if not ready or ready[0] != "READY":
            raise RuntimeError("the SMTP sink did not start")
        self.port = int(ready[1])

    def _ask(self, command: str) -> str:
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()
        return self.process.stdout.readline().strip()

    def reset(self) -> None:
        self._ask("RESET")

    def set_delay(self, delay_ms: float) -> None:
        self._ask(f"DELAY {delay_ms}")

    def stats(self) -> dict:
        return json.loads(self._ask("STATS"))

    def close(self) -> None:
        if self.process.poll() is None:
            with contextlib.suppress(OSError):
                self.process.stdin.close()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


# --- the worker ------------------------------------------------------------------------------

def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # The command may hold spaces or parentheses: fields follow the last ')'.
        if int(stat.rpartition(")")[2].split()[1]) == pid:
            found.append(int(entry.name))
    return found


def _peak_rss_kb(pid: int) -> int:
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far."""
    with contextlib.suppress(OSError):
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return 0.0


class Worker:
    """A real `celery -A eduka worker` process (prefork) on the benchmark's queue."""

    def __init__(self, tmp: Path, concurrency: int, name: str, nice: int = 0):
        from django.conf import settings

        self.log_path = tmp / f"worker-{name}.log"
        self.log = open(self.log_path, "w")  # noqa: SIM115 (closed in stop())
        self.process = subprocess.Popen(  # noqa: S603 (our own interpreter, fixed arguments)
            ["nice", "-n", str(nice)] * bool(nice)
            + [sys.executable, "-m", "celery", "-A", "eduka", "worker", "--loglevel", "INFO",
             "--concurrency", str(concurrency), "--pool", "prefork",
             "-Q", settings.MAILING_QUEUE_BULK, "--hostname", f"{name}-{uuid.uuid4().hex[:6]}@%h",
             "--without-gossip", "--without-mingle", "--without-heartbeat"],
            cwd=ROOT, stdout=self.log, stderr=subprocess.STDOUT, env=os.environ.copy(),
            start_new_session=True)

    def wait_ready(self, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the worker exited; see {self.log_path}")
            if " ready." in self.log_path.read_text(errors="replace"):
                return
            time.sleep(0.1)
        raise RuntimeError(f"the worker did not start in {timeout} s; see {self.log_path}")

    def peak_memory_mb(self) -> tuple[float, int]:
        """Highest VmHWM among the parent and its pool processes, and how many there were."""
        pids = [self.process.pid, *_children(self.process.pid)]
        return max(_peak_rss_kb(pid) for pid in pids) / 1024, len(pids)

    def cpu_seconds(self) -> float:
        """CPU time used so far by the parent and its pool processes together."""
        return sum(_cpu_seconds(pid) for pid in [self.process.pid,
                                                 *_children(self.process.pid)])

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)  # warm shutdown; it stops its pool
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.log.close()


# --- data ------------------------------------------------------------------------------------

def create_fixtures():
    from accounts.models import User
    from school.models import School

    School.objects.create(name="Collège Jean Moulin", address="12 rue des Écoles, 69003 Lyon",
                          phone="04 72 00 12 34")
    return User.objects.create_user("bench@college.example.org", "bench-password-123")


def make_account(port: int, max_connections: int, label: str):
    from mailing.models import SendingAccount

    return SendingAccount.objects.create(
        name=f"Bench {label} {uuid.uuid4().hex[:6]}", kind="external", smtp_host="127.0.0.1",
        smtp_port=port, security="none", sender_name="Secrétariat du collège",
        from_email="secretariat@college.example.org", send_delay=0,
        max_connections=max_connections)


def make_mailing(account, user, n: int, label: str):
    from mailing.models import Mailing

    addresses = [f"parent.{label}.{i:06d}@familles.example.org" for i in range(n)]
    return Mailing.objects.create(
        account=account, created_by=user, mode=Mailing.Mode.PER_GUARDIAN, subject=SUBJECT,
        body_text=BODY_TEXT, body_html=BODY_HTML, audience={"addresses": addresses})


def submit(mailing) -> tuple[float, float]:
    """Submit through the real `mailing_submit`; returns (seconds, wall time of the enqueue)."""
    from mailing.mailings import services as submission

    enqueued = []
    real_enqueue = submission.enqueue_account

    def recording_enqueue(account_id, **kwargs):
        enqueued.append(time.time())
        real_enqueue(account_id, **kwargs)

    submission.enqueue_account = recording_enqueue
    try:
        started = time.perf_counter()
        submission.mailing_submit(mailing=mailing)
        elapsed = time.perf_counter() - started
    finally:
        submission.enqueue_account = real_enqueue
    return elapsed, enqueued[0] if enqueued else time.time()


@contextlib.contextmanager
def no_worker_queue():
    """For in-process runs: what submission enqueues goes to a queue nobody consumes."""
    from django.test import override_settings

    with override_settings(MAILING_QUEUE_BULK=f"bench-nobody-{uuid.uuid4().hex[:6]}"):
        yield


def prebuild(mailing) -> list[tuple[str, list[str], bytes, list[str]]]:
    """The mailing's messages as bytes, built by the project's renderer (not timed)."""
    from mailing.mailings.rendering import MailingRenderer, envelope_sender
    from mailing.models import Message

    renderer = MailingRenderer(mailing)
    built = []
    for message in Message.objects.filter(mailing=mailing).prefetch_related("recipients"):
        recipients = list(message.recipients.all())
        payload = renderer.build(message, recipients)
        # The same MAIL options the engine's SMTPConnection.send() gives.
        options = [] if payload.isascii() else ["SMTPUTF8", "BODY=8BITMIME"]
        built.append((envelope_sender(mailing.account, message.pk),
                      [r.email for r in recipients], payload, options))
    return built


# --- measurements ----------------------------------------------------------------------------

def wait_until_sent(mailing, worker_list, timeout: float) -> dict:
    from django.db.models import Max

    from mailing.models import Message, Recipient

    pending = [Message.Status.QUEUED, Message.Status.SENDING]
    deadline = time.monotonic() + timeout
    while Recipient.objects.filter(mailing=mailing, status__in=pending).exists():
        if time.monotonic() > deadline:
            raise RuntimeError(f"not every message was sent within {timeout:.0f} s")
        if not all(worker.alive() for worker in worker_list):
            raise RuntimeError("a worker exited during the run; see its log")
        time.sleep(0.2)
    statuses = Counter(Recipient.objects.filter(mailing=mailing)
                       .values_list("status", flat=True))
    last_sent = Message.objects.filter(mailing=mailing).aggregate(last=Max("sent_at"))["last"]
    return {"statuses": dict(statuses), "last_sent": last_sent.timestamp()}


def run_pipeline(tmp: Path, sink: Sink, user, n: int, *, connections: int, label: str) -> dict:
    account = make_account(sink.port, connections, label)
    mailing = make_mailing(account, user, n, label)
    worker = Worker(tmp, concurrency=connections, name=label)
    try:
        worker.wait_ready()
        sink.reset()
        cpu_before = worker.cpu_seconds()
        # Enqueues after commit, one task per connection the account may use.
        submit_seconds, first_enqueue = submit(mailing)
        outcome = wait_until_sent(mailing, [worker], timeout=120 + n / 20)
        cpu = worker.cpu_seconds() - cpu_before
        memory_mb, processes = worker.peak_memory_mb()
    finally:
        worker.stop()
    received = sink.stats()
    elapsed = outcome["last_sent"] - first_enqueue
    return {
        "mailing": mailing, "submit_s": submit_seconds, "elapsed_s": elapsed, "rate": n / elapsed,
        "latency_s": (received["first"] or first_enqueue) - first_enqueue,
        "steady_rate": ((received["messages"] - 1) / (received["last"] - received["first"])
                        if received["messages"] > 1 and received["last"] > received["first"]
                        else float("nan")),
        "cpu_ms": cpu * 1000 / n, "cpu_cores": cpu / elapsed, "memory_mb": memory_mb,
        "processes": processes, "statuses": outcome["statuses"],
        "received": received,
        "ok": received["messages"] == n and received["distinct_recipients"] == n
        and outcome["statuses"].get("sent") == n,
    }


def run_baseline(sink: Sink, built, connections: int) -> dict:
    sink.reset()
    chunks = [built[i::connections] for i in range(connections)]
    errors = []

    def send(chunk):
        try:
            smtp = smtplib.SMTP("127.0.0.1", sink.port)
            for sender, recipients, payload, options in chunk:
                smtp.sendmail(sender, recipients, payload, mail_options=options)
            smtp.quit()
        except Exception as error:  # noqa: BLE001 (reported below)
            errors.append(error)

    started = time.perf_counter()
    if connections == 1:
        send(chunks[0])
    else:
        threads = [threading.Thread(target=send, args=(chunk,)) for chunk in chunks]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    elapsed = time.perf_counter() - started
    received = sink.stats()
    n = len(built)
    return {"elapsed_s": elapsed, "rate": n / elapsed, "received": received,
            "errors": errors, "ok": not errors and received["messages"] == n
            and received["distinct_recipients"] == n}


class QueryCounter:
    """An execute_wrapper: counts statements by kind and table, and their time."""

    def __init__(self):
        self.total = 0
        self.seconds = 0.0
        self.kinds = Counter()

    def __call__(self, execute, sql, params, many, context):
        self.total += 1
        words = sql.split()
        kind = words[0].upper() if words else "?"
        table = ""
        for keyword in ("UPDATE", "FROM", "INTO"):
            # (not the UPDATE of a trailing "FOR UPDATE")
            if keyword in words[:-1]:
                table = words[words.index(keyword) + 1].strip('"')
                break
        self.kinds[f"{kind} {table}".strip()] += 1
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.seconds += time.perf_counter() - started


@contextlib.contextmanager
def stage_timers():
    """Wall time spent in the engine's main stages (wrappers put back afterwards)."""
    from mailing.engine import loop as engine
    from mailing.mailings.rendering import MailingRenderer
    from mailing.sending_accounts.smtp import SMTPConnection

    spent: Counter = Counter()
    # Time spent in a timed stage called from another (the next message rendered while the
    # server answers, inside SMTPConnection.send) counts for the inner stage only.
    nested: list[float] = []
    patched = [(MailingRenderer, "build", "render (MailingRenderer.build)"),
               (SMTPConnection, "send", "SMTP transaction (SMTPConnection.send)"),
               (engine, "_record_sent", "record result + next in flight (_record_sent)"),
               (engine, "claim", "claim batches (claim)")]
    originals = []
    for owner, name, label in patched:
        original = owner.__dict__[name]
        originals.append((owner, name, original))

        def timed(*args, _original=original, _label=label, **kwargs):
            started = time.perf_counter()
            nested.append(0.0)
            try:
                return _original(*args, **kwargs)
            finally:
                elapsed = time.perf_counter() - started
                spent[_label] += elapsed - nested.pop()
                if nested:
                    nested[-1] += elapsed

        setattr(owner, name, timed)
    try:
        yield spent
    finally:
        for owner, name, original in originals:
            setattr(owner, name, original)


def run_in_process(sink: Sink, user, n: int, *, profile: bool) -> dict:
    """send_account_work in this process: SQL queries per message, where the time goes,
    and (optionally, on a second mailing) a cProfile."""
    from django.db import connection

    from mailing.engine import send_account_work
    from mailing.models import Recipient

    def prepared(label):
        account = make_account(sink.port, 1, label)
        mailing = make_mailing(account, user, n, label)
        with no_worker_queue():
            submit(mailing)
        sink.reset()
        return account, mailing

    account, mailing = prepared("inproc")
    counter = QueryCounter()
    with stage_timers() as spent, connection.execute_wrapper(counter):
        started = time.perf_counter()
        send_account_work(account.pk)
        elapsed = time.perf_counter() - started
    ok = (Recipient.objects.filter(mailing=mailing, status="sent").count() == n
          and sink.stats()["messages"] == n)
    stages = {label: seconds * 1000 / n for label, seconds in spent.items()}
    stages["everything else (loop, leases, ORM)"] = (
        elapsed * 1000 / n - sum(stages.values()))
    report = ""
    if profile:
        account, mailing = prepared("profile")
        profiler = cProfile.Profile()
        profiler.enable()
        send_account_work(account.pk)
        profiler.disable()
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out).strip_dirs()
        stats.sort_stats("cumulative").print_stats(20)
        stats.sort_stats("tottime").print_stats(10)
        report = out.getvalue()
    return {"n": n, "queries": counter.total, "per_message": counter.total / n,
            "sql_ms": counter.seconds * 1000 / n, "kinds": counter.kinds, "rate": n / elapsed,
            "ms": elapsed * 1000 / n, "stages": stages, "ok": ok, "profile": report}


def time_submission(sink: Sink, user, n: int) -> float:
    """Submission alone (nothing sent): the mailing is cancelled right after."""
    from mailing.mailings.services import mailing_cancel

    account = make_account(sink.port, 1, "submit")
    mailing = make_mailing(account, user, n, "submit")
    with no_worker_queue():
        seconds, _ = submit(mailing)
    mailing_cancel(mailing=mailing)
    return seconds


# --- report ----------------------------------------------------------------------------------

def verdict(met: bool | None) -> str:
    return "n/a" if met is None else ("MET" if met else "NOT MET")


def print_report(args, r: dict) -> None:
    from django.conf import settings

    n = args.n
    p0, b0, p5, b5 = r["p0"], r["b0"], r["p5"], r["b5"]
    ratio0, ratio5 = p0["rate"] / b0["rate"], p5["rate"] / b5["rate"]
    size = b0["received"]["bytes"] / max(1, b0["received"]["messages"])
    line = "-" * 96
    print()
    print(f"Eduka Mail sending benchmark: N = {n:,} mail-merge messages "
          f"(avg {size / 1024:.1f} KB, text + HTML, per-recipient subject and body)")
    print(f"SQLite (WAL) + file-system broker, prefork worker, MAILING_BATCH_SIZE="
          f"{settings.MAILING_BATCH_SIZE}; sink bench/sink.py on 127.0.0.1:{args.port} "
          f"({'without' if args.no_pipelining else 'with'} PIPELINING); "
          f"{os.cpu_count()} CPUs")
    print(line)
    print(f"{'run':<34}{'pipeline msg/s':>15}{'baseline msg/s':>16}{'ratio':>8}"
          f"{'target':>9}  verdict")
    print(line)
    print(f"{'sink 0 ms, 1 connection':<34}{p0['rate']:>15.0f}{b0['rate']:>16.0f}"
          f"{ratio0:>8.2f}{'>= 0.40':>9}  {verdict(ratio0 >= TARGETS['ratio_0ms'])}")
    print(f"{'sink 5 ms, 4 connections':<34}{p5['rate']:>15.0f}{b5['rate']:>16.0f}"
          f"{ratio5:>8.2f}{'>= 0.80':>9}  {verdict(ratio5 >= TARGETS['ratio_5ms'])}")
    print(line)
    print("pipeline = N / (first enqueue -> last message sent and recorded), "
          "baseline = N / smtplib send time")
    for label, p in (("0 ms", p0), ("5 ms", p5)):
        print(f"  {label}: {p['elapsed_s']:.2f} s end to end; enqueue -> first message at sink "
              f"{p['latency_s']:.2f} s; steady rate at sink (first -> last) "
              f"{p['steady_rate']:.0f} msg/s")
        print(f"        worker CPU {p['cpu_ms']:.1f} ms per message, "
              f"{p['cpu_cores']:.2f} of {os.cpu_count()} cores busy on average")
    print(line)
    submit_big = r.get("submit_20k")
    big_n = n if n >= 20000 else 20000
    big_s = p0["submit_s"] if n >= 20000 else submit_big
    if n != big_n:
        print(f"{'submission of ' + format(n, ',') + ' recipients':<50}{p0['submit_s']:>8.2f} s")
    if big_s is not None:
        print(f"{'submission of ' + format(big_n, ',') + ' recipients (SQLite)':<50}"
              f"{big_s:>8.2f} s   target < 5 s: {verdict(big_s < TARGETS['submit_20k_s'])}")
    print(f"{'worker peak memory, 0 ms run (max VmHWM)':<50}{p0['memory_mb']:>8.1f} MB "
          f"({p0['processes']} processes)")
    print(f"{'worker peak memory, 5 ms run (max VmHWM)':<50}{p5['memory_mb']:>8.1f} MB "
          f"({p5['processes']} processes)")
    reference = r.get("memory_2000")
    if reference:
        growth = p0["memory_mb"] / reference
        print(f"{'worker peak memory N=' + format(n, ',') + ' / N=2,000':<50}{growth:>8.2f}"
              f"     ({p0['memory_mb']:.1f} / {reference:.1f} MB)   target <= 1.2: "
              f"{verdict(growth <= TARGETS['memory_growth'])}")
    else:
        print(f"{'worker peak memory N=20,000 / N=2,000':<50}{'n/a':>8}     "
              "(run with --n 20000)")
    q = r["queries"]
    print(f"{'SQL queries per message (in-process, ' + format(q['n'], ',') + ' msgs)':<50}"
          f"{q['per_message']:>8.2f}     ({q['queries']:,} statements)")
    top = ", ".join(f"{kind} {count / q['n']:.2f}" for kind, count in q["kinds"].most_common(6))
    print(f"  per message: {top}")
    print(f"in-process send_account_work: {q['ms']:.2f} ms per message "
          f"({q['rate']:.0f} msg/s), of which:")
    for label, ms in q["stages"].items():
        print(f"  {label:<50}{ms:>8.2f} ms")
    print(f"  (SQL statements executing, across all stages: {q['sql_ms']:.2f} ms)")
    print(line)
    checks = {"pipeline 0 ms": p0["ok"], "baseline 0 ms": b0["ok"], "pipeline 5 ms": p5["ok"],
              "baseline 5 ms": b5["ok"], "in-process": q["ok"]}
    print("every message arrived (sink count = distinct recipients = N, statuses 'sent'): "
          + ", ".join(f"{name} {'yes' if ok else 'NO'}" for name, ok in checks.items()))
    for name, p in (("pipeline 0 ms", p0), ("pipeline 5 ms", p5)):
        if not p["ok"]:
            print(f"  {name}: statuses {p['statuses']}, sink {p['received']}")
    for name, b in (("baseline 0 ms", b0), ("baseline 5 ms", b5)):
        if b["errors"]:
            print(f"  {name}: errors {b['errors'][:3]}")
    if q["profile"]:
        print(line)
        print("cProfile of send_account_work (in-process):")
        print(q["profile"])


def main() -> int:
    parser = argparse.ArgumentParser(description="Sending benchmark (prints figures).")
    parser.add_argument("--n", type=int, default=2000, help="messages per run (default 2000)")
    parser.add_argument("--batch-size", type=int, default=None,
                        help="MAILING_BATCH_SIZE for the worker (default: the project's)")
    parser.add_argument("--inproc-n", type=int, default=500,
                        help="messages of the in-process run counting SQL queries")
    parser.add_argument("--delay-ms", type=float, default=5.0, help="the slow sink's delay")
    parser.add_argument("--no-pipelining", action="store_true",
                        help="the sink withholds PIPELINING (the baseline never uses it)")
    parser.add_argument("--profile", action="store_true",
                        help="print a cProfile of the in-process send_account_work")
    parser.add_argument("--keep", action="store_true",
                        help="keep the temporary folder (database, worker logs)")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="eduka-bench-"))
    configure_environment(tmp, args.batch_size)
    print(f"Setting up a throw-away database and broker in {tmp} ...", flush=True)
    migrate()
    import django

    django.setup()

    sink = Sink(delay_ms=0, pipelining=not args.no_pipelining)
    args.port = sink.port
    results: dict = {}
    try:
        user = create_fixtures()
        n = args.n
        print(f"[1/6] pipeline, sink 0 ms, 1 connection, N={n:,} ...", flush=True)
        results["p0"] = run_pipeline(tmp, sink, user, n, connections=1, label="p0")
        print("[2/6] baseline, sink 0 ms, 1 connection ...", flush=True)
        built = prebuild(results["p0"]["mailing"])
        results["b0"] = run_baseline(sink, built, 1)
        print(f"[3/6] in-process send_account_work, {args.inproc_n} messages ...", flush=True)
        results["queries"] = run_in_process(sink, user, min(args.inproc_n, n),
                                            profile=args.profile)
        print(f"[4/6] pipeline, sink {args.delay_ms:g} ms, 4 connections ...", flush=True)
        sink.set_delay(args.delay_ms)
        results["p5"] = run_pipeline(tmp, sink, user, n, connections=4, label="p5")
        print(f"[5/6] baseline, sink {args.delay_ms:g} ms, 4 connections ...", flush=True)
        results["b5"] = run_baseline(sink, built, 4)
        sink.set_delay(0)
        if n < 20000:
            print("[6/6] submission of 20,000 recipients (not sent) ...", flush=True)
            results["submit_20k"] = time_submission(sink, user, 20000)
        if n > 2000:
            print("[6/6] reference worker memory at N=2,000 ...", flush=True)
            results["memory_2000"] = run_pipeline(tmp, sink, user, 2000, connections=1,
                                                  label="ref")["memory_mb"]
        print_report(args, results)
    finally:
        sink.close()
        if args.keep:
            print(f"(kept {tmp})")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
