"""What the engine needs of a sending channel, and nothing more: build a message's payload,
open a connection, send, and a classified outcome. E-mail over SMTP implements it
(mailing/sending_accounts/channel.py), SMS through a provider's HTTP API the same way
(mailing/sms/channel.py).

The engine leases, paces, retries, records and recovers; it never speaks a channel's protocol.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from functools import cache
from typing import Protocol

from django.utils.module_loading import import_string


class ErrorKind(StrEnum):
    AUTHENTICATION = "authentication"
    CONNECTION = "connection"
    TLS = "tls"
    CERTIFICATE = "certificate"
    TIMEOUT = "timeout"
    TEMPORARY = "temporary"
    PERMANENT = "permanent"
    POLICY = "policy"
    # The provider's own sending quota is spent ("550 5.4.5 Daily user sending limit
    # exceeded"): nothing is wrong with the message or the account; sending waits.
    QUOTA = "quota"


TRANSIENT_KINDS = {ErrorKind.CONNECTION, ErrorKind.TIMEOUT, ErrorKind.TEMPORARY}
# Errors that mean the account's settings are wrong: retrying would only hammer the server, so
# the account is paused until an administrator fixes it.
ACCOUNT_ERRORS = {ErrorKind.AUTHENTICATION, ErrorKind.TLS, ErrorKind.CERTIFICATE,
                  ErrorKind.POLICY}


class DeliveryFailure(Exception):
    """A failed step, classified, with the remote side's own code and text when it gave one."""

    def __init__(self, kind: ErrorKind, text: str, code: int | None = None):
        super().__init__(f"{code} {text}" if code else text)
        self.kind = kind
        self.code = code
        self.text = text
        # The whole message was handed over, then the connection was lost or the answer never
        # came (RFC 1047 for SMTP): it may have arrived, so its fate is unknown — never a
        # temporary failure to retry.
        self.after_final_dot = False

    @property
    def transient(self) -> bool:
        return self.kind in TRANSIENT_KINDS

    @property
    def server_reply(self) -> str:
        """What the remote side said, as it said it ('535 5.7.3 Authentication unsuccessful')."""
        return f"{self.code} {self.text}" if self.code else self.text


class BuildFailure(Exception):
    """A message that cannot be built, for a reason shown as is (translated): its recipients
    fail for good with it; the mailing's other messages go out."""


@dataclass
class SendResult:
    accepted: list[str]
    refused: dict[str, tuple[int, str]]
    reply: str = ""  # the remote side's answer, e.g. "250 2.0.0 Ok: queued as 4XyZ"
    # address -> the remote side's own id of what it accepted for that address, where its
    # later reports name that id rather than ours (an SMS provider's message id).
    references: dict[str, str] = field(default_factory=dict)


class Connection(Protocol):
    def send(self, payload: bytes, sender: str, recipients: list[str], *,
             while_waiting=None) -> SendResult:
        """One transaction. Raises DeliveryFailure; `while_waiting` is called once the payload
        is handed over, while the remote side answers."""

    def is_alive(self) -> bool: ...

    def close(self) -> None: ...


class Builder(Protocol):
    def build(self, message, envelope) -> bytes: ...


class Channel(Protocol):
    def builder(self, mailing) -> Builder:
        """What builds the payloads of one mailing (made once, used for each message)."""

    def sender(self, account, message_pk: int) -> str:
        """The envelope sender of a message (where reports about it come back)."""

    def connect(self, account) -> Connection:
        """An open, authenticated connection; raises DeliveryFailure."""


CHANNELS = {"email": "mailing.sending_accounts.channel.EmailChannel",
            "sms": "mailing.sms.channel.SmsChannel"}


@cache
def channel_for(kind: str = "email") -> Channel:
    return import_string(CHANNELS[kind])()


def account_channel(account) -> Channel:
    """The channel an account sends on: SMS for an SMS account, e-mail for the others."""
    return channel_for("sms" if account.is_sms else "email")
