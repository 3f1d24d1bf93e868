"""The embedded default that `make run` serves: SQLite, file-system broker, mail catcher."""

from pathlib import Path

from .base import *  # noqa: F403
from .base import VAR_DIR, env, env_list_secret, env_secret

DEBUG = env.bool("DEBUG", default=True)
# A development-only key: never used by the production settings, which require their own.
SECRET_KEY = env_secret("SECRET_KEY", default="dev-only-insecure-key-do-not-use-in-production")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])

# A fixed development key so that the demo's encrypted secrets survive restarts.
FIELD_ENCRYPTION_KEYS = env_list_secret("FIELD_ENCRYPTION_KEYS") or [
    "ZGV2LW9ubHktZmllbGQta2V5LW5vdC1mb3ItcHJvZCE="
]

MAIL_CATCHER_DIR = Path(env.str("MAIL_CATCHER_DIR", default=str(VAR_DIR / "mail-catcher")))
MAIL_CATCHER_HOST = env.str("MAIL_CATCHER_HOST", default="127.0.0.1")
MAIL_CATCHER_PORT = env.int("MAIL_CATCHER_PORT", default=1025)
# The demo's accounts send to the local mail catcher on 127.0.0.1.
SMTP_ALLOW_INTERNAL_HOSTS = env.bool("SMTP_ALLOW_INTERNAL_HOSTS", default=True)
SMTP_ALLOWED_EXTRA_PORTS = env.list("SMTP_ALLOWED_EXTRA_PORTS",
                                    default=[str(MAIL_CATCHER_PORT)])
# The integrated service's relay is the mail catcher too: its mail can be read in the browser.
INTEGRATED_RELAY_HOST = env.str("INTEGRATED_RELAY_HOST", default=MAIL_CATCHER_HOST)
INTEGRATED_RELAY_PORT = env.int("INTEGRATED_RELAY_PORT", default=MAIL_CATCHER_PORT)
INTEGRATED_RELAY_SECURITY = env.str("INTEGRATED_RELAY_SECURITY", default="none")

# The submission server for other applications listens on 127.0.0.1:2587 with a self-signed
# certificate made under var/; a mail client on this machine connects there.
SUBMISSION_PUBLIC_HOST = env.str("SUBMISSION_PUBLIC_HOST", default="127.0.0.1")
SUBMISSION_PUBLIC_PORT = env.int("SUBMISSION_PUBLIC_PORT", default=2587)
SUBMISSION_SELF_SIGNED = True
