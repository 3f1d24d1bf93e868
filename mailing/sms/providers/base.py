"""What every SMS provider implements, and the HTTP call they share: a JSON request with a
timeout, its answer classified the way the engine classifies an SMTP reply — 429, 5xx and
timeouts are temporary (retried with the engine's back-off), a refused number fails that
recipient with the provider's own words, bad credentials and an empty credit pause the account
with the provider's reason."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import requests
from django.conf import settings

from mailing.engine.channel import DeliveryFailure, ErrorKind


@dataclass
class Sent:
    """What the provider answered for one SMS job: its ids, the numbers it refused and why,
    and its answer as it gave it (shown verbatim by 'Tester')."""

    ids: list[str]
    refused: dict[str, str] = field(default_factory=dict)
    reply: str = ""
    status: int = 200  # the HTTP status of the answer


class Provider:
    """One provider's API. `credentials` is the dict the account keeps encrypted; `fields`
    names its keys as (key, label, secret), in the order the account form asks for them (a
    secret is never shown back)."""

    code = ""
    label = ""
    fields: tuple[tuple[str, str, bool], ...] = ()
    #: Setting holding the API's base URL (tests point it at a local fake).
    base_url_setting = ""

    def base_url(self) -> str:
        return getattr(settings, self.base_url_setting).rstrip("/")

    def send(self, session: requests.Session, credentials: dict, sender: str,
             numbers: list[str], text: str, *, callback_url: str = "") -> Sent:
        raise NotImplementedError

    def failure_kind(self, status: int, answer: dict, text: str) -> ErrorKind:
        """The kind of a refusal: the HTTP status first; providers refine it."""
        if status == 429 or status >= 500:
            return ErrorKind.TEMPORARY
        if status in (401, 403):
            return ErrorKind.AUTHENTICATION
        if status == 402:
            return ErrorKind.POLICY  # no credit left: the account waits for a top-up
        return ErrorKind.PERMANENT


def call(provider: Provider, session: requests.Session, method: str, url: str, *,
         headers: dict, body: bytes | None = None) -> dict:
    """One API call; returns the JSON answer of a 2xx, raises a classified DeliveryFailure
    otherwise (with the provider's own text)."""
    try:
        response = session.request(method, url, data=body, headers=headers,
                                   timeout=settings.SMS_HTTP_TIMEOUT)
    except requests.Timeout as error:
        raise DeliveryFailure(ErrorKind.TIMEOUT, f"{provider.label}: {error}") from error
    except requests.RequestException as error:
        raise DeliveryFailure(ErrorKind.CONNECTION, f"{provider.label}: {error}") from error
    text = response.text[:1000]
    try:
        answer = response.json() if text else {}
    except ValueError:
        answer = {}
    if response.status_code >= 300:
        raise DeliveryFailure(provider.failure_kind(response.status_code, answer, text),
                              text or response.reason, code=response.status_code)
    if not isinstance(answer, dict):
        answer = {"answer": answer}
    answer.setdefault("_raw", text)
    answer["_status"] = response.status_code
    return answer


def json_body(data: dict) -> bytes:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()
