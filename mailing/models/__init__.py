"""The mailing models, one file per room: sending accounts, mailings, inbound, wording."""

from .inbound import InboundMessage
from .mailings import Attachment, Mailing, MailingTemplate, Message, Recipient, SuppressedAddress
from .sending_accounts import AccountSlot, SendingAccount, WorkerProcess
from .system_templates import SystemMailTemplate

__all__ = ["AccountSlot", "Attachment", "InboundMessage", "Mailing", "MailingTemplate",
           "Message", "Recipient", "SendingAccount", "SuppressedAddress", "SystemMailTemplate",
           "WorkerProcess"]
