"""An SMTP server that offers DSN (RFC 3461), for testing that the client asks for it.

aiosmtpd answers 555 to any MAIL / RCPT parameter it does not know, before handler hooks run;
this server's SMTP class lets the DSN parameters through (RET and ENVID on MAIL, NOTIFY and
ORCPT on RCPT) and advertises DSN in EHLO. What each transaction carried is recorded. Note
that aiosmtpd upper-cases parameters, so ENVID and ORCPT values come back upper-cased.
"""

import socket
import threading
from dataclasses import dataclass, field

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP

DSN_PARAMETERS = {"RET", "ENVID", "NOTIFY", "ORCPT"}


@dataclass
class Transaction:
    mail_from: str
    mail_options: list[str]
    rcpt_tos: list[str]
    rcpt_options: list[list[str]]
    content: bytes = field(repr=False)


class _DSNSMTP(SMTP):
    def _getparams(self, params):
        result = super()._getparams(params)
        if result is None:
            return None
        # Accepted here, left in the options the handler receives.
        return {key: value for key, value in result.items() if key not in DSN_PARAMETERS}


class _Handler:
    def __init__(self, server: "DSNServer"):
        self.server = server

    async def handle_EHLO(self, smtp, session, envelope, hostname, responses):  # noqa: N802
        session.host_name = hostname
        if self.server.offer_dsn:
            responses.insert(-1, "250-DSN")
        return responses

    async def handle_RCPT(self, smtp, session, envelope, address, rcpt_options):  # noqa: N802
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.append(list(rcpt_options))
        return "250 2.1.5 OK"

    async def handle_DATA(self, smtp, session, envelope):  # noqa: N802
        with self.server.lock:
            self.server.transactions.append(Transaction(
                mail_from=envelope.mail_from, mail_options=list(envelope.mail_options),
                rcpt_tos=list(envelope.rcpt_tos), rcpt_options=list(envelope.rcpt_options),
                content=bytes(envelope.original_content)))
        return "250 2.0.0 OK queued"


class _Controller(Controller):
    def factory(self):
        return _DSNSMTP(self.handler, **self.SMTP_kwargs)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class DSNServer:
    """Start with `DSNServer(offer_dsn=True).start()`; `.stop()` at the end."""

    def __init__(self, *, offer_dsn: bool = True):
        self.offer_dsn = offer_dsn
        self.host = "127.0.0.1"
        self.port = _free_port()
        self.transactions: list[Transaction] = []
        self.lock = threading.Lock()
        self._controller = _Controller(_Handler(self), hostname=self.host, port=self.port)

    def start(self) -> "DSNServer":
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()
