"""The mailing models, one file per room: sending accounts, mailings, inbound, wording, and
what other applications submit."""

from .inbound import InboundMessage
from .mailings import (
    Attachment,
    Mailing,
    MailingTemplate,
    Message,
    Recipient,
    RecipientCount,
    SuppressedAddress,
)
from .sending_accounts import AccountSlot, SendingAccount, WorkerProcess
from .submission import ApplicationAccess, SubmittedMessage
from .system_templates import SystemMailTemplate

__all__ = ["AccountSlot", "ApplicationAccess", "Attachment", "InboundMessage", "Mailing",
           "MailingTemplate", "Message", "Recipient", "RecipientCount", "SendingAccount",
           "SubmittedMessage", "SuppressedAddress", "SystemMailTemplate", "WorkerProcess"]
