"""The sending benchmark on the production stack: PostgreSQL, Redis, several worker processes.

    python bench/prod.py [--n 100000] [--workers 4] [--connections 4] [--delay-ms 20]
    make bench STACK=prod [N=100000]

The same workload as bench/run.py (mail-merge messages of about 4.4 KB through the real
`mailing_submit`, broker, `celery -A eduka worker` processes, SMTP to bench/sink.py, statuses
recorded), but on the database and broker that production uses: PostgreSQL from DATABASE_URL
(a throw-away database is created beside the one named there, and dropped at the end) and Redis
from CELERY_BROKER_URL (queues of this run's own). W worker processes (default 4), each with C
pool processes (default 4): W x C SMTP connections on one account. The baseline, in the same
run and on the same sink, is plain smtplib over the same number of connections (threads).

While the big mailing sends, the real WSGI application (gunicorn, over HTTP) is asked for the
mailing page, its live-progress endpoint, a filtered recipient list and the CSV export, as staff
refreshing their screens would: p50/p95 response times are printed, with each screen's SQL
statement count (measured in-process on the same data).

Speed is never asserted: figures are printed, with whether the targets are met. The exit
status says whether every message arrived once and the kept counts are exact (CI runs it).
"""

import argparse
import contextlib
import http.client
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from pathlib import Path
from urllib.parse import urlparse, urlunparse

sys.path.insert(0, str(Path(__file__).resolve().parent))

import run as common  # noqa: E402 (bench/run.py: sink, workers, fixtures, measurements)

ROOT = common.ROOT
TARGETS = {"ratio_20ms": 0.8, "submit_100k_s": 10.0, "memory_growth": 1.1, "screen_p95_ms": 200}
SCREENS = ("mailing page", "progress endpoint", "picture (cached 10 s)", "filtered recipients",
           "CSV export")


# --- environment -----------------------------------------------------------------------------

def _admin_url() -> str:
    return os.environ.get("DATABASE_URL") or "postgres://postgres@127.0.0.1:5432/postgres"


def create_database() -> tuple[str, str]:
    """A throw-away PostgreSQL database beside DATABASE_URL's; returns (its URL, its name)."""
    import psycopg

    admin = urlparse(_admin_url())
    if not admin.scheme.startswith("postgres"):
        raise SystemExit("STACK=prod needs a PostgreSQL DATABASE_URL (postgres://...).")
    name = f"eduka_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(urlunparse(admin._replace(path="/postgres")), autocommit=True) as db:
        db.execute(f'CREATE DATABASE "{name}"')
    return urlunparse(admin._replace(path=f"/{name}")), name


def drop_database(name: str) -> None:
    import psycopg

    admin = urlparse(_admin_url())
    with psycopg.connect(urlunparse(admin._replace(path="/postgres")), autocommit=True) as db:
        db.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def configure_environment(tmp: Path, database_url: str, batch_size: int | None) -> None:
    broker = os.environ.get("CELERY_BROKER_URL") or "redis://127.0.0.1:6379/0"
    if not broker.startswith("redis"):
        raise SystemExit("STACK=prod needs a Redis CELERY_BROKER_URL (redis://...).")
    common.configure_environment(
        tmp, batch_size, DATABASE_URL=database_url, DATABASE_CONN_MAX_AGE="60",
        CELERY_BROKER_URL=broker, ALLOWED_HOSTS="127.0.0.1,localhost,testserver")


# --- the pipeline on several workers ---------------------------------------------------------

class DatabaseCpu:
    """CPU time of this machine's PostgreSQL processes over a run (CI's service runs here).
    Backends come and go with the workers' connections: sampled every 0.2 s, a process first
    seen during the run counting from zero. None when no PostgreSQL process is visible."""

    def __init__(self):
        self.first: dict[int, float] = {}
        self.last: dict[int, float] = {}
        self.done = threading.Event()
        self.sample(started=False)
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def sample(self, started: bool = True) -> None:
        for entry in Path("/proc").iterdir():
            try:
                command = (entry / "cmdline").read_bytes().split(b"\0")[0]
            except OSError:
                continue
            if entry.name.isdigit() and b"postgres" in command:
                pid = int(entry.name)
                self.last[pid] = common._cpu_seconds(pid)
                self.first.setdefault(pid, 0.0 if started else self.last[pid])

    def run(self) -> None:
        while not self.done.wait(0.2):
            self.sample()

    def stop(self) -> float | None:
        self.done.set()
        self.thread.join()
        self.sample()
        return sum(self.last[pid] - self.first[pid] for pid in self.last) if self.last else None


def run_pipeline(tmp: Path, sink, user, n: int, *, workers: int, connections: int,
                 label: str, nice: int = 0, during=None) -> dict:
    """W workers x C pool processes on one account of W x C connections. `during(mailing)`,
    if given, runs in a thread while the mailing sends and its result is returned too."""
    account = common.make_account(sink.port, workers * connections, label)
    account.users.add(user)  # so that the screens show its history
    mailing = common.make_mailing(account, user, n, label)
    pool = [common.Worker(tmp, concurrency=connections, name=f"{label}{i}", nice=nice)
            for i in range(workers)]
    observed = {}
    try:
        for worker in pool:
            worker.wait_ready()
        sink.reset()
        cpu_before = sum(worker.cpu_seconds() for worker in pool)
        submit_seconds, first_enqueue = common.submit(mailing)
        database_cpu = DatabaseCpu()  # from the submission's commit
        watcher = None
        if during is not None:
            watcher = threading.Thread(target=lambda: observed.update(during(mailing)))
            watcher.start()
        outcome = common.wait_until_sent(mailing, pool, timeout=300 + n / 10)
        if watcher is not None:
            watcher.join()
        cpu = sum(worker.cpu_seconds() for worker in pool) - cpu_before
        database_seconds = database_cpu.stop()
        memory_mb = max(worker.peak_memory_mb()[0] for worker in pool)
    finally:
        for worker in pool:
            worker.stop()
    received = sink.stats()
    elapsed = outcome["last_sent"] - first_enqueue
    from mailing.mailings.selectors import mailing_counts, mailing_counts_mismatches

    return {
        "mailing": mailing, "submit_s": submit_seconds, "elapsed_s": elapsed, "rate": n / elapsed,
        "cpu_ms": cpu * 1000 / n, "memory_mb": memory_mb,
        # In the slow run, with the screens' statements.
        "database_cpu_ms": None if database_seconds is None else database_seconds * 1000 / n,
        "statuses": outcome["statuses"],
        "received": received, "screens": observed,
        # The counts the database kept while the workers wrote, against a full count.
        "counts": mailing_counts(mailing), "count_mismatches": mailing_counts_mismatches(mailing),
        "ok": received["messages"] == n and received["distinct_recipients"] == n
        and outcome["statuses"].get("sent") == n,
    }


def run_baseline(sink, built, connections: int) -> dict:
    return common.run_baseline(sink, built, connections)


# --- the screens during a big send -----------------------------------------------------------

class WebServer:
    """The real WSGI application under gunicorn, on this run's database."""

    def __init__(self, tmp: Path):
        import socket

        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.log = open(tmp / "gunicorn.log", "w")  # noqa: SIM115 (closed in stop())
        self.process = subprocess.Popen(  # noqa: S603 (our own interpreter, fixed arguments)
            [sys.executable, "-m", "gunicorn", "eduka.wsgi:application", "--bind",
             f"127.0.0.1:{self.port}", "--workers", "2", "--access-logfile", "-"],
            cwd=ROOT, stdout=self.log, stderr=subprocess.STDOUT, env=os.environ.copy(),
            start_new_session=True)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError):
                urllib.request.urlopen(f"http://127.0.0.1:{self.port}/", timeout=2)  # noqa: S310
                return
            time.sleep(0.2)
        raise RuntimeError("gunicorn did not start; see gunicorn.log")

    def stop(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        self.process.wait(timeout=30)
        self.log.close()


def screen_urls(mailing) -> dict[str, str]:
    return {"mailing page": f"/emails/{mailing.pk}/",
            "progress endpoint": f"/emails/{mailing.pk}/progress/",
            "picture (cached 10 s)": f"/emails/{mailing.pk}/picture/",
            "filtered recipients": f"/emails/{mailing.pk}/?status=sent&page=3",
            "CSV export": f"/emails/{mailing.pk}/export.csv"}


def session_cookie(user) -> str:
    from django.test import Client

    client = Client()
    client.force_login(user)
    return client.cookies["sessionid"].value


def watch_screens(web: WebServer, cookie: str):
    """What staff refreshing their screens see while the mailing sends: every screen in
    turn, the CSV export every fourth round (it reads every row)."""
    def watch(mailing) -> dict:
        from mailing.models import Message, Recipient

        times: dict[str, list[float]] = {name: [] for name in SCREENS}
        failed: dict[str, list[str]] = {name: [] for name in SCREENS}
        csv_bytes = 0
        pending = [Message.Status.QUEUED, Message.Status.SENDING]
        round_number = 0
        while Recipient.objects.filter(mailing=mailing, status__in=pending).exists():
            for name, path in screen_urls(mailing).items():
                if name == "CSV export" and round_number % 4:
                    continue
                request = urllib.request.Request(f"http://127.0.0.1:{web.port}{path}",
                                                 headers={"Cookie": f"sessionid={cookie}"})
                started = time.perf_counter()
                try:
                    with urllib.request.urlopen(request, timeout=120) as response:  # noqa: S310
                        body = response.read()
                except (OSError, http.client.HTTPException) as error:
                    # Cut off (timeout, reset, an error page): counted, never dropped.
                    failed[name].append(f"{type(error).__name__}: {error}"[:200])
                    continue
                times[name].append((time.perf_counter() - started) * 1000)
                if name == "CSV export":
                    csv_bytes = len(body)
            round_number += 1
            time.sleep(0.2)
        return {"times": times, "failed": failed, "csv_bytes": csv_bytes}

    return watch


def screen_queries(user, mailing) -> dict[str, tuple[int, float]]:
    """SQL statements per screen, and its time once the workers are done (what the screen
    costs by itself, without 16 sending processes on the same cores), in-process on the same
    data: the best of three (the picture is then cached, as for staff refreshing it)."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client()
    client.force_login(user)
    counts = {}
    for name, path in screen_urls(mailing).items():
        best, statements = float("inf"), []
        for _attempt in range(3):
            with CaptureQueriesContext(connection) as captured:
                started = time.perf_counter()
                response = client.get(path)
                if getattr(response, "streaming", False):
                    for _ in response.streaming_content:
                        pass
                best = min(best, (time.perf_counter() - started) * 1000)
            statements.append(len(captured))
        counts[name] = (statements[0], best)  # the first, uncached, asks the most
    return counts


def export_python_peak_mb(mailing) -> float:
    """What the CSV export itself holds at most while it streams every row (tracemalloc, in
    process): constant in N when the export streams."""
    import tracemalloc

    from mailing.mailings.export import csv_lines

    tracemalloc.start()
    try:
        for _block in csv_lines(mailing):
            pass
        return tracemalloc.get_traced_memory()[1] / 1e6
    finally:
        tracemalloc.stop()


def web_memory_mb(web: WebServer) -> float:
    pids = [web.process.pid, *common._children(web.process.pid)]
    return max(common._peak_rss_kb(pid) for pid in pids) / 1024


# --- report ----------------------------------------------------------------------------------

def percentile(values: list[float], share: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def print_report(args, r: dict) -> bool:
    """Print every figure; returns whether every message arrived and every kept count is
    exact (the run's exit status: a run that loses mail fails, whatever its speed)."""
    n, w, c = args.n, args.workers, args.connections
    line = "-" * 100
    p0, b0, p20, b20 = r["p0"], r["b0"], r["p20"], r["b20"]
    ratio0, ratio20 = p0["rate"] / b0["rate"], p20["rate"] / b20["rate"]
    verdict = common.verdict
    print()
    print(f"Eduka Mail sending benchmark, production stack: N = {n:,} mail-merge messages, "
          f"PostgreSQL + Redis, {w} workers x {c} connections, {os.cpu_count()} CPUs")
    print(line)
    print(f"{'run':<40}{'pipeline msg/s':>15}{'baseline msg/s':>16}{'ratio':>8}  target")
    print(line)
    print(f"{'sink 0 ms, ' + str(w * c) + ' connections':<40}{p0['rate']:>15.0f}"
          f"{b0['rate']:>16.0f}{ratio0:>8.2f}  (figure)")
    print(f"{'sink ' + format(args.delay_ms, 'g') + ' ms, ' + str(w * c) + ' connections':<40}"
          f"{p20['rate']:>15.0f}{b20['rate']:>16.0f}{ratio20:>8.2f}  >= 0.80: "
          f"{verdict(ratio20 >= TARGETS['ratio_20ms'])}")
    print(line)
    for label, p in (("0 ms", p0), (f"{args.delay_ms:g} ms", p20)):
        database = ("n/a" if p["database_cpu_ms"] is None
                    else f"{p['database_cpu_ms']:.2f} ms")
        print(f"  {label}: {p['elapsed_s']:.1f} s end to end, CPU per message: workers "
              f"{p['cpu_ms']:.2f} ms, PostgreSQL {database}; peak worker memory "
              f"{p['memory_mb']:.1f} MB")
    print(f"{'submission of ' + format(n, ',') + ' recipients':<50}{p0['submit_s']:>8.2f} s"
          + (f"   target < 10 s: {verdict(p0['submit_s'] < TARGETS['submit_100k_s'])}"
             if n >= 100_000 else ""))
    reference = r.get("memory_10k")
    if reference:
        growth = p0["memory_mb"] / reference
        print(f"{'worker memory N=' + format(n, ',') + ' / N=10,000':<50}{growth:>8.2f}     "
              f"({p0['memory_mb']:.1f} / {reference:.1f} MB)   target <= 1.1: "
              f"{verdict(growth <= TARGETS['memory_growth'])}")
    for size, q in r["queries"].items():
        print(f"{'SQL statements per message (in-process, N=' + format(size, ',') + ')':<50}"
              f"{q['per_message']:>8.2f}")
    print(line)
    screens = p20["screens"]
    sql = r["screen_sql"]
    print(f"screens while {n:,} recipients send (gunicorn, 2 workers, over HTTP; sending "
          f"workers at nice {args.worker_nice}):")
    print(f"  {'screen':<22}{'requests':>9}{'failed':>7}{'p50 ms':>9}{'p95 ms':>9}"
          f"{'SQL':>5}{'at rest':>9}  target")
    for name in SCREENS:
        values = screens.get("times", {}).get(name, [])
        failures = screens.get("failed", {}).get(name, [])
        target = ""
        if name in ("mailing page", "progress endpoint"):
            met = percentile(values, 0.95) < TARGETS["screen_p95_ms"] and not failures
            target = f"p95 < 200 ms: {verdict(met)}"
        statements, at_rest = sql.get(name, (0, float("nan")))
        print(f"  {name:<22}{len(values) + len(failures):>9}{len(failures):>7}"
              f"{percentile(values, 0.5):>9.0f}{percentile(values, 0.95):>9.0f}{statements:>5}"
              f"{at_rest:>7.0f} ms  {target}")
        for failure in sorted(set(failures))[:3]:
            print(f"      failed: {failure}")
    exports = len(screens.get("times", {}).get("CSV export", []))
    print(f"  CSV export: {screens.get('csv_bytes', 0) / 1e6:.1f} MB; web process peak memory "
          f"{r['web_memory_mb']:.0f} MB (after {exports} exports); the export's own peak "
          f"{r['export_peak_mb']:.1f} MB of Python objects (in-process, constant when streamed)")
    print(line)
    checks = {"pipeline 0 ms": p0["ok"], "baseline 0 ms": b0["ok"],
              f"pipeline {args.delay_ms:g} ms": p20["ok"],
              f"baseline {args.delay_ms:g} ms": b20["ok"]}
    print("every message arrived (sink count = distinct recipients = N, statuses 'sent'): "
          + ", ".join(f"{name} {'yes' if ok else 'NO'}" for name, ok in checks.items()))
    for name, p in (("pipeline 0 ms", p0), ("pipeline slow", p20)):
        if not p["ok"]:
            print(f"  {name}: statuses {p['statuses']}, sink {p['received']}")
    print("kept recipient counts equal a full count of the recipients: " + ", ".join(
        f"pipeline {label} {'yes' if not p['count_mismatches'] else 'NO'} "
        f"({p['counts']['sent']:,} sent of {p['counts']['total']:,})"
        for label, p in (("0 ms", p0), (f"{args.delay_ms:g} ms", p20))))
    for label, p in (("0 ms", p0), (f"{args.delay_ms:g} ms", p20)):
        if p["count_mismatches"]:
            print(f"  pipeline {label}: (kept, counted) by status {p['count_mismatches']}")
    return all(checks.values()) and not p0["count_mismatches"] and not p20["count_mismatches"]


def main() -> int:
    parser = argparse.ArgumentParser(description="Sending benchmark on PostgreSQL + Redis.")
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--workers", type=int, default=4, help="worker processes (W)")
    parser.add_argument("--connections", type=int, default=4,
                        help="pool processes, so SMTP connections, per worker (C)")
    parser.add_argument("--delay-ms", type=float, default=20.0, help="the slow sink's delay")
    parser.add_argument("--batch-size", type=int, default=None)
    parser.add_argument("--keep", action="store_true", help="keep the database and logs")
    parser.add_argument("--worker-nice", type=int, default=10, help=(
        "CPU niceness of the worker processes, standing for the machines of their own that "
        "production gives them; 0 to let them compete with the web process for the CPUs"))
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="eduka-bench-prod-"))
    database_url, database = create_database()
    configure_environment(tmp, database_url, args.batch_size)
    print(f"Throw-away database {database}, logs in {tmp} ...", flush=True)
    results: dict = {}
    sink = web = None
    complete = False
    try:
        common.migrate()
        import django

        django.setup()
        sink = common.Sink(delay_ms=0)
        user = common.create_fixtures()
        from accounts.models import Profile

        user.profile = Profile.objects.get(code=Profile.ADMIN)
        user.save()
        n, w, c = args.n, args.workers, args.connections
        print(f"[1/6] pipeline, sink 0 ms, {w} x {c} connections, N={n:,} ...", flush=True)
        results["p0"] = run_pipeline(tmp, sink, user, n, workers=w, connections=c, label="p0",
                                     nice=args.worker_nice)
        print(f"[2/6] baseline, sink 0 ms, {w * c} connections ...", flush=True)
        built = common.prebuild(results["p0"]["mailing"])
        results["b0"] = run_baseline(sink, built, w * c)
        print("[3/6] in-process SQL statements per message ...", flush=True)
        results["queries"] = {size: common.run_in_process(sink, user, size, profile=False)
                              for size in (500, 2000)}
        print(f"[4/6] pipeline, sink {args.delay_ms:g} ms, {w} x {c} connections, with the "
              "screens asked all along ...", flush=True)
        web = WebServer(tmp)
        sink.set_delay(args.delay_ms)
        results["p20"] = run_pipeline(tmp, sink, user, n, workers=w, connections=c,
                                      label="p20", nice=args.worker_nice,
                                      during=watch_screens(web, session_cookie(user)))
        results["web_memory_mb"] = web_memory_mb(web)
        results["screen_sql"] = screen_queries(user, results["p20"]["mailing"])
        results["export_peak_mb"] = export_python_peak_mb(results["p20"]["mailing"])
        print(f"[5/6] baseline, sink {args.delay_ms:g} ms, {w * c} connections ...", flush=True)
        results["b20"] = run_baseline(sink, built, w * c)
        sink.set_delay(0)
        if n > 10_000:
            print("[6/6] reference worker memory at N=10,000 ...", flush=True)
            results["memory_10k"] = run_pipeline(tmp, sink, user, 10_000, workers=w,
                                                 connections=c, label="ref",
                                                 nice=args.worker_nice)["memory_mb"]
        complete = print_report(args, results)
    finally:
        if web is not None:
            web.stop()
        if sink is not None:
            sink.close()
        from django.db import connections

        connections.close_all()
        if args.keep:
            print(f"(kept {tmp} and database {database})")
        else:
            drop_database(database)
            shutil.rmtree(tmp, ignore_errors=True)
    if not complete:
        print("FAILED: a message did not arrive, or a kept count is wrong (see above).")
    return 0 if complete else 1


if __name__ == "__main__":
    sys.exit(main())
