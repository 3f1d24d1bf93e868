"""Start real Celery worker processes for tests that are about workers.

The worker is a separate `celery -A eduka worker` process talking to the same broker as the test
(Redis when CELERY_BROKER_URL says so, as in CI; otherwise the file-system transport in a temporary
folder), on a queue of its own so that parallel runs never steal each other's tasks.
"""

import contextlib
import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path

from django.conf import settings

from eduka.celery import app


def database_url() -> str:
    """The test database, as a URL a worker process can open."""
    from django.db import connection

    config = connection.settings_dict
    if config["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{config['NAME']}"
    auth = config["USER"] + (f":{config['PASSWORD']}" if config.get("PASSWORD") else "")
    return f"postgres://{auth}@{config['HOST'] or '127.0.0.1'}:{config['PORT'] or 5432}/" \
           f"{config['NAME']}"


def broker_config(tmp_path: Path, shared: Path | None = None) -> tuple[dict, dict]:
    """The Celery settings and the matching environment for a worker process. Workers given
    the same `shared` folder share one file-system broker, as workers share Redis."""
    broker_url = os.environ.get("CELERY_BROKER_URL", "filesystem://")
    env = {"CELERY_BROKER_URL": broker_url}
    conf = {"broker_url": broker_url}
    if broker_url.startswith("filesystem://"):
        folder = (shared or tmp_path) / "broker"
        for sub in ("queue", "control"):
            (folder / sub).mkdir(parents=True, exist_ok=True)
        env["CELERY_BROKER_FOLDER"] = str(folder)
        conf["broker_transport_options"] = {
            "data_folder_in": str(folder / "queue"), "data_folder_out": str(folder / "queue"),
            "control_folder": str(folder / "control"), "store_processed": False,
        }
        results = f"file://{tmp_path / 'results'}"
        (tmp_path / "results").mkdir(exist_ok=True)
    else:
        results = os.environ.get("CELERY_TEST_RESULT_BACKEND", broker_url)
    env["CELERY_RESULT_BACKEND"] = results
    env["DATABASE_URL"] = database_url()
    conf["result_backend"] = results
    return conf, env


def _reset_connections():
    """Producer pools are bound to the broker they were made for: rebuild them after the
    broker settings change, so that the next task goes where the worker listens."""
    from kombu import pools

    if app._pool is not None:
        app._pool.force_close_all()
    app._pool = None
    app.amqp._producer_pool = None
    pools.reset()
    # The result backend is cached too (per thread unless thread-safe).
    app._backend_cache = None
    app._local.__dict__.pop("backend", None)


def can_name_hosts() -> bool:
    """Whether a worker can be started under a host name of its own (a UTS namespace, which
    needs root or user namespaces): how tests stand for workers on several machines."""
    try:
        return subprocess.run(["unshare", "--uts", "hostname", "eduka-probe"],  # noqa: S607
                              capture_output=True, timeout=10).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


@contextlib.contextmanager
def running_worker(tmp_path: Path, *, concurrency: int = 1, extra_env: dict | None = None,
                   queues: str = "", shared_broker: Path | None = None, host: str = ""):
    """Yield (queue name, process) for a live worker; the app in this process targets it.
    Several workers of one test pass the same `shared_broker` folder. With `host`, the worker
    runs under that host name (its own UTS namespace; see can_name_hosts), as on a machine of
    its own: the engine names its claims, slots and heartbeats after it, and says it in EHLO."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    conf, env = broker_config(tmp_path, shared_broker)
    queue = f"test-{uuid.uuid4().hex[:12]}"
    saved = {key: app.conf.get(key) for key in conf}
    app.conf.update(conf)
    _reset_connections()
    log = open(tmp_path / f"worker-{queue}.log", "w")  # noqa: SIM115 (closed below)
    command = [sys.executable, "-m", "celery", "-A", "eduka", "worker", "--loglevel", "INFO",
               "--concurrency", str(concurrency), "--pool", "prefork", "-Q", queues or queue,
               "--hostname", f"{queue}@{host or '%h'}", "--without-gossip", "--without-mingle"]
    if host:
        # unshare and sh exec in turn: the worker keeps the pid (and group) started here.
        command = ["unshare", "--uts", "sh", "-c", 'hostname "$0" && exec "$@"', host, *command]
    process = subprocess.Popen(
        command,
        cwd=settings.BASE_DIR, stdout=log, stderr=subprocess.STDOUT,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "eduka.settings.test", **env,
             **(extra_env or {})},
        start_new_session=True,
    )
    try:
        yield queue, process
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        log.close()
        app.conf.update(saved)
        _reset_connections()
