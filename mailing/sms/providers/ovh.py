"""OVHcloud SMS: POST /1.0/sms/{service}/jobs, each request signed as OVH's API asks
(X-Ovh-Application, X-Ovh-Consumer, X-Ovh-Timestamp and X-Ovh-Signature = "$1$" + SHA-1 of
application secret + consumer key + method + URL + body + timestamp, joined by "+"). The
answer lists the job's ids and the numbers it refused (`invalidReceivers`). Delivery reports
come to the job's `callBack` URL."""

import hashlib
import time

from django.utils.translation import gettext_lazy as _

from mailing.engine.channel import ErrorKind

from .base import Provider, Sent, call, json_body


def signature(secret: str, consumer: str, method: str, url: str, body: str,
              timestamp: str) -> str:
    joined = "+".join([secret, consumer, method, url, body, timestamp])
    return "$1$" + hashlib.sha1(joined.encode()).hexdigest()  # noqa: S324 (OVH's scheme)


class OVHcloud(Provider):
    code = "ovh"
    label = "OVHcloud SMS"
    fields = (("service_name", _("SMS service name (sms-ab12345-1)"), False),
              ("application_key", _("Application key"), False),
              ("application_secret", _("Application secret"), True),
              ("consumer_key", _("Consumer key"), True))
    base_url_setting = "SMS_OVH_URL"

    def send(self, session, credentials, sender, numbers, text, *, callback_url=""):
        url = f"{self.base_url()}/1.0/sms/{credentials.get('service_name', '')}/jobs"
        job = {"message": text, "receivers": numbers, "sender": sender, "charset": "UTF-8",
               "noStopClause": False, "priority": "high"}
        if callback_url:
            job["callBack"] = callback_url
        body = json_body(job)
        timestamp = str(int(time.time()))
        headers = {
            "X-Ovh-Application": credentials.get("application_key", ""),
            "X-Ovh-Consumer": credentials.get("consumer_key", ""),
            "X-Ovh-Timestamp": timestamp,
            "X-Ovh-Signature": signature(credentials.get("application_secret", ""),
                                         credentials.get("consumer_key", ""), "POST", url,
                                         body.decode(), timestamp),
            "Content-Type": "application/json",
        }
        answer = call(self, session, "POST", url, headers=headers, body=body)
        refused = {number: answer["_raw"] for number in answer.get("invalidReceivers") or []}
        return Sent(ids=[str(i) for i in answer.get("ids") or []], refused=refused,
                    reply=answer["_raw"], status=answer["_status"])

    def failure_kind(self, status, answer, text):
        if "credit" in text.lower():
            return ErrorKind.POLICY
        return super().failure_kind(status, answer, text)
