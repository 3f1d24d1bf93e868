"""Drive the sign-in with Microsoft / Google through the local authorization server
(tests/oauth_servers.py) with Django's test client."""

from urllib.parse import parse_qs, urlsplit

import requests
from django.urls import reverse


def start(client, account, provider="microsoft"):
    """POST the button; returns the response (a redirect to the authorization server)."""
    return client.post(reverse("mailing:account_oauth_start", args=[account.pk, provider]))


def consent(authorize_url: str) -> str:
    """What the browser does at the provider: the authorization server consents at once and
    redirects back; returns the callback's path and query (on this site)."""
    answer = requests.get(authorize_url, allow_redirects=False, timeout=5)
    assert answer.status_code == 302, answer.text
    back = urlsplit(answer.headers["Location"])
    return f"{back.path}?{back.query}"


def sign_in(client, account, provider="microsoft"):
    """The whole round trip; returns the callback's response."""
    response = start(client, account, provider)
    assert response.status_code == 302, response
    return client.get(consent(response["Location"]))


def authorize_query(response) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(response["Location"]).query).items()}
