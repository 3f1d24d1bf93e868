"""E-mail as a channel of the engine (mailing/engine/channel.py): payloads built by the
mailing renderer (or taken as submitted by another application), connections by the SMTP
client layer."""

from mailing.engine.channel import Builder
from mailing.mailings.rendering import MailingRenderer, envelope_sender
from mailing.models import Mailing
from mailing.submission.payload import RelayedBuilder

from .services import account_connection_settings
from .smtp import SMTPConnection


class EmailChannel:
    def builder(self, mailing) -> Builder:
        if mailing.mode == Mailing.Mode.RELAYED:
            return RelayedBuilder(mailing)  # submitted by another application: sent as is
        return MailingRenderer(mailing)

    def sender(self, account, message_pk: int) -> str:
        return envelope_sender(account, message_pk)

    def connect(self, account) -> SMTPConnection:
        # Inside the caller's error handling: even building the settings (an unreadable
        # password) ends as a classified DeliveryFailure.
        connection = SMTPConnection(account_connection_settings(account))
        connection.open()
        return connection
