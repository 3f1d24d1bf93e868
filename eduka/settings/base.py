"""Settings shared by every environment, all read from the environment.

Each variable is documented in the README's configuration table. Secrets have no default here:
`dev` and `test` provide throw-away ones, `production` refuses to start without them.
"""

from datetime import timedelta
from pathlib import Path

import environ
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()
# An optional `.env` next to manage.py; real environment variables win over it.
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)


def env_secret(name: str, default=environ.Env.NOTSET) -> str:
    """Read a secret from NAME, or from the file named by NAME_FILE (Docker secrets)."""
    file_path = env.str(f"{name}_FILE", default="")
    if file_path:
        return Path(file_path).read_text().strip("\n")
    return env.str(name, default=default)


def env_list_secret(name: str) -> list[str]:
    """A comma-separated secret list from NAME or NAME_FILE (one entry per line or comma)."""
    file_path = env.str(f"{name}_FILE", default="")
    raw = Path(file_path).read_text() if file_path else env.str(name, default="")
    return [item.strip() for item in raw.replace("\n", ",").split(",") if item.strip()]


DEBUG = env.bool("DEBUG", default=False)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=[])
# Absolute URL the platform is reached at; links in e-mails are built from it, never from the
# Host header of a request.
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    # Login attempts limited per account and per IP (django-axes).
    "axes",
    # The rich-text editor of message bodies (ProseMirror/Tiptap in its own static files).
    "django_prose_editor",
    "accounts",
    "school",
    "mailing",
    "notifications",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "notifications.changes.ChangeAuthorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes requires: turns a locked-out login into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "eduka.urls"
WSGI_APPLICATION = "eduka.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "eduka.context_processors.navigation",
            ],
        },
    },
]

DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'eduka.sqlite3'}"),
}
DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("DATABASE_CONN_MAX_AGE", default=0))
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the web process read while a worker writes; busy_timeout avoids "database is
    # locked" under the embedded default's several processes.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "timeout": 20,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                          "LOCATION": REDIS_URL}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

AUTH_USER_MODEL = "accounts.User"
# django-axes first: a locked-out account or address is refused before any password check.
AUTHENTICATION_BACKENDS = ["accounts.backends.LoginLimitBackend",
                           "accounts.backends.ProfileBackend"]
# Failed logins: after LOGIN_FAILURE_LIMIT failures for one account, or from one IP address
# (counted separately), logins are refused — even with the right password — until
# LOGIN_LOCKOUT_MINUTES have passed since the last failure. The page says nothing about
# whether the account exists (failures are counted for unknown addresses too).
AXES_ENABLED = env.bool("LOGIN_LIMITS_ENABLED", default=True)
AXES_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=10)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("LOGIN_LOCKOUT_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = ["ip_address", "username"]
AXES_USERNAME_FORM_FIELD = "username"  # the login form's field (an e-mail address)
AXES_USERNAME_CALLABLE = "accounts.backends.login_attempt_username"
AXES_CLIENT_IP_CALLABLE = "eduka.ratelimit.client_ip"
AXES_LOCKOUT_CALLABLE = "accounts.views.login_locked"
# Not reset by a success: axes would clear every row of the address, the failures against
# other accounts from it included, so logging into one's own account would reopen guessing.
AXES_RESET_ON_SUCCESS = False
# No log of every successful login (addresses, browsers): personal data nobody reads.
AXES_DISABLE_ACCESS_LOG = True
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
     "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "accounts:login"

LANGUAGE_CODE = "fr"
LANGUAGES = [("fr", _("French")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env.str("TIME_ZONE", default="Europe/Paris")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(BASE_DIR / "staticfiles")))
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(VAR_DIR / "media")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

# Outgoing mail. Sending accounts live in the database (mailing app); the only mailer configured
# here is Django's own default, used by nothing but error reports to ADMINS.
MAILERS = {
    "default": {
        "BACKEND": env.str("DEFAULT_MAILER_BACKEND",
                           default="django.core.mail.backends.console.EmailBackend"),
    },
}
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="no-reply@localhost")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# The platform's integrated mass-mailing service: accounts of the "integrated" type send
# through this relay and use addresses on this domain.
INTEGRATED_MAIL_DOMAIN = env.str("INTEGRATED_MAIL_DOMAIN", default="ecolemail.eduka.school")
INTEGRATED_RELAY_HOST = env.str("INTEGRATED_RELAY_HOST", default="")
INTEGRATED_RELAY_PORT = env.int("INTEGRATED_RELAY_PORT", default=587)
INTEGRATED_RELAY_SECURITY = env.str("INTEGRATED_RELAY_SECURITY", default="starttls")
# DKIM for mail sent from the integrated domain: the PEM private key and its DNS selector.
INTEGRATED_DKIM_SELECTOR = env.str("INTEGRATED_DKIM_SELECTOR", default="eduka")
INTEGRATED_DKIM_PRIVATE_KEY = env_secret("INTEGRATED_DKIM_PRIVATE_KEY", default="")

# Keys encrypting secrets at rest (SMTP passwords), newest first; older keys still decrypt.
FIELD_ENCRYPTION_KEYS = env_list_secret("FIELD_ENCRYPTION_KEYS")

# Celery: JSON only, late acknowledgement so that a task whose worker dies is redelivered,
# hard and soft time limits so that no task hangs a worker forever.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="filesystem://")
CELERY_BROKER_FOLDER = Path(
    env.str("CELERY_BROKER_FOLDER", default=str(VAR_DIR / "celery" / "broker"))
)
if CELERY_BROKER_URL.startswith("filesystem://"):
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(CELERY_BROKER_FOLDER / "queue"),
        "data_folder_out": str(CELERY_BROKER_FOLDER / "queue"),
        "control_folder": str(CELERY_BROKER_FOLDER / "control"),
        "store_processed": False,
        # The transport looks for new tasks this often (kombu's default is 1 s): a mailing
        # starts within this time of its submission. Each look lists a folder: cheap.
        "polling_interval": env.float("CELERY_BROKER_POLLING_INTERVAL", default=0.1),
    }
    # The transport does not create its folders; web and workers both need them to exist.
    for _folder in ("queue", "control"):
        (CELERY_BROKER_FOLDER / _folder).mkdir(parents=True, exist_ok=True)
CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default="") or None
CELERY_TASK_IGNORE_RESULT = True
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=300)
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=360)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celery" / "beat-schedule")
CELERY_BEAT_SCHEDULE = {
    "clear-expired-sessions": {
        "task": "accounts.tasks.clear_expired_sessions",
        "schedule": 6 * 3600,
    },
}

# The local mail catcher (development only): where `run_mail_catcher` stores what it receives.
MAIL_CATCHER_DIR = None

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain"},
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
    },
}

EDUKA_PAGE_SIZE = 25

SILENCED_SYSTEM_CHECKS = [
    # The e-mail is unique case-insensitively (a functional constraint the check cannot see),
    # and UserManager.get_by_natural_key looks it up the same way.
    "auth.W004",
]

# SMTP client policy. Internal hosts (loopback, private ranges, the database, the broker) are
# refused as sending servers unless this is set: the demo and the tests set it, production
# should not.
SMTP_ALLOW_INTERNAL_HOSTS = env.bool("SMTP_ALLOW_INTERNAL_HOSTS", default=False)
# An extra CA bundle trusted for SMTP servers, in addition to the system's CAs (a school's
# own CA, or the tests' CA).
SMTP_EXTRA_CA_FILE = env.str("SMTP_EXTRA_CA_FILE", default="")
SMTP_TIMEOUT = env.float("SMTP_TIMEOUT", default=30.0)
# The name given in EHLO; empty means the machine's fully qualified name.
SMTP_EHLO_NAME = env.str("SMTP_EHLO_NAME", default="")
# The "Tester" button waits for the server in the administrator's request: keep it short.
SMTP_TEST_TIMEOUT = env.float("SMTP_TEST_TIMEOUT", default=15.0)
# Sending accounts may use ports 25, 465, 587 and 2525 only, plus the ports (or "low-high"
# ranges) listed here: any other port would let an account probe other services.
SMTP_ALLOWED_EXTRA_PORTS = env.list("SMTP_ALLOWED_EXTRA_PORTS", default=[])

# SMS providers' APIs (issue #14): their base URLs (the tests point them at local fakes) and
# how long one call may take before it counts as a temporary failure.
SMS_OVH_URL = env.str("SMS_OVH_URL", default="https://eu.api.ovh.com")
SMS_BREVO_URL = env.str("SMS_BREVO_URL", default="https://api.brevo.com")
SMS_HTTP_TIMEOUT = env.float("SMS_HTTP_TIMEOUT", default=15.0)
# The most parts one SMS may take once filled in for its recipient (each part is paid for).
SMS_MAX_PARTS = env.int("SMS_MAX_PARTS", default=6)

# OAuth2 sign-in of external accounts at Microsoft 365 and Google (SMTP with XOAUTH2, issue
# #12). The platform's own app registration at each provider: without a client id the
# provider's button is not offered. Both providers redirect to one callback,
# SITE_URL + /configuration/accounts/oauth/callback/, to register with them. The endpoints
# are settings so that tests (and a sovereign cloud) point them elsewhere.
OAUTH_MICROSOFT_CLIENT_ID = env.str("OAUTH_MICROSOFT_CLIENT_ID", default="")
OAUTH_MICROSOFT_CLIENT_SECRET = env_secret("OAUTH_MICROSOFT_CLIENT_SECRET", default="")
# "organizations" lets any school's work account sign in; a tenant id restricts to one.
OAUTH_MICROSOFT_TENANT = env.str("OAUTH_MICROSOFT_TENANT", default="organizations")
OAUTH_MICROSOFT_AUTHORIZE_URL = env.str(
    "OAUTH_MICROSOFT_AUTHORIZE_URL",
    default="https://login.microsoftonline.com/{tenant}/oauth2/v2.0/authorize")
OAUTH_MICROSOFT_TOKEN_URL = env.str(
    "OAUTH_MICROSOFT_TOKEN_URL",
    default="https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token")
OAUTH_GOOGLE_CLIENT_ID = env.str("OAUTH_GOOGLE_CLIENT_ID", default="")
OAUTH_GOOGLE_CLIENT_SECRET = env_secret("OAUTH_GOOGLE_CLIENT_SECRET", default="")
OAUTH_GOOGLE_AUTHORIZE_URL = env.str("OAUTH_GOOGLE_AUTHORIZE_URL",
                                     default="https://accounts.google.com/o/oauth2/v2/auth")
OAUTH_GOOGLE_TOKEN_URL = env.str("OAUTH_GOOGLE_TOKEN_URL",
                                 default="https://oauth2.googleapis.com/token")
# An access token is refreshed when it has less than this many seconds left, so that a
# connection opened with it authenticates well before it expires.
OAUTH_REFRESH_MARGIN_SECONDS = env.int("OAUTH_REFRESH_MARGIN_SECONDS", default=300)
# Timeout of each call to a token endpoint (seconds).
OAUTH_HTTP_TIMEOUT = env.float("OAUTH_HTTP_TIMEOUT", default=10.0)

# The sending engine (see mailing/engine/ and docs in the README).
MAILING_LEASE_SECONDS = env.int("MAILING_LEASE_SECONDS", default=60)
MAILING_BATCH_SIZE = env.int("MAILING_BATCH_SIZE", default=50)
MAILING_TASK_BUDGET = env.float("MAILING_TASK_BUDGET", default=120.0)
# PostgreSQL: the per-message statement is prepared once per connection (see
# mailing/engine/statements.py). Behind a pooler that loses prepared statements the engine
# notices and sends it as text; false sends it as text from the start.
MAILING_PREPARED_STATEMENTS = env.bool("MAILING_PREPARED_STATEMENTS", default=True)
# PostgreSQL: a submission of at least this many recipients refreshes the planner's statistics.
MAILING_ANALYZE_AFTER = env.int("MAILING_ANALYZE_AFTER", default=5000)
# Back-off after each temporary failure, in seconds; the last value repeats.
MAILING_RETRY_SCHEDULE = env.list("MAILING_RETRY_SCHEDULE", cast=int,
                                  default=[60, 300, 900, 1800, 3600, 7200, 14400])
# After this long, a message still failing temporarily is recorded as failed.
MAILING_MAX_LIFETIME = env.int("MAILING_MAX_LIFETIME", default=48 * 3600)
MAILING_SWEEP_SECONDS = env.int("MAILING_SWEEP_SECONDS", default=30)
# A user's test sends of mailings ("send me a test"): at most this many per window (seconds).
MAILING_TEST_SEND_LIMIT = env.int("MAILING_TEST_SEND_LIMIT", default=10)
MAILING_TEST_SEND_WINDOW = env.int("MAILING_TEST_SEND_WINDOW", default=600)
# Sign-up: at most one mail (validation link or reminder) per address per this many seconds.
SIGNUP_MAIL_INTERVAL = env.int("SIGNUP_MAIL_INTERVAL", default=180)
# Every sending process beats this often; one silent for MAILING_WORKER_DEAD_SECONDS is dead
# (killed) and its claims and slots are freed by the others (mailing/engine/heartbeat.py).
MAILING_HEARTBEAT_SECONDS = env.float("MAILING_HEARTBEAT_SECONDS", default=2.0)
MAILING_WORKER_DEAD_SECONDS = env.float("MAILING_WORKER_DEAD_SECONDS", default=10.0)
# Data-change alerts: changes made within this delay travel in one digest.
CHANGE_ALERT_DELAY_SECONDS = env.float("CHANGE_ALERT_DELAY_SECONDS", default=5.0)
# Personal data kept no longer than needed (GDPR): alerted changes, received messages.
CHANGE_RETENTION_DAYS = env.int("CHANGE_RETENTION_DAYS", default=90)
INBOUND_RETENTION_DAYS = env.int("INBOUND_RETENTION_DAYS", default=30)
CELERY_BEAT_SCHEDULE["purge-personal-data"] = {
    "task": "notifications.tasks.purge_changes",
    "schedule": 24 * 3600,
}
CELERY_BEAT_SCHEDULE["purge-inbound"] = {
    "task": "mailing.tasks.purge_inbound",
    "schedule": 24 * 3600,
}
# Messages other applications submitted (bodies and attachments) are kept this long once they
# can no longer leave, then their content is deleted; their recipients' fates stay.
SUBMISSION_RETENTION_DAYS = env.int("SUBMISSION_RETENTION_DAYS", default=30)
# Scheduled mailings leave within this many seconds of their time.
MAILING_SCHEDULE_CHECK_SECONDS = env.int("MAILING_SCHEDULE_CHECK_SECONDS", default=15)
CELERY_BEAT_SCHEDULE["start-scheduled"] = {
    "task": "mailing.tasks.start_scheduled",
    "schedule": MAILING_SCHEDULE_CHECK_SECONDS,
}
CELERY_BEAT_SCHEDULE["purge-submitted"] = {
    "task": "mailing.tasks.purge_submitted",
    "schedule": 24 * 3600,
}
CELERY_BEAT_SCHEDULE["notifications-sweep"] = {
    "task": "notifications.tasks.sweep_changes",
    "schedule": 60,
}
CELERY_BEAT_SCHEDULE["mailing-sweep"] = {
    "task": "mailing.tasks.sweep",
    "schedule": MAILING_SWEEP_SECONDS,
}
# Automated mail (System account) has a queue of its own so that it never waits behind bulk
# mailings; production can give it dedicated workers (see docker-compose.yml).
MAILING_QUEUE_SYSTEM = env.str("MAILING_QUEUE_SYSTEM", default="system")
MAILING_QUEUE_BULK = env.str("MAILING_QUEUE_BULK", default="bulk")
CELERY_TASK_DEFAULT_QUEUE = "celery"

# Attachments of mailings: limits shown on the compose screen.
MAILING_ATTACHMENT_MAX_BYTES = env.int("MAILING_ATTACHMENT_MAX_BYTES", default=10 * 1024 * 1024)
MAILING_ATTACHMENTS_MAX_TOTAL = env.int("MAILING_ATTACHMENTS_MAX_TOTAL", default=20 * 1024 * 1024)
MAILING_ATTACHMENT_TYPES = {
    ".pdf": "application/pdf", ".jpg": "image/jpeg", ".jpeg": "image/jpeg",
    ".png": "image/png", ".gif": "image/gif", ".txt": "text/plain", ".csv": "text/csv",
    ".odt": "application/vnd.oasis.opendocument.text",
    ".ods": "application/vnd.oasis.opendocument.spreadsheet",
    ".doc": "application/msword",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".xls": "application/vnd.ms-excel",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
# Office attachments (.docx/.xlsx/.odt/.ods) are zip files, opened and inspected when uploaded:
# at most this much once decompressed, and at most this ratio decompressed / compressed.
MAILING_OFFICE_MAX_UNCOMPRESSED = env.int("MAILING_OFFICE_MAX_UNCOMPRESSED",
                                          default=100 * 1024 * 1024)
MAILING_OFFICE_MAX_RATIO = env.int("MAILING_OFFICE_MAX_RATIO", default=100)

# Mail-merge templates (mailings and the automated mail's wording): how deep loops may nest
# (checked when saved), and what one message may produce once filled in (checked while it is
# rendered, in the worker and in previews alike).
MAILING_TEMPLATE_MAX_LOOP_DEPTH = env.int("MAILING_TEMPLATE_MAX_LOOP_DEPTH", default=2)
MAILING_RENDER_MAX_BYTES = env.int("MAILING_RENDER_MAX_BYTES", default=2 * 1024 * 1024)
MAILING_RENDER_MAX_SECONDS = env.float("MAILING_RENDER_MAX_SECONDS", default=2.0)

# Password reset links expire after this many seconds (and die once used).
PASSWORD_RESET_TIMEOUT = env.int("PASSWORD_RESET_TIMEOUT", default=24 * 3600)
# Parent sign-up: how long the validation link works.
EMAIL_VALIDATION_TIMEOUT = env.int("EMAIL_VALIDATION_TIMEOUT", default=48 * 3600)

# The inbound SMTP server (`manage.py run_inbound_smtp`): delivery reports to the VERP
# addresses and replies to the integrated accounts' addresses. In production it listens where
# the integrated domain's MX points (port 25, e.g. INBOUND_SMTP_HOST=0.0.0.0).
INBOUND_SMTP_HOST = env.str("INBOUND_SMTP_HOST", default="127.0.0.1")
INBOUND_SMTP_PORT = env.int("INBOUND_SMTP_PORT", default=2526)
INBOUND_SMTP_HOSTNAME = env.str("INBOUND_SMTP_HOSTNAME", default="") or None
INBOUND_SMTP_MAX_BYTES = env.int("INBOUND_SMTP_MAX_BYTES", default=25 * 1024 * 1024)
# Per client address (an IPv6 client by its /64): connections open at once, and connections
# opened per minute; beyond either the server answers 421 4.7.0 and closes, so one host
# holding hundreds of connections cannot starve the others. A connection idle for
# INBOUND_SMTP_TIMEOUT seconds between commands is dropped.
INBOUND_SMTP_MAX_CONNECTIONS_PER_IP = env.int("INBOUND_SMTP_MAX_CONNECTIONS_PER_IP", default=20)
INBOUND_SMTP_CONNECTIONS_PER_MINUTE_PER_IP = env.int(
    "INBOUND_SMTP_CONNECTIONS_PER_MINUTE_PER_IP", default=120)
INBOUND_SMTP_TIMEOUT = env.int("INBOUND_SMTP_TIMEOUT", default=300)
# When an external account is saved, its From domain's SPF and DMARC records are read to say
# whether its mail is likely to be accepted (never blocking the save): the name servers to ask
# ("ip" or "ip:port", comma-separated; empty: the system's) and how long to wait for them.
SENDER_DOMAIN_CHECK = env.bool("SENDER_DOMAIN_CHECK", default=True)
SENDER_DOMAIN_CHECK_NAMESERVERS = env.list("SENDER_DOMAIN_CHECK_NAMESERVERS", default=[])
SENDER_DOMAIN_CHECK_TIMEOUT = env.float("SENDER_DOMAIN_CHECK_TIMEOUT", default=3.0)

# The sliding windows of the accounts' sending quotas (messages per minute, recipients per
# day), in seconds; shortened only by tests.
MAILING_QUOTA_MINUTE_SECONDS = env.int("MAILING_QUOTA_MINUTE_SECONDS", default=60)
MAILING_QUOTA_DAY_SECONDS = env.int("MAILING_QUOTA_DAY_SECONDS", default=24 * 3600)
# A wait for the quota up to this long is spent sleeping in the worker; a longer one hands the
# work back, and beat's sweep picks it up when the quota allows.
MAILING_QUOTA_MAX_SLEEP = env.float("MAILING_QUOTA_MAX_SLEEP", default=5.0)

# The submission server for other applications (`manage.py run_submission_smtp`): its
# settings are in settings/submission.py; what administrators are told to type is here.
from .submission import *  # noqa: E402, F403

SUBMISSION_PUBLIC_HOST = env.str("SUBMISSION_PUBLIC_HOST",
                                 default=f"smtp.{INTEGRATED_MAIL_DOMAIN}")

# Replies forwarded per integrated account per hour; beyond it replies are held for the school
# to read on the "Replies held" page (a flood, or a loop we did not recognise, cannot turn the
# relay into a spam cannon), and administrators are told once per hour.
REPLY_FORWARD_MAX_PER_HOUR = env.int("REPLY_FORWARD_MAX_PER_HOUR", default=100)

# The rich-text editor's own extension (merge variables as chips): settings/editor.py.
from .editor import *  # noqa: E402, F403
