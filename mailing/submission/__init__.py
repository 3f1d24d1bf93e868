"""The integrated service for other applications: `manage.py run_submission_smtp`, an
authenticated SMTP submission server (RFC 6409) whose accepted messages go through the same
engine, tracking and screens as the mail Eduka composes.

- credentials.py: application accesses (generated user name and password, stored hashed).
- accept.py: a submitted message made durable (Mailing, Message, Recipients) before the 250.
- payload.py: the engine's builder for such a message (sent as received, DKIM-signed).
- server.py, throttle.py: the aiosmtpd server, its refusals and its limits.
- forms.py, selectors.py, views.py: the accesses on the integrated account's page (their
  URLs are the account's, in mailing/sending_accounts/urls.py) and what the history shows of
  a submitted message.
"""
