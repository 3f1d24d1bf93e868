"""The submission server (`manage.py run_submission_smtp`): RFC 6409 for other applications.

STARTTLS (or implicit TLS), then AUTH PLAIN or LOGIN with an application access, then mail
whose envelope sender and From header are the account's own address. Every refusal is the
SMTP answer a mail client shows: 530 before TLS or AUTH, 535 for a wrong password (slower and
slower, then 421, per client address: mailing.submission.throttle), 550 5.7.1 for a foreign
sender, 552 over the size limit, 452 over the recipients per message, 451 4.7.1 over the
access's rate limits, 451 when the database cannot store the message. 250 means stored
(mailing.submission.accept); the workers are woken after it.
"""

import asyncio
import functools
import logging
import threading
import time
import warnings
from base64 import b64decode
from concurrent.futures import ThreadPoolExecutor

from aiosmtpd.smtp import MISSING, AuthResult
from django.conf import settings
from django.db import Error as DatabaseError
from django.db import connections

from mailing.tracking.inbound_limits import ConnectionLimiter, _limited_smtp

from .accept import Refused, access_usage, recipient_refusal, sender_refusal, submission_accept
from .credentials import access_authenticate, access_mark_used
from .throttle import BLOCKED, AuthThrottle, Enqueuer

logger = logging.getLogger(__name__)
INVALID = "535 5.7.8 Authentication credentials invalid"
TRY_LATER = "451 4.3.0 Temporary failure, please try again later"


class Database:
    """The server's ORM work, off its event loop, in a few threads of its own. Each keeps its
    database connection from one message to the next (opening one per SMTP command cost more
    than storing the message); a database error closes that thread's connection, so that the
    next call opens a fresh one, and is raised (the client gets a 4xx and retries). `close()`
    ends them all when the server stops."""

    def __init__(self, threads: int = 4):
        self.executor = ThreadPoolExecutor(max_workers=threads,
                                           thread_name_prefix="submission-db")
        self.opened: set = set()
        self.lock = threading.Lock()

    def _run(self, function, *args, **kwargs):
        connection = connections["default"]
        with self.lock:
            if connection not in self.opened:
                connection.inc_thread_sharing()  # so that close() may end it from elsewhere
                self.opened.add(connection)
        try:
            return function(*args, **kwargs)
        except DatabaseError:
            connection.close()
            raise

    async def __call__(self, function, *args, **kwargs):
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(
            self.executor, functools.partial(self._run, function, *args, **kwargs))

    def close(self) -> None:
        self.executor.shutdown(wait=True)
        with self.lock:
            for connection in self.opened:
                connection.close()
            self.opened.clear()


class SubmissionHandler:
    def __init__(self, throttle: AuthThrottle, enqueuer: Enqueuer):
        self.throttle, self.enqueuer = throttle, enqueuer
        self.db = Database()
        self.storing = 0  # messages being stored now: a SIGTERM waits for them

    # --- AUTH (the handler's mechanisms replace aiosmtpd's, to check without blocking) -----

    async def auth_PLAIN(self, server, args):  # noqa: N802
        if len(args) == 1:
            data = await server.challenge_auth("")
            if data is MISSING:
                return AuthResult(success=False, handled=True)
        else:
            try:
                data = b64decode(args[1].encode(), validate=True)
            except ValueError:
                await server.push("501 5.5.2 Can't decode base64")
                return AuthResult(success=False, handled=True)
        try:
            _, login, password = data.split(b"\x00")
        except ValueError:
            await server.push("501 5.5.2 Can't split auth value")
            return AuthResult(success=False, handled=True)
        return await self.login(server, login, password)

    async def auth_LOGIN(self, server, args):  # noqa: N802
        if len(args) == 1:
            login = await server.challenge_auth(server.AuthLoginUsernameChallenge)
        else:
            try:
                login = b64decode(args[1].encode(), validate=True)
            except ValueError:
                await server.push("501 5.5.2 Can't decode base64")
                return AuthResult(success=False, handled=True)
        if login is MISSING:
            return AuthResult(success=False, handled=True)
        password = await server.challenge_auth(server.AuthLoginPasswordChallenge)
        if password is MISSING:
            return AuthResult(success=False, handled=True)
        return await self.login(server, login, password)

    async def login(self, server, login: bytes, password: bytes) -> AuthResult:
        try:
            access = await self.db(access_authenticate, login.decode("utf-8", "replace"),
                                   password.decode("utf-8", "replace"))
        except Exception:  # noqa: BLE001 (the database is down: the client may retry)
            logger.exception("Submission SMTP: cannot check credentials")
            return AuthResult(success=False, handled=False,
                              message="454 4.7.0 Temporary authentication failure, try "
                                      "again later")
        if access is None:
            server.stats["auth_failures"] += 1
            wait = self.throttle.failed(server.limit_key)
            if wait:
                await asyncio.sleep(wait)
            if self.throttle.is_blocked(server.limit_key):
                await server.push(BLOCKED)
                server.transport.close()
                return AuthResult(success=False, handled=True)
            return AuthResult(success=False, handled=False, message=INVALID)
        server.stats["login"] = f"{access.username} ({access.name}, account {access.account_id})"
        try:
            await self.db(access_mark_used, access, server.limit_key)
        except Exception:  # noqa: BLE001 (only the "last used" note is lost)
            logger.warning("Submission SMTP: could not note the use of access %s", access.pk,
                           exc_info=True)
        return AuthResult(success=True, auth_data=access)

    # --- the transaction -------------------------------------------------------------------

    async def handle_MAIL(self, server, session, envelope, address, mail_options):  # noqa: N802
        access = session.auth_data
        refusal = sender_refusal(access, address)
        if refusal is None:
            try:
                session.usage = await self.db(access_usage, access.pk)
            except Exception:  # noqa: BLE001
                logger.exception("Submission SMTP: cannot check the rate limits")
                return TRY_LATER
            refusal = session.usage.message_refusal()
        if refusal:
            server.stats["refused"] += 1
            return refusal
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 2.1.0 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        refusal = (recipient_refusal(address, len(envelope.rcpt_tos))
                   or session.usage.recipient_refusal(len(envelope.rcpt_tos) + 1))
        if refusal:
            server.stats["refused_recipients"] += 1
            return refusal
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        access = session.auth_data
        self.storing += 1
        try:
            accepted = await self.db(
                submission_accept, access_pk=access.pk, mail_from=envelope.mail_from,
                rcpt_tos=list(envelope.rcpt_tos), raw=bytes(envelope.original_content or b""),
                peer=server.limit_key)
        except Refused as refused:
            server.stats["refused"] += 1
            return refused.reply
        except Exception:  # noqa: BLE001 (nothing was stored: the application retries)
            logger.exception("Submission SMTP: could not store a message, answered 451")
            server.stats["failed"] += 1
            return TRY_LATER
        finally:
            self.storing -= 1
        if accepted.recipients and not accepted.duplicate:
            self.enqueuer.request(accepted.account_id, access.account.parallel_connections)
        server.stats["accepted"] += 1
        server.stats["recipients"] += accepted.recipients
        note = " (already received)" if accepted.duplicate else ""
        return f"250 2.0.0 OK: queued as {accepted.mailing_id}{note}"


def _session_class(limiter: ConnectionLimiter, throttle: AuthThrottle):
    base = _limited_smtp(limiter)

    class SubmissionSMTP(base):
        """One client session: refused at once when its address is blocked, and logged in
        one line when it ends (who, what came of it, how many)."""

        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.stats = {"login": "-", "auth_failures": 0, "accepted": 0, "recipients": 0,
                          "refused": 0, "refused_recipients": 0, "failed": 0}
            self.started = time.monotonic()
            self.limit_key = ""
            self.logged = False

        def connection_made(self, transport):
            if self.transport is None:
                self.limit_key = limiter.key(transport.get_extra_info("peername"))
            super().connection_made(transport)

        async def _handle_client(self):
            if not self._refused and throttle.is_blocked(self.limit_key):
                await self.push(BLOCKED)
                self.transport.close()
                return
            await super()._handle_client()

        def connection_lost(self, error):
            if not self.logged:
                self.logged = True
                stats = self.stats
                # A connection that never said EHLO (a port check, a health probe, the
                # server's own start-up check) is not a session worth a line.
                said_hello = self.session is not None and self.session.host_name is not None
                logger.log(
                    logging.INFO if said_hello else logging.DEBUG,
                    "Submission SMTP session from %s: login %s, %d accepted (%d recipients), "
                    "%d refused, %d recipients refused, %d failed, %d failed logins, %.1f s",
                    self.limit_key, stats["login"], stats["accepted"], stats["recipients"],
                    stats["refused"], stats["refused_recipients"], stats["failed"],
                    stats["auth_failures"], time.monotonic() - self.started)
            super().connection_lost(error)

    return SubmissionSMTP


def submission_controllers(*, host: str, port: int, tls_port: int = 0, handler=None):
    """The STARTTLS server on `port` and, when `tls_port`, the implicit-TLS one; not
    started. They share one handler (and so one password throttle)."""
    from aiosmtpd.controller import Controller

    from .tls import server_context

    context = server_context()
    limiter = ConnectionLimiter(concurrent=settings.SUBMISSION_MAX_CONNECTIONS_PER_IP,
                                per_minute=settings.SUBMISSION_CONNECTIONS_PER_MINUTE_PER_IP)
    handler = handler or SubmissionHandler(AuthThrottle.from_settings(), Enqueuer())
    session_class = _session_class(limiter, handler.throttle)

    class SubmissionController(Controller):
        def factory(self):
            with warnings.catch_warnings():
                # The implicit-TLS listener is encrypted from the first byte, so AUTH needs
                # no STARTTLS there; aiosmtpd cannot see that and warns at every session.
                warnings.filterwarnings("ignore", "Requiring AUTH while not requiring TLS")
                return session_class(self.handler, **self.SMTP_kwargs)

    common = {"server_hostname": settings.SUBMISSION_SMTP_HOSTNAME,
              "data_size_limit": settings.SUBMISSION_MAX_BYTES,
              "timeout": settings.SUBMISSION_SMTP_TIMEOUT, "enable_SMTPUTF8": True,
              "auth_required": True}
    controllers = [SubmissionController(handler, hostname=host, port=port, tls_context=context,
                                        require_starttls=True, auth_require_tls=True,
                                        **common)]
    if tls_port:
        # The whole connection is TLS: nothing to upgrade, AUTH allowed at once.
        controllers.append(SubmissionController(handler, hostname=host, port=tls_port,
                                                ssl_context=context, auth_require_tls=False,
                                                **common))
    return handler, controllers
