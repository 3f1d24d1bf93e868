"""The SMS providers' adapters against local fakes of their APIs: the request each provider
documents (OVH's signature, Brevo's api-key), and every answer classified as the engine needs."""

import pytest
import requests

from mailing.engine.channel import DeliveryFailure, ErrorKind
from mailing.sms.providers import choices, provider
from tests.sms_providers import BREVO_CREDENTIALS, OVH_CREDENTIALS, FakeProvider

CREDENTIALS = {"ovh": OVH_CREDENTIALS, "brevo": BREVO_CREDENTIALS}


@pytest.fixture(params=["ovh", "brevo"])
def fake(request, settings):
    server = FakeProvider(request.param)
    settings.SMS_OVH_URL = settings.SMS_BREVO_URL = server.url
    settings.SMS_HTTP_TIMEOUT = 1.0
    yield server
    server.stop()


def _send(fake, numbers, text="Réunion parents-professeurs jeudi à 18 h.", credentials=None):
    return provider(fake.kind).send(requests.Session(), credentials or CREDENTIALS[fake.kind],
                                    "COLLEGE", numbers, text,
                                    callback_url="https://eduka.example.org/sms/hook/x/")


def test_an_sms_leaves_in_the_providers_own_format(fake):
    sent = _send(fake, ["+33612345678"])
    assert fake.sent == [("+33612345678", "Réunion parents-professeurs jeudi à 18 h.")]
    assert sent.ids == ["1001"] and not sent.refused
    assert "1001" in sent.reply  # the provider's answer, as it gave it
    body = fake.requests[0].body
    if fake.kind == "ovh":
        assert body["sender"] == "COLLEGE" and body["callBack"].endswith("/sms/hook/x/")
    else:
        assert body["recipient"] == "33612345678" and body["webUrl"].endswith("/sms/hook/x/")


def test_wrong_credentials_are_an_account_error_with_the_providers_words(fake):
    wrong = {**CREDENTIALS[fake.kind], "api_key": "nope", "application_secret": "nope"}
    with pytest.raises(DeliveryFailure) as failure:
        _send(fake, ["+33612345678"], credentials=wrong)
    assert failure.value.kind == ErrorKind.AUTHENTICATION
    assert ("Invalid signature" if fake.kind == "ovh" else "Key not found") in str(failure.value)
    assert fake.sent == []


@pytest.mark.parametrize("status,kind", [(429, ErrorKind.TEMPORARY), (500, ErrorKind.TEMPORARY),
                                         (503, ErrorKind.TEMPORARY)])
def test_busy_or_broken_providers_are_temporary(fake, status, kind):
    fake.answer_next(status, {"message": "Too many requests, slow down"})
    with pytest.raises(DeliveryFailure) as failure:
        _send(fake, ["+33612345678"])
    assert (failure.value.kind, failure.value.code) == (kind, status)
    assert failure.value.transient


def test_an_empty_credit_pauses_the_account_with_the_reason(fake):
    if fake.kind == "brevo":
        fake.answer_next(402, {"code": "not_enough_credits",
                               "message": "You don't have enough credits to send SMS"})
    else:
        fake.answer_next(403, {"message": "Not enough credits to send the SMS"})
    with pytest.raises(DeliveryFailure) as failure:
        _send(fake, ["+33612345678"])
    assert failure.value.kind == ErrorKind.POLICY  # the engine pauses the account on it
    assert "credits" in failure.value.server_reply


def test_an_invalid_number_fails_alone_with_the_providers_words(fake):
    fake.invalid_numbers.add("+33600000000")
    if fake.kind == "ovh":  # one job: the refused number is named in the answer
        sent = _send(fake, ["+33612345678", "+33600000000"])
        assert list(sent.refused) == ["+33600000000"]
        assert fake.sent == [("+33612345678", "Réunion parents-professeurs jeudi à 18 h.")]
    else:  # one call per number: that call is refused
        with pytest.raises(DeliveryFailure) as failure:
            _send(fake, ["+33600000000"])
        assert failure.value.kind == ErrorKind.PERMANENT
        assert "Invalid phone number" in failure.value.server_reply


def test_a_provider_that_does_not_answer_in_time_is_temporary(fake):
    fake.delay = 2.0
    with pytest.raises(DeliveryFailure) as failure:
        _send(fake, ["+33612345678"])
    assert failure.value.kind == ErrorKind.TIMEOUT and failure.value.transient


def test_a_provider_that_is_not_there_is_temporary(settings):
    settings.SMS_BREVO_URL = "http://127.0.0.1:9"  # discard port: nothing listens
    with pytest.raises(DeliveryFailure) as failure:
        provider("brevo").send(requests.Session(), BREVO_CREDENTIALS, "COLLEGE",
                               ["+33612345678"], "x")
    assert failure.value.kind == ErrorKind.CONNECTION


def test_every_provider_is_offered():
    assert [code for code, _ in choices()] == ["ovh", "brevo"]
