"""SMS as a channel of the engine (mailing/engine/channel.py): the payload is the mailing's text
filled in for the recipient, the "connection" an HTTP session with the account's provider, and
the provider's answer is classified like an SMTP reply. The engine leases, paces, retries,
records and recovers SMS exactly as it does e-mail.

Each message carries one number: a provider answers per call, and a call that fails after some
SMS left could not say which — one number per call leaves nothing ambiguous."""

import re

import requests
from django.conf import settings
from django.urls import reverse
from django.utils.translation import gettext as _

from mailing.engine.channel import BuildFailure, DeliveryFailure, ErrorKind, SendResult
from mailing.mailings.templating import RenderBudget, compile_template
from mailing.models import SendingAccount
from mailing.sms import segments
from mailing.sms.accounts import stored_credentials
from mailing.sms.providers import provider

_BLANK_LINES = re.compile(r"\n{3,}")


def sms_text(rendered: str) -> str:
    """A filled-in text as it is sent: Windows line ends and runs of blank lines (a variable
    left empty) tidied, no spaces at either end."""
    return _BLANK_LINES.sub("\n\n", rendered.replace("\r\n", "\n")).strip()


class SmsBuilder:
    """Made once per mailing: the text compiled once, filled in for each recipient."""

    def __init__(self, mailing):
        self.text = compile_template(mailing.body_text)

    def text_for(self, context: dict) -> str:
        """The SMS of one recipient, filled in under the worker's caps (RenderBudget)."""
        return sms_text(self.text.render(context, RenderBudget()))

    def build(self, message, envelope) -> bytes:
        text = self.text_for(message.context)
        if not text:
            raise BuildFailure(_("The SMS is empty for this recipient."))
        parts = segments.count(text).segments
        if parts > settings.SMS_MAX_PARTS:
            raise BuildFailure(_("The SMS would take %(parts)s parts for this recipient; at "
                                 "most %(max)s are sent.") % {"parts": parts,
                                                              "max": settings.SMS_MAX_PARTS})
        return text.encode()


def receipts_url(account: SendingAccount) -> str:
    """Where the provider reports what became of each SMS (mailing.sms.receipts)."""
    return settings.SITE_URL + reverse("sms_receipts", args=[account.pk,
                                                             account.sms_webhook_token()])


class SmsConnection:
    """The engine's connection to an SMS provider: one HTTP session, kept alive between SMS."""

    def __init__(self, account: SendingAccount):
        self.provider = provider(account.sms_provider)
        self.credentials = stored_credentials(account)
        if not self.credentials:
            raise DeliveryFailure(ErrorKind.AUTHENTICATION, _(
                "The provider's credentials cannot be read: type them again on the account."))
        self.callback_url = receipts_url(account)
        self.session = requests.Session()

    def send(self, payload: bytes, sender: str, recipients: list[str], *,
             while_waiting=None) -> SendResult:
        sent = self.provider.send(self.session, self.credentials, sender, recipients,
                                  payload.decode(), callback_url=self.callback_url)
        # A number the provider refused fails alone, with the provider's words (no SMTP code).
        refused = {number: (0, text) for number, text in sent.refused.items()}
        accepted = [number for number in recipients if number not in refused]
        references = dict(zip(accepted, sent.ids, strict=False)) \
            if len(sent.ids) == len(accepted) else {}
        return SendResult(accepted=accepted, refused=refused,
                          reply=f"{sent.status} {sent.reply}", references=references)

    def is_alive(self) -> bool:
        return True  # HTTP: each call stands alone

    def close(self) -> None:
        self.session.close()


class SmsChannel:
    def builder(self, mailing) -> SmsBuilder:
        return SmsBuilder(mailing)

    def sender(self, account, message_pk: int) -> str:
        return account.sms_sender_id

    def connect(self, account) -> SmsConnection:
        return SmsConnection(account)
