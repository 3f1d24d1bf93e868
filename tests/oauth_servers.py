"""A local OAuth2 authorization server and an SMTP server that accepts XOAUTH2 only with a
token that server currently considers valid. No test reaches Microsoft or Google.

The authorization server (a threaded http.server on 127.0.0.1) does what the providers do:
- GET /authorize consents at once for `mailbox` and redirects back with a code and the state;
- POST /token exchanges a code (checking the redirect URI and the PKCE S256 verifier) and
  refreshes, issuing short-lived access tokens (`access_ttl` seconds) and an id_token; a
  revoked grant answers `invalid_grant` with Microsoft's wording.
Every request is recorded (`requests`); `refreshes` counts the refresh_token grants.

Fixtures: `oauth_server` (and the settings pointing both providers at it) and
`xoauth2_smtp_server`. PYTEST_DONT_REWRITE.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from aiosmtpd.smtp import AuthResult

from tests.smtp_servers import SMTPTestServer, _Handler, _TestSMTP

CLIENT_ID = "eduka-test-client"
CLIENT_SECRET = "client-secret-of-the-test-app"  # noqa: S105
REVOKED_TEXT = ("AADSTS50173: The provided grant has expired due to it being revoked, a fresh "
                "auth token is needed.")


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


@dataclass
class _Grant:
    mailbox: str
    refresh_token: str
    revoked: bool = False


@dataclass
class OAuthTestServer:
    mailbox: str = "secretariat@college.example.org"
    access_ttl: int = 3600
    host: str = "127.0.0.1"
    port: int = 0
    requests: list[dict] = field(default_factory=list, repr=False)
    refreshes: int = 0
    # Seconds the token endpoint takes to answer (to widen races in concurrency tests).
    token_latency: float = 0.0
    _codes: dict[str, dict] = field(default_factory=dict, repr=False)
    _grants: dict[str, _Grant] = field(default_factory=dict, repr=False)  # refresh token -> grant
    # access token -> (mailbox, expiry)
    _access: dict[str, tuple[str, float]] = field(default_factory=dict, repr=False)
    _lock: Any = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    # -- what tests ask ------------------------------------------------------------------

    def token_owner(self, token: str) -> str | None:
        """The mailbox an access token is valid for now, or None (unknown, expired, revoked)."""
        with self._lock:
            entry = self._access.get(token)
        if entry is None or entry[1] <= time.time():
            return None
        return entry[0]

    def revoke(self) -> None:
        """Revoke every grant and every access token (the mailbox's password changed)."""
        with self._lock:
            for grant in self._grants.values():
                grant.revoked = True
            self._access.clear()

    def expire_access_tokens(self) -> None:
        with self._lock:
            self._access = {t: (m, 0.0) for t, (m, _) in self._access.items()}

    def issued_tokens(self) -> list[str]:
        """Every refresh and access token issued (to check they are stored nowhere readable)."""
        with self._lock:
            return [*self._grants, *self._access]

    # -- endpoints -----------------------------------------------------------------------

    def authorize(self, query: dict[str, str]) -> str:
        """The Location of the redirect back to the client."""
        code = secrets.token_urlsafe(24)
        with self._lock:
            self._codes[code] = {"client_id": query.get("client_id"),
                                 "redirect_uri": query.get("redirect_uri"),
                                 "challenge": query.get("code_challenge"),
                                 "method": query.get("code_challenge_method"),
                                 "scope": query.get("scope")}
        back = {"code": code, "state": query.get("state", "")}
        return f"{query['redirect_uri']}?{urlencode(back)}"

    def token(self, form: dict[str, str], client_id: str | None) -> tuple[int, dict]:
        if client_id != CLIENT_ID:
            return 401, {"error": "invalid_client"}
        if self.token_latency:
            time.sleep(self.token_latency)
        grant_type = form.get("grant_type")
        if grant_type == "authorization_code":
            return self._code_grant(form)
        if grant_type == "refresh_token":
            with self._lock:
                self.refreshes += 1
                grant = self._grants.get(form.get("refresh_token", ""))
            if grant is None or grant.revoked:
                return 400, {"error": "invalid_grant", "error_description": REVOKED_TEXT}
            return 200, self._issue(grant.mailbox, grant.refresh_token)
        return 400, {"error": "unsupported_grant_type"}

    def _code_grant(self, form: dict[str, str]) -> tuple[int, dict]:
        with self._lock:
            code = self._codes.pop(form.get("code", ""), None)  # a code is used once
        verifier = form.get("code_verifier", "")
        if (code is None or code["redirect_uri"] != form.get("redirect_uri")
                or code["method"] != "S256" or not verifier
                or not hmac.compare_digest(_b64url(hashlib.sha256(verifier.encode()).digest()),
                                           code["challenge"] or "")):
            return 400, {"error": "invalid_grant",
                         "error_description": "AADSTS501481: The Code_Verifier does not match "
                                              "the code_challenge supplied in the request."}
        refresh_token = secrets.token_urlsafe(32)
        with self._lock:
            self._grants[refresh_token] = _Grant(self.mailbox, refresh_token)
        return 200, self._issue(self.mailbox, refresh_token, id_token=True)

    def _issue(self, mailbox: str, refresh_token: str, *, id_token: bool = False) -> dict:
        access = secrets.token_urlsafe(32)
        with self._lock:
            self._access[access] = (mailbox, time.time() + self.access_ttl)
        body = {"token_type": "Bearer", "access_token": access, "expires_in": self.access_ttl,
                "refresh_token": refresh_token, "scope": "https://outlook.office.com/SMTP.Send"}
        if id_token:
            header = _b64url(json.dumps({"alg": "RS256", "typ": "JWT"}).encode())
            claims = _b64url(json.dumps({
                "iss": f"{self.url}/v2.0", "aud": CLIENT_ID, "sub": "subject-1",
                "preferred_username": mailbox, "email": mailbox,
                "exp": int(time.time()) + 3600}).encode())
            body["id_token"] = f"{header}.{claims}.{_b64url(b'not-checked')}"
        return body

    # -- running ---------------------------------------------------------------------------

    def start(self) -> OAuthTestServer:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def do_GET(self):  # noqa: N802
                parts = urlsplit(self.path)
                query = {k: v[0] for k, v in parse_qs(parts.query).items()}
                server.requests.append({"path": parts.path, "query": query})
                if parts.path != "/authorize":
                    return self._answer(404, {"error": "not_found"})
                self.send_response(302)
                self.send_header("Location", server.authorize(query))
                self.send_header("Content-Length", "0")
                self.end_headers()

            def do_POST(self):  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
                client_id = form.get("client_id")
                authorization = self.headers.get("Authorization", "")
                if authorization.startswith("Basic "):
                    user, _, password = base64.b64decode(authorization[6:]).decode().partition(":")
                    client_id = user if password == CLIENT_SECRET else None
                elif form.get("client_secret") != CLIENT_SECRET:
                    client_id = None
                server.requests.append({"path": self.path, "form": form})
                if self.path != "/token":
                    return self._answer(404, {"error": "not_found"})
                self._answer(*server.token(form, client_id))

            def _answer(self, status: int, body: dict):
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self._httpd = ThreadingHTTPServer((self.host, 0), Handler)
        self._httpd.daemon_threads = True
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True,
                                        name="oauth-test-server")
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(5)

    def settings_env(self) -> dict[str, str]:
        """The platform's settings pointing both providers at this server, as environment
        variables (for worker processes)."""
        return {"OAUTH_MICROSOFT_CLIENT_ID": CLIENT_ID,
                "OAUTH_MICROSOFT_CLIENT_SECRET": CLIENT_SECRET,
                "OAUTH_MICROSOFT_AUTHORIZE_URL": f"{self.url}/authorize",
                "OAUTH_MICROSOFT_TOKEN_URL": f"{self.url}/token",
                "OAUTH_GOOGLE_CLIENT_ID": CLIENT_ID,
                "OAUTH_GOOGLE_CLIENT_SECRET": CLIENT_SECRET,
                "OAUTH_GOOGLE_AUTHORIZE_URL": f"{self.url}/authorize",
                "OAUTH_GOOGLE_TOKEN_URL": f"{self.url}/token"}


# --- SMTP with XOAUTH2 -------------------------------------------------------------------

XOAUTH2_FAILED_REPLY = "535 5.7.3 Authentication unsuccessful"


class _XOAuth2SMTP(_TestSMTP):
    """Offers AUTH XOAUTH2 only; a token is accepted while the OAuth server says it is valid
    for the user named in the blob. A refused token gets the providers' 334 challenge with the
    error in JSON, then 535."""

    async def auth_XOAUTH2(self, _, args: list[str]) -> AuthResult:  # noqa: N802
        try:
            blob = base64.b64decode(args[1]).decode()
            fields = dict(part.split("=", 1) for part in blob.split("\x01") if part)
            user, token = fields["user"], fields["auth"].removeprefix("Bearer ")
        except (IndexError, ValueError, KeyError):
            await self.push("501 5.5.2 Cannot decode the XOAUTH2 response")
            return AuthResult(success=False, handled=True)
        oauth = self._test_server.oauth
        if oauth.token_owner(token) != user:
            self._test_server.refused_tokens.append(token)
            await self.challenge_auth(json.dumps({"status": "401", "schemes": "bearer"}))
            return AuthResult(success=False, handled=False, message=XOAUTH2_FAILED_REPLY)
        return AuthResult(success=True, auth_data=user)


class XOAuth2SMTPServer(SMTPTestServer):
    def __init__(self, oauth: OAuthTestServer, **kwargs: Any) -> None:
        # A user entry makes the test server advertise AUTH; PLAIN and LOGIN are withdrawn.
        super().__init__(users={"-": "-"}, **kwargs)
        self.oauth = oauth
        self.refused_tokens: list[str] = []

    def _make_smtp(self):
        return _XOAuth2SMTP(self, _Handler(self), hostname="localhost",
                            ident="ESMTP Eduka XOAUTH2 test server", enable_SMTPUTF8=True,
                            auth_require_tls=False, auth_exclude_mechanism=["PLAIN", "LOGIN"],
                            authenticator=lambda *args: AuthResult(success=False),
                            timeout=60, loop=self._loop)


def start_xoauth2_smtp_server(oauth: OAuthTestServer) -> XOAuth2SMTPServer:
    server = XOAuth2SMTPServer(oauth, mode="plain", certificate="ca", auth_require_tls=False,
                               auth_required=True, fault=None, fault_count=0,
                               refuse_recipients=None, latency=0.0)
    server._start()
    return server


@pytest.fixture
def oauth_server(settings):
    server = OAuthTestServer().start()
    for name, value in server.settings_env().items():
        setattr(settings, name, value)
    yield server
    server.stop()


@pytest.fixture
def xoauth2_smtp_server(oauth_server):
    server = start_xoauth2_smtp_server(oauth_server)
    yield server
    server.stop()
