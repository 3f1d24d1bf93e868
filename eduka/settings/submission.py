"""Settings of the submission server for other applications (`manage.py
run_submission_smtp`, Pronote…), read from the environment like the others (see the README's
Configuration table); imported by settings/base.py."""

import environ

env = environ.Env()

# The submission server for other applications (`manage.py run_submission_smtp`, Pronote…):
# STARTTLS on SUBMISSION_SMTP_PORT, implicit TLS on SUBMISSION_SMTPS_PORT when set, with the
# certificate and key in these files (PEM; in development a self-signed pair is made under
# var/ when none is given). What administrators are told to type: SUBMISSION_PUBLIC_HOST and
# SUBMISSION_PUBLIC_PORT.
SUBMISSION_SMTP_HOST = env.str("SUBMISSION_SMTP_HOST", default="127.0.0.1")
SUBMISSION_SMTP_PORT = env.int("SUBMISSION_SMTP_PORT", default=2587)
SUBMISSION_SMTPS_PORT = env.int("SUBMISSION_SMTPS_PORT", default=0)
SUBMISSION_TLS_CERT_FILE = env.str("SUBMISSION_TLS_CERT_FILE", default="")
SUBMISSION_TLS_KEY_FILE = env.str("SUBMISSION_TLS_KEY_FILE", default="")
SUBMISSION_SMTP_HOSTNAME = env.str("SUBMISSION_SMTP_HOSTNAME", default="") or None
SUBMISSION_PUBLIC_PORT = env.int("SUBMISSION_PUBLIC_PORT", default=587)
# One message: its size (552 beyond) and its envelope recipients (452 beyond).
SUBMISSION_MAX_BYTES = env.int("SUBMISSION_MAX_BYTES", default=25 * 1024 * 1024)
SUBMISSION_MAX_RECIPIENTS = env.int("SUBMISSION_MAX_RECIPIENTS", default=100)
# Per application access: beyond either, 451 4.7.1 and the application retries later.
SUBMISSION_MESSAGES_PER_MINUTE = env.int("SUBMISSION_MESSAGES_PER_MINUTE", default=600)
SUBMISSION_RECIPIENTS_PER_HOUR = env.int("SUBMISSION_RECIPIENTS_PER_HOUR", default=10000)
# Wrong passwords, per client address over SUBMISSION_AUTH_WINDOW seconds: past
# SUBMISSION_AUTH_FREE_FAILURES each answer waits longer (1, 2, 4… s, at most 30), and at
# SUBMISSION_AUTH_MAX_FAILURES the address gets 421 for SUBMISSION_AUTH_BLOCK_SECONDS.
SUBMISSION_AUTH_FREE_FAILURES = env.int("SUBMISSION_AUTH_FREE_FAILURES", default=3)
SUBMISSION_AUTH_MAX_FAILURES = env.int("SUBMISSION_AUTH_MAX_FAILURES", default=10)
SUBMISSION_AUTH_WINDOW = env.int("SUBMISSION_AUTH_WINDOW", default=900)
SUBMISSION_AUTH_BLOCK_SECONDS = env.int("SUBMISSION_AUTH_BLOCK_SECONDS", default=900)
SUBMISSION_MAX_CONNECTIONS_PER_IP = env.int("SUBMISSION_MAX_CONNECTIONS_PER_IP", default=20)
SUBMISSION_CONNECTIONS_PER_MINUTE_PER_IP = env.int("SUBMISSION_CONNECTIONS_PER_MINUTE_PER_IP",
                                                   default=120)
# Development only (settings/dev.py): without certificate files, make a self-signed pair.
SUBMISSION_SELF_SIGNED = False
SUBMISSION_SMTP_TIMEOUT = env.int("SUBMISSION_SMTP_TIMEOUT", default=300)
# On SIGTERM: how long messages being stored may take before the server stops anyway.
SUBMISSION_DRAIN_SECONDS = env.int("SUBMISSION_DRAIN_SECONDS", default=30)

__all__ = [name for name in dir() if name.startswith("SUBMISSION_")]
