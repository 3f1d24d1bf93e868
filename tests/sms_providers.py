"""Local fakes of the SMS providers' HTTP APIs (OVHcloud, Brevo), speaking their documented
request and answer formats: they check the credentials (OVH's request signature, Brevo's
api-key), record every request, and can be told to answer 429, 500, an invalid number, an
empty credit, or slowly. Nothing here reaches the internet."""

from __future__ import annotations

import hashlib
import itertools
import json
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

OVH_CREDENTIALS = {"application_key": "ak-test", "application_secret": "as-test",
                   "consumer_key": "ck-test", "service_name": "sms-ab12345-1"}
BREVO_CREDENTIALS = {"api_key": "xkeysib-test"}


@dataclass
class Request:
    method: str
    path: str
    headers: dict
    body: dict


class FakeProvider:
    def __init__(self, kind: str):
        self.kind = kind
        self.requests: list[Request] = []
        self.scripted: list[tuple[int, dict]] = []  # answers given before the normal ones
        self.invalid_numbers: set[str] = set()
        self.accepted: list[tuple[str, str]] = []
        # (provider id, number, receipt URL) of every SMS accepted with a receipt URL.
        self.callbacks: list[tuple[str, str, str]] = []
        self.delay = 0.0
        self._ids = itertools.count(1001)
        self._lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def answer_next(self, status: int, body: dict) -> None:
        self.scripted.append((status, body))

    @property
    def sent(self) -> list[tuple[str, str]]:
        """(number, text) of every SMS the fake accepted, in order."""
        return list(self.accepted)

    def receipt(self, provider_id: str, status: str) -> tuple[str, str, dict]:
        """The call the provider makes to report on one SMS, as (method, path, data): OVH's
        GET with `id` and `dlr` (1 delivered, 2/16 failed, 4/8 on the way), Brevo's JSON POST
        with `messageId` and `msg_status` (delivered, hardBounce, sent…)."""
        url = next(u for i, _n, u in self.callbacks if i == provider_id)
        path = "/" + url.split("/", 3)[3]
        if self.kind == "ovh":
            return "GET", path, {"id": provider_id, "dlr": status, "description": f"DLR {status}",
                                 "ptt": "0", "date": "2026-12-04 10:00:00"}
        return "POST", path, {"messageId": int(provider_id), "msg_status": status,
                              "description": status, "to": "33600000000"}

    def report_all(self, status: str) -> list[int]:
        """Call every recorded receipt URL over HTTP with `status`; their HTTP answers."""
        import requests

        answers = []
        for provider_id, _number, url in list(self.callbacks):
            method, _path, data = self.receipt(provider_id, status)
            if method == "GET":
                answers.append(requests.get(url, params=data, timeout=10).status_code)
            else:
                answers.append(requests.post(url, json=data, timeout=10).status_code)
        return answers

    # -- answers --------------------------------------------------------------------------

    def _respond(self, request: Request, url: str) -> tuple[int, dict]:
        if self.delay:
            time.sleep(self.delay)
        with self._lock:
            if self.scripted:
                return self.scripted.pop(0)
            if self.kind == "ovh":
                return self._ovh(request, url)
            return self._brevo(request)

    def _ovh(self, request: Request, url: str) -> tuple[int, dict]:
        creds = OVH_CREDENTIALS
        joined = "+".join([creds["application_secret"], creds["consumer_key"], request.method,
                           url, request.raw, request.headers.get("X-Ovh-Timestamp", "")])
        expected = "$1$" + hashlib.sha1(joined.encode()).hexdigest()  # noqa: S324
        if (request.headers.get("X-Ovh-Application") != creds["application_key"]
                or request.headers.get("X-Ovh-Signature") != expected):
            return 403, {"errorCode": "INVALID_SIGNATURE", "httpCode": "403 Forbidden",
                         "message": "Invalid signature"}
        valid = [n for n in request.body["receivers"] if n not in self.invalid_numbers]
        invalid = [n for n in request.body["receivers"] if n in self.invalid_numbers]
        self.accepted += [(n, request.body["message"]) for n in valid]
        ids = [next(self._ids) for _ in valid]
        if request.body.get("callBack"):
            url = request.body["callBack"]
            self.callbacks += [(str(i), n, url) for i, n in zip(ids, valid, strict=True)]
        return 200, {"totalCreditsRemoved": len(valid), "invalidReceivers": invalid,
                     "validReceivers": valid, "ids": ids}

    def _brevo(self, request: Request) -> tuple[int, dict]:
        if request.headers.get("api-key") != BREVO_CREDENTIALS["api_key"]:
            return 401, {"code": "unauthorized", "message": "Key not found"}
        if "+" + request.body.get("recipient", "") in self.invalid_numbers:
            return 400, {"code": "invalid_parameter", "message": "Invalid phone number"}
        self.accepted.append(("+" + request.body["recipient"], request.body["content"]))
        message_id = next(self._ids)
        if request.body.get("webUrl"):
            self.callbacks.append((str(message_id), "+" + request.body["recipient"],
                                   request.body["webUrl"]))
        return 201, {"messageId": message_id}

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's name)
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
                request = Request("POST", self.path, dict(self.headers.items()),
                                  json.loads(raw or "{}"))
                request.raw = raw
                with fake._lock:
                    fake.requests.append(request)
                status, body = fake._respond(request, f"{fake.url}{self.path}")
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        return Handler


@pytest.fixture
def ovh(settings):
    """A local OVHcloud SMS API, where the application's OVH calls go."""
    server = FakeProvider("ovh")
    settings.SMS_OVH_URL = server.url
    yield server
    server.stop()


@pytest.fixture
def brevo(settings):
    """A local Brevo SMS API, where the application's Brevo calls go."""
    server = FakeProvider("brevo")
    settings.SMS_BREVO_URL = server.url
    yield server
    server.stop()
