"""Settings for the test suite: the same code paths as production, with fast hashing.

DATABASE_URL, CELERY_BROKER_URL and REDIS_URL come from the environment as everywhere else,
so that CI runs the same suite on PostgreSQL and Redis.
"""

from .base import *  # noqa: F403
from .base import VAR_DIR, env, env_list_secret

DEBUG = False
SECRET_KEY = "test-only-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz"  # noqa: S105
ALLOWED_HOSTS = ["testserver", "127.0.0.1", "localhost"]
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
FIELD_ENCRYPTION_KEYS = env_list_secret("FIELD_ENCRYPTION_KEYS") or [
    "dGVzdC1vbmx5LWZpZWxkLWtleS1mb3ItdGVzdHMhISE="
]
MAILERS = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}
LANGUAGE_CODE = env.str("TEST_LANGUAGE_CODE", default="fr")
MAIL_CATCHER_DIR = None
# The tests' SMTP servers listen on 127.0.0.1.
SMTP_ALLOW_INTERNAL_HOSTS = True
# ... on ephemeral ports.
SMTP_ALLOWED_EXTRA_PORTS = ["1024-65535"]
SMTP_TIMEOUT = env.float("SMTP_TIMEOUT", default=5.0)
SMTP_TEST_TIMEOUT = 3.0
MAILING_LEASE_SECONDS = env.int("MAILING_LEASE_SECONDS", default=30)
MAILING_TASK_BUDGET = env.float("MAILING_TASK_BUDGET", default=60.0)

# Tests that run real worker processes need a database those processes can open too.
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test-db.sqlite3")}  # noqa: F405
CHANGE_ALERT_DELAY_SECONDS = 0
# No test reaches the internet: the sender-domain check runs only where a test starts its own
# DNS server (tests/mailing/dns_server.py).
SENDER_DOMAIN_CHECK = False
