"""Brevo (ex-Sendinblue) transactional SMS: POST /v3/transactionalSMS/send with the account's
`api-key` header; the number is international without its "+"; the answer names the
message (`messageId`). Delivery reports come to the URL given as `webUrl`."""

from django.utils.translation import gettext_lazy as _

from mailing.engine.channel import ErrorKind

from .base import Provider, Sent, call, json_body


class Brevo(Provider):
    code = "brevo"
    label = "Brevo"
    fields = (("api_key", _("API key"), True),)
    base_url_setting = "SMS_BREVO_URL"

    def send(self, session, credentials, sender, numbers, text, *, callback_url=""):
        ids, refused, replies, status = [], {}, [], 200
        for number in numbers:  # the API takes one recipient per call
            body = {"sender": sender, "recipient": number.lstrip("+"), "content": text,
                    "type": "transactional", "unicodeEnabled": True}
            if callback_url:
                body["webUrl"] = callback_url
            answer = call(self, session, "POST", f"{self.base_url()}/v3/transactionalSMS/send",
                          headers={"api-key": credentials.get("api_key", ""),
                                   "accept": "application/json",
                                   "content-type": "application/json"},
                          body=json_body(body))
            ids.append(str(answer.get("messageId", "")))
            replies.append(answer["_raw"])
            status = answer["_status"]
        return Sent(ids=ids, refused=refused, reply="\n".join(replies), status=status)

    def failure_kind(self, status, answer, text):
        code = str(answer.get("code", "")) if isinstance(answer, dict) else ""
        if code == "not_enough_credits" or "credit" in text.lower():
            return ErrorKind.POLICY
        if code == "unauthorized":
            return ErrorKind.AUTHENTICATION
        return super().failure_kind(status, answer, text)
