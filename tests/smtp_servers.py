"""Real SMTP servers for tests, built on aiosmtpd.

Every server listens on ``127.0.0.1`` on a free port, in its own background thread
with its own asyncio event loop.  It records what it accepted (``received``) and can
be told to misbehave like a real provider does (Gmail / Office 365 style replies,
dropped connections, temporary failures, slow DATA...).

Usage from a test::

    def test_something(smtp_server_factory):
        server = smtp_server_factory(mode="starttls", users={"me@example.org": "pw"})
        ...  # point the code under test at server.host / server.port
        assert server.received[0].tls

The module is also a pytest plugin (``pytest_plugins = ["tests.smtp_servers"]``)
providing the ``smtp_server_factory`` and ``smtp_server`` fixtures.  PYTEST_DONT_REWRITE:
test modules may import it before pytest loads it as a plugin, which would otherwise
warn "Module already imported so cannot be rewritten".

Non-ASCII credentials: the server follows RFC 4616 / RFC 4954 and compares the
UTF-8 decoded user name and password exactly.  Python's ``smtplib`` cannot send
them through ``SMTP.login()`` / ``SMTP.auth()``: both call ``.encode("ascii")`` on
the SASL string and raise ``UnicodeEncodeError`` (before anything is sent).  A client
must build the SASL blob itself, e.g. for PLAIN::

    blob = b"\\0" + user.encode("utf-8") + b"\\0" + password.encode("utf-8")
    code, reply = smtp.docmd("AUTH", "PLAIN " + base64.b64encode(blob).decode("ascii"))
    # 235 on success, 535 on failure
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import datetime
import email
import email.message
import email.policy
import functools
import hmac
import ipaddress
import random
import re
import shutil
import ssl
import tempfile
import threading
import time
import weakref
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

__all__ = [
    "AUTH_FAILED_REPLY",
    "FAULTS",
    "MODES",
    "ReceivedMessage",
    "assert_crlf_only",
    "SMTPTestServer",
    "smtp_server",
    "smtp_server_factory",
    "start_smtp_server",
]

HOST = "127.0.0.1"
MODES = ("plain", "starttls", "tls")
CERTIFICATES = ("ca", "self-signed", "self-signed-other-name", "self-signed-expired",
                "ca-other-name")
FAULTS = (
    "greet_421",
    "drop_on_connect",
    "hang",
    "drop_mid_data",
    "data_451",
    "data_554",
    "connect_421_for_a_while",
    "accept_then_drop",
    "accept_then_hang",
    "banner_ssh",
    "banner_http",
)
# Steps at which `chaos` may drop a connection (see start_smtp_server).
CHAOS_STEPS = ("mail", "data", "after_dot", "hang")

AUTH_FAILED_REPLY = "535 5.7.3 Authentication unsuccessful"  # Office 365 wording
AUTH_REQUIRED_REPLY = "530 5.7.0 Authentication required"
GREET_421_REPLY = "421 4.3.2 Service not available, closing transmission channel"
DATA_451_REPLY = "451 4.3.0 Temporary failure, try again later"
DATA_554_REPLY = "554 5.7.1 Message rejected"
# What a peer that is not an SMTP server says first (an SSH daemon; a web server that answers
# the client's EHLO with an error page).
SSH_BANNER = b"SSH-2.0-OpenSSH_9.6p1 Ubuntu-3ubuntu13 secret-internal-banner\r\n"
HTTP_ANSWER = (b"HTTP/1.1 400 Bad Request\r\nServer: internal-admin-panel/1.0\r\n"
               b"Content-Length: 0\r\n\r\n")

_START_TIMEOUT = 5.0
_STOP_TIMEOUT = 5.0


# --------------------------------------------------------------------------------------
# Certificates
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _CertFiles:
    cert_file: str
    key_file: str
    cert_pem: bytes
    ca_file: str | None


@functools.cache
def _cert_dir() -> Path:
    path = Path(tempfile.mkdtemp(prefix="smtp-test-certs-"))
    atexit.register(shutil.rmtree, path, ignore_errors=True)
    return path


def _write_key(path: Path, key: Any) -> None:
    from cryptography.hazmat.primitives import serialization

    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    path.chmod(0o600)


def _validity(builder: Any, *, expired: bool = False) -> Any:
    now = datetime.datetime.now(datetime.UTC)
    if expired:
        now -= datetime.timedelta(days=60)
    return builder.not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(
        now + datetime.timedelta(days=30)
    )


@functools.cache
def _test_ca() -> tuple[Any, Any, str]:
    """(certificate, private key, PEM path) of the per-process test CA."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Eduka SMTP test CA")])
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(ski, critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski),
            critical=False,
        )
    )
    cert = _validity(builder).sign(key, hashes.SHA256())
    path = _cert_dir() / "test-ca.pem"
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return cert, key, str(path)


@functools.cache
def _server_cert(certificate: str) -> _CertFiles:
    """Server certificate for localhost / 127.0.0.1 (cached once per process).

    "self-signed-other-name" and "ca-other-name" are issued for mail.other-school.example only;
    "self-signed-expired" names localhost / 127.0.0.1 but expired a month ago."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    other_name = certificate.endswith("-other-name")
    common_name = "mail.other-school.example" if other_name else "localhost"
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    if certificate.startswith("ca"):
        ca_cert, signing_key, ca_file = _test_ca()
        issuer = ca_cert.subject
        aki = x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_cert.public_key())
    else:  # self-signed: its own issuer
        ca_file = None
        signing_key, issuer = key, subject
        aki = x509.AuthorityKeyIdentifier.from_issuer_public_key(key.public_key())
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName(common_name)]
                if other_name
                else [
                    x509.DNSName("localhost"),
                    x509.IPAddress(ipaddress.ip_address(HOST)),
                ]
            ),
            critical=False,
        )
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(aki, critical=False)
    )
    cert = _validity(builder, expired=certificate == "self-signed-expired").sign(
        signing_key, hashes.SHA256()
    )
    cert_pem = cert.public_bytes(serialization.Encoding.PEM)
    directory = _cert_dir()
    cert_path = directory / f"server-{certificate}.pem"
    key_path = directory / f"server-{certificate}.key"
    cert_path.write_bytes(cert_pem)
    _write_key(key_path, key)
    return _CertFiles(str(cert_path), str(key_path), cert_pem, ca_file)


def _server_ssl_context(files: _CertFiles) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(files.cert_file, files.key_file)
    return context


# --------------------------------------------------------------------------------------
# Recorded messages
# --------------------------------------------------------------------------------------

_BARE_LINE_END = re.compile(rb"\r(?!\n)|(?<!\r)\n")


def assert_crlf_only(payload: bytes) -> None:
    """Every line of ``payload`` ends in CRLF: no bare LF or CR anywhere (Postfix with
    ``smtpd_forbid_bare_newline=reject`` refuses a message that has one)."""
    match = _BARE_LINE_END.search(payload)
    if match is not None:
        kind = "CR" if match.group() == b"\r" else "LF"
        start = match.start()
        around = payload[max(0, start - 60):start + 20]
        raise AssertionError(f"bare {kind} at byte {start}: {around!r}")



@dataclass
class ReceivedMessage:
    mail_from: str
    rcpt_tos: list[str]
    content: bytes  # original bytes of DATA (dot-unstuffed, CRLF line endings)
    auth_login: str | None  # the user name that authenticated, if any
    tls: bool  # True if the session was encrypted (STARTTLS or implicit TLS)
    received_at: float  # time.monotonic() when DATA completed
    mail_options: list[str] = field(default_factory=list)
    helo: str = ""  # the name the client gave in EHLO/HELO

    def message(self) -> email.message.EmailMessage:
        """The content parsed with email.policy.default.

        SMTP's CRLF line endings are turned into "\n" first, as the email package
        expects, so that text parts read back exactly as the sender wrote them.
        """
        assert_crlf_only(self.content)  # every message the tests receive
        content = self.content.replace(b"\r\n", b"\n")
        return email.message_from_bytes(content, policy=email.policy.default)


# --------------------------------------------------------------------------------------
# Protocols
# --------------------------------------------------------------------------------------


class _RawFaultProtocol(asyncio.Protocol):
    """Connections that never reach SMTP: 421 greeting, immediate drop, silence, or a peer
    that is another kind of server (SSH, HTTP)."""

    def __init__(self, server: SMTPTestServer, behaviour: str) -> None:
        self._server = server
        self._behaviour = behaviour

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._server._track(transport)
        if self._behaviour == "greet_421":
            transport.write(GREET_421_REPLY.encode("ascii") + b"\r\n")  # type: ignore[attr-defined]
            transport.close()
        elif self._behaviour == "drop_on_connect":
            transport.close()
        elif self._behaviour == "banner_ssh":
            transport.write(SSH_BANNER)  # type: ignore[attr-defined]
        elif self._behaviour == "banner_http":
            # A web server waits for a request, then answers anything with an HTTP error.
            transport.write(HTTP_ANSWER)  # type: ignore[attr-defined]
            transport.close()
        # "hang": keep the connection open and never answer (stop() aborts it).

    def data_received(self, data: bytes) -> None:
        pass  # ignore whatever the client says


class _TestSMTP(SMTP):
    """aiosmtpd's SMTP with AUTH counting and connection tracking."""

    def __init__(self, test_server: SMTPTestServer, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._test_server = test_server
        # Set after __init__ so that aiosmtpd does not warn about auth_required without
        # auth_require_tls (a plain server with AUTH is wanted to test clients).
        self._auth_required = test_server._auth_required

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._test_server._track(transport)
        self._test_server._session_opened()
        super().connection_made(transport)

    def connection_lost(self, exc: Exception | None) -> None:
        self._test_server._session_closed()
        super().connection_lost(exc)

    async def smtp_MAIL(self, arg: str) -> None:
        if self._test_server._chaos_strikes("mail"):
            assert self.transport is not None
            self.transport.close()  # before MAIL is answered: nothing was received
            return
        server = self._test_server
        if server.quota_after is not None and len(server.received) >= server.quota_after:
            # A provider's sending quota, spent: every MAIL refused with its reply.
            await self.push(server.quota_reply)
            return
        await super().smtp_MAIL(arg)

    async def smtp_DATA(self, arg: str) -> None:
        if self.envelope.rcpt_tos and self._test_server._chaos_strikes("data"):
            # Mid-DATA: the client is told to go on, then the connection goes while it
            # writes the message; nothing is kept.
            await self.push("354 End data with <CR><LF>.<CR><LF>")
            assert self.transport is not None
            self.transport.close()
            return
        await super().smtp_DATA(arg)

    async def smtp_AUTH(self, arg: str) -> None:
        with self._test_server._lock:
            self._test_server.auth_attempts += 1
        await super().smtp_AUTH(arg)


class _Handler:
    """aiosmtpd handler hooks."""

    def __init__(self, server: SMTPTestServer) -> None:
        self.server = server

    async def handle_EHLO(
        self,
        smtp: SMTP,
        session: Session,
        envelope: Envelope,
        hostname: str,
        responses: list[str],
    ) -> list[str]:
        session.host_name = hostname  # required when this hook is implemented
        if not self.server._users:
            responses = [r for r in responses if not r[4:].upper().startswith("AUTH")]
        if self.server._pipelining:
            # Like Postfix, Exchange and Gmail. aiosmtpd reads commands in order from its
            # stream, so pipelined commands work; it just does not say so itself.
            responses = [responses[0], "250-PIPELINING", *responses[1:]]
        return responses

    async def handle_RCPT(
        self,
        smtp: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        refusal = self.server._refuse_recipients.get(address.lower())
        if refusal is not None:
            return refusal
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 OK"

    async def handle_DATA(self, smtp: SMTP, session: Session, envelope: Envelope) -> str:
        server = self.server
        if server._latency > 0:
            await asyncio.sleep(server._latency)
        fault = server._fault
        if fault == "drop_mid_data":
            assert smtp.transport is not None
            smtp.transport.close()
            # connection_lost() cancels the session task: we never reply.
            await asyncio.Event().wait()
        if fault == "data_554":
            return DATA_554_REPLY
        if fault == "data_451":
            with server._lock:
                server._data_451_count += 1
                failing = server._fault_count == 0 or server._data_451_count <= server._fault_count
            if failing:
                return DATA_451_REPLY
        transport = smtp.transport
        tls = session.ssl is not None or (
            transport is not None and transport.get_extra_info("ssl_object") is not None
        )
        auth_login = session.auth_data if session.authenticated else None
        now = time.monotonic()
        message = ReceivedMessage(
            mail_from=envelope.mail_from or "",
            rcpt_tos=list(envelope.rcpt_tos),
            content=bytes(envelope.original_content or b""),
            auth_login=auth_login if isinstance(auth_login, str) else None,
            tls=tls,
            received_at=now,
            mail_options=list(envelope.mail_options),
            helo=session.host_name or "",
        )
        with server._lock:
            server.received.append(message)
            server.transactions.append(now)
        if fault == "accept_then_drop" or server._chaos_strikes("after_dot"):
            # RFC 1047: the message is kept, but the reply to the final dot never leaves.
            assert smtp.transport is not None
            smtp.transport.close()
            await asyncio.Event().wait()
        if fault == "accept_then_hang" or server._chaos_strikes("hang"):
            await asyncio.Event().wait()  # kept, and never answered: the client times out
        return "250 2.0.0 OK queued"


# --------------------------------------------------------------------------------------
# Server
# --------------------------------------------------------------------------------------


class SMTPTestServer:
    """A running SMTP server in a background thread.  Create with start_smtp_server()."""

    host: str
    port: int
    mode: str
    received: list[ReceivedMessage]
    ca_file: str | None
    cert_pem: bytes | None
    auth_attempts: int
    transactions: list[float]

    def __init__(
        self,
        *,
        mode: str,
        certificate: str,
        users: dict[str, str] | None,
        auth_require_tls: bool,
        auth_required: bool,
        fault: str | None,
        fault_count: int,
        refuse_recipients: dict[str, str] | None,
        latency: float,
        pipelining: bool = True,
        chaos: dict[str, float] | None = None,
        seed: int = 0,
    ) -> None:
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, not {mode!r}")
        if certificate not in CERTIFICATES:
            raise ValueError(f"certificate must be one of {CERTIFICATES}, not {certificate!r}")
        if fault is not None and fault not in FAULTS:
            raise ValueError(f"fault must be None or one of {FAULTS}, not {fault!r}")
        if fault_count < 0:
            raise ValueError("fault_count must be >= 0")
        for address, reply in (refuse_recipients or {}).items():
            if not reply[:3].isdigit() or reply[0] not in "45":
                raise ValueError(f"refusal for {address!r} must be a 4xx/5xx reply: {reply!r}")

        self.host = HOST
        self.port = 0
        self.mode = mode
        self.certificate = certificate
        self.received = []
        self.transactions = []
        self.auth_attempts = 0
        self.connections = 0  # TCP connections accepted (all kinds)
        self.active_sessions = 0  # SMTP sessions open now, and the most at once
        self.max_active_sessions = 0
        # step -> probability of dropping the connection there; may be changed (or set to None)
        # while the server runs. Every strike is logged in `chaos_log`.
        for step in chaos or {}:
            if step not in CHAOS_STEPS:
                raise ValueError(f"chaos steps are {CHAOS_STEPS}, not {step!r}")
        self.chaos = dict(chaos) if chaos else None
        self.chaos_log: list[str] = []
        # Steps that strike at their next chance whatever the draw (once each), so that a test
        # sees every kind of drop however the random draws fall.
        self.chaos_due: set[str] = set()
        self._random = random.Random(seed)

        self._users = dict(users) if users is not None else {}
        self._auth_require_tls = auth_require_tls
        self._auth_required = auth_required
        self._fault = fault
        self._fault_count = fault_count
        self._refuse_recipients = {k.lower(): v for k, v in (refuse_recipients or {}).items()}
        self._latency = latency
        self._pipelining = pipelining
        self._data_451_count = 0
        # A provider's quota: once this many messages were received, MAIL gets quota_reply
        # (set both from a test; quota_after None to lift it).
        self.quota_after: int | None = None
        self.quota_reply = "550 5.4.5 Daily user sending limit exceeded."

        self._lock = threading.Lock()
        self._transports: weakref.WeakSet[asyncio.BaseTransport] = weakref.WeakSet()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._aserver: asyncio.Server | None = None
        self._thread: threading.Thread | None = None
        self._start_error: BaseException | None = None
        self._stopped = False

        self._tls_context: ssl.SSLContext | None = None
        self.ca_file = None
        self.cert_pem = None
        if mode != "plain":
            files = _server_cert(certificate)
            self._tls_context = _server_ssl_context(files)
            self.ca_file = files.ca_file
            self.cert_pem = files.cert_pem

    def __repr__(self) -> str:
        return f"<SMTPTestServer {self.mode} {self.host}:{self.port} fault={self._fault}>"

    # -- public ----------------------------------------------------------------------

    def clear(self) -> None:
        """Forget received messages, transactions and AUTH attempts (faults keep counting)."""
        with self._lock:
            self.received.clear()
            self.transactions.clear()
            self.auth_attempts = 0

    def stop(self) -> None:
        """Close the listener and every open connection, then end the thread. Idempotent."""
        with self._lock:
            if self._stopped:
                return
            self._stopped = True
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        if thread.is_alive():
            with contextlib.suppress(RuntimeError):  # loop already closed
                future = asyncio.run_coroutine_threadsafe(self._shutdown(), loop)
                with contextlib.suppress(Exception):
                    future.result(timeout=_STOP_TIMEOUT)
                loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout=_STOP_TIMEOUT)
        if thread.is_alive():  # pragma: no cover - would be a bug
            raise RuntimeError(f"{self!r} did not stop")

    def __enter__(self) -> SMTPTestServer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- internals -------------------------------------------------------------------

    def _start(self) -> None:
        ready = threading.Event()
        self._thread = threading.Thread(
            target=self._run, args=(ready,), name="smtp-test-server", daemon=True
        )
        self._thread.start()
        if not ready.wait(_START_TIMEOUT):
            self.stop()
            raise TimeoutError("SMTP test server did not start")
        if self._start_error is not None:
            self._thread.join(_STOP_TIMEOUT)
            raise self._start_error
        self._thread.name = f"smtp-test-server-{self.port}"

    def _run(self, ready: threading.Event) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        asyncio.set_event_loop(loop)
        try:
            try:
                self._aserver = loop.run_until_complete(
                    loop.create_server(
                        self._protocol_factory,
                        host=HOST,
                        port=0,
                        ssl=self._tls_context if self.mode == "tls" else None,
                        ssl_handshake_timeout=10 if self.mode == "tls" else None,
                    )
                )
            except BaseException as error:
                self._start_error = error
                return
            self.port = self._aserver.sockets[0].getsockname()[1]
            # The listening socket is bound and listening: connections are accepted.
            loop.call_soon(ready.set)
            loop.run_forever()
        finally:
            ready.set()
            with contextlib.suppress(Exception):
                loop.run_until_complete(loop.shutdown_asyncgens())
                loop.run_until_complete(loop.shutdown_default_executor())
            asyncio.set_event_loop(None)
            loop.close()

    async def _shutdown(self) -> None:
        assert self._aserver is not None
        self._aserver.close()
        for transport in list(self._transports):
            transport.abort()  # type: ignore[attr-defined]
        await asyncio.sleep(0)  # let connection_lost() callbacks run
        current = asyncio.current_task()
        tasks = [task for task in asyncio.all_tasks() if task is not current]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._aserver.wait_closed(), timeout=2)

    def _track(self, transport: asyncio.BaseTransport) -> None:
        self._transports.add(transport)

    def _session_opened(self) -> None:
        with self._lock:
            self.active_sessions += 1
            self.max_active_sessions = max(self.max_active_sessions, self.active_sessions)

    def _session_closed(self) -> None:
        with self._lock:
            self.active_sessions -= 1

    def _chaos_strikes(self, step: str) -> bool:
        chaos = self.chaos
        if not chaos or step not in chaos:
            return False
        with self._lock:
            strikes = self._random.random() < chaos[step] or step in self.chaos_due
            self.chaos_due.discard(step)
            if strikes:
                self.chaos_log.append(step)
        return strikes

    def _protocol_factory(self) -> asyncio.BaseProtocol:
        with self._lock:
            self.connections += 1
            connection_number = self.connections
        fault = self._fault
        if fault in ("greet_421", "drop_on_connect", "hang", "banner_ssh", "banner_http"):
            return _RawFaultProtocol(self, fault)
        if fault == "connect_421_for_a_while" and (
            self._fault_count == 0 or connection_number <= self._fault_count
        ):
            return _RawFaultProtocol(self, "greet_421")
        return self._make_smtp()

    def _make_smtp(self) -> SMTP:
        mechanisms = ("PLAIN", "LOGIN") if self._users else ()
        all_builtin = ("PLAIN", "LOGIN")
        return _TestSMTP(
            self,
            _Handler(self),
            hostname="localhost",
            ident="ESMTP Eduka test server",
            enable_SMTPUTF8=True,
            tls_context=self._tls_context if self.mode == "starttls" else None,
            # Implicit TLS: every session is encrypted, but aiosmtpd only knows about
            # STARTTLS, so its check must be disabled there.
            auth_require_tls=self._auth_require_tls and self.mode != "tls",
            auth_exclude_mechanism=[m for m in all_builtin if m not in mechanisms],
            authenticator=self._authenticate,
            timeout=60,
            loop=self._loop,
        )

    def _authenticate(
        self,
        smtp: SMTP,
        session: Session,
        envelope: Envelope,
        mechanism: str,
        auth_data: Any,
    ) -> AuthResult:
        failed = AuthResult(success=False, handled=False, message=AUTH_FAILED_REPLY)
        if not isinstance(auth_data, LoginPassword):
            return failed
        try:
            login = auth_data.login.decode("utf-8")
            password = auth_data.password.decode("utf-8")
        except UnicodeDecodeError:
            return failed
        expected = self._users.get(login)
        if expected is None or not hmac.compare_digest(
            expected.encode("utf-8"), password.encode("utf-8")
        ):
            return failed
        return AuthResult(success=True, auth_data=login)


def start_smtp_server(
    *,
    mode: str = "plain",
    certificate: str = "ca",
    users: dict[str, str] | None = None,
    auth_require_tls: bool = False,
    auth_required: bool = False,
    fault: str | None = None,
    fault_count: int = 0,
    refuse_recipients: dict[str, str] | None = None,
    latency: float = 0.0,
    pipelining: bool = True,
    chaos: dict[str, float] | None = None,
    seed: int = 0,
) -> SMTPTestServer:
    """Start an SMTP server on 127.0.0.1 (free port); returns once it accepts connections.

    - mode: "plain" (no TLS), "starttls" (offers STARTTLS), "tls" (implicit TLS).
    - certificate: "ca" (signed by the test CA, see ``server.ca_file``) or "self-signed"
      (pin ``server.cert_pem``); "self-signed-other-name", "ca-other-name" (for another host
      name) and "self-signed-expired" test what a pin must still refuse.
    - users: enables AUTH PLAIN and LOGIN; exact comparison of UTF-8 passwords.
      Failures answer ``535 5.7.3 Authentication unsuccessful``.
    - auth_require_tls: AUTH is neither offered nor accepted (538) before STARTTLS.
    - auth_required: MAIL/RCPT/DATA before AUTH answer ``530 5.7.0``.
    - fault: see FAULTS; fault_count: how many times "data_451" or
      "connect_421_for_a_while" fail before working (0 = always).
    - refuse_recipients: address -> full reply ("550 5.1.1 User unknown") at RCPT TO.
    - latency: seconds to wait before answering DATA.
    - pipelining: offer PIPELINING (RFC 2920), as production servers do.
    - chaos: {step: probability} of dropping the connection at random moments, drawn from
      ``random.Random(seed)``: "mail" (at MAIL, nothing received), "data" (after 354, while the
      client writes: nothing kept), "after_dot" (message kept, connection closed before the
      reply: RFC 1047), "hang" (message kept, never answered).
    """
    server = SMTPTestServer(
        mode=mode,
        certificate=certificate,
        users=users,
        auth_require_tls=auth_require_tls,
        auth_required=auth_required,
        fault=fault,
        fault_count=fault_count,
        refuse_recipients=refuse_recipients,
        latency=latency,
        pipelining=pipelining,
        chaos=chaos,
        seed=seed,
    )
    server._start()
    return server


# --------------------------------------------------------------------------------------
# pytest fixtures
# --------------------------------------------------------------------------------------


@pytest.fixture
def smtp_server_factory():
    """``start_smtp_server`` whose servers are all stopped at teardown."""
    servers: list[SMTPTestServer] = []

    @functools.wraps(start_smtp_server)
    def factory(**kwargs: Any) -> SMTPTestServer:
        server = start_smtp_server(**kwargs)
        servers.append(server)
        return server

    yield factory
    for server in servers:
        server.stop()


@pytest.fixture
def smtp_server(smtp_server_factory) -> SMTPTestServer:
    """A plain SMTP server accepting AUTH from sender@example.org (password with spaces)."""
    return smtp_server_factory(users={"sender@example.org": "  secret with spaces  "})
