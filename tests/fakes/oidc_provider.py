"""A stand-in OpenID Connect provider on 127.0.0.1: discovery, JWKS, authorize and token.

It speaks the authorization code flow as Microsoft Entra ID does (PKCE S256, state, nonce, an
RS256-signed ID token), signs in whoever `next_claims` names without asking, and records the
token requests so a test can see what the service sent. `fault` makes it misbehave on purpose.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass, field
from datetime import timedelta
from types import TracebackType
from typing import Any
from urllib.parse import parse_qsl, urlencode

from joserfc import jwt
from joserfc.jwk import RSAKey
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from service.clock import utcnow
from tests.fakes import ServerThread

CLIENT_ID = "klarvarsel-test"
CLIENT_SECRET = "stand-in-client-secret"


@dataclass
class FakeOidcProvider:
    """The provider; use as a context manager. `issuer` is its base URL."""

    next_claims: dict[str, Any] = field(default_factory=dict)
    fault: str = ""  # wrong_nonce | wrong_audience | expired | foreign_key | no_email
    token_requests: list[dict[str, str]] = field(default_factory=list)
    authorize_requests: list[dict[str, str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.key = RSAKey.generate_key(2048, parameters={"kid": "stand-in-1", "use": "sig"})
        self._codes: dict[str, dict[str, Any]] = {}
        self._server: ServerThread | None = None
        self.app = Starlette(
            routes=[
                Route("/.well-known/openid-configuration", self._discovery),
                Route("/jwks", self._jwks),
                Route("/authorize", self._authorize),
                Route("/token", self._token, methods=["POST"]),
            ]
        )

    @property
    def issuer(self) -> str:
        """The issuer URL (and base of every endpoint)."""
        assert self._server is not None, "start the provider first"
        return self._server.url

    async def _discovery(self, _request: Request) -> Response:
        return JSONResponse(
            {
                "issuer": self.issuer,
                "authorization_endpoint": f"{self.issuer}/authorize",
                "token_endpoint": f"{self.issuer}/token",
                "jwks_uri": f"{self.issuer}/jwks",
                "response_types_supported": ["code"],
                "subject_types_supported": ["pairwise"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "code_challenge_methods_supported": ["S256"],
                "token_endpoint_auth_methods_supported": [
                    "client_secret_basic",
                    "client_secret_post",
                ],
            }
        )

    async def _jwks(self, _request: Request) -> Response:
        public = self.key.as_dict(private=False)
        return JSONResponse({"keys": [{**public, "alg": "RS256"}]})

    async def _authorize(self, request: Request) -> Response:
        query = dict(request.query_params)
        self.authorize_requests.append(query)
        problems = [
            name
            for name, ok in {
                "response_type": query.get("response_type") == "code",
                "client_id": query.get("client_id") == CLIENT_ID,
                "scope": "openid" in query.get("scope", "").split(),
                "code_challenge_method": query.get("code_challenge_method") == "S256",
                "code_challenge": len(query.get("code_challenge", "")) == 43,
                "state": bool(query.get("state")),
                "nonce": bool(query.get("nonce")),
                "redirect_uri": query.get("redirect_uri", "").startswith("http"),
            }.items()
            if not ok
        ]
        if problems:
            return JSONResponse({"error": "invalid_request", "wrong": problems}, status_code=400)
        code = secrets.token_urlsafe(24)
        self._codes[code] = {
            "challenge": query["code_challenge"],
            "redirect_uri": query["redirect_uri"],
            "nonce": query["nonce"],
            "claims": dict(self.next_claims),
        }
        target = query["redirect_uri"] + "?" + urlencode({"code": code, "state": query["state"]})
        return RedirectResponse(target, status_code=302)

    def _client_ok(self, request: Request, form: dict[str, str]) -> bool:
        basic = request.headers.get("authorization", "")
        if basic.startswith("Basic "):
            pair = base64.b64decode(basic[6:]).decode()
            return pair == f"{CLIENT_ID}:{CLIENT_SECRET}"
        return (form.get("client_id"), form.get("client_secret")) == (CLIENT_ID, CLIENT_SECRET)

    async def _token(self, request: Request) -> Response:
        # Parsed by hand: Starlette's form() needs python-multipart, which we do not install.
        form = dict(parse_qsl((await request.body()).decode(), keep_blank_values=True))
        self.token_requests.append(form)
        grant = self._codes.pop(form.get("code", ""), None)  # a code works once
        if not self._client_ok(request, form):
            return JSONResponse({"error": "invalid_client"}, status_code=401)
        if grant is None or form.get("redirect_uri") != grant["redirect_uri"]:
            return JSONResponse({"error": "invalid_grant"}, status_code=400)
        verifier = form.get("code_verifier", "").encode()
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier).digest()).rstrip(b"=")
        if challenge.decode() != grant["challenge"]:
            return JSONResponse({"error": "invalid_grant", "why": "PKCE"}, status_code=400)
        return JSONResponse(
            {
                "access_token": secrets.token_urlsafe(24),
                "token_type": "Bearer",
                "expires_in": 3600,
                "id_token": self._id_token(grant),
            }
        )

    def _id_token(self, grant: dict[str, Any]) -> str:
        now = utcnow()
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "sub": "stand-in-" + hashlib.sha256(str(grant["claims"]).encode()).hexdigest()[:16],
            "aud": CLIENT_ID,
            "iat": int(now.timestamp()),
            "exp": int((now + timedelta(minutes=60)).timestamp()),
            "nonce": grant["nonce"],
            **grant["claims"],
        }
        key = self.key
        if self.fault == "wrong_nonce":
            claims["nonce"] = "not-the-nonce"
        elif self.fault == "wrong_audience":
            claims["aud"] = "another-application"
        elif self.fault == "expired":
            claims["iat"] = int((now - timedelta(hours=2)).timestamp())
            claims["exp"] = int((now - timedelta(hours=1)).timestamp())
        elif self.fault == "foreign_key":
            key = RSAKey.generate_key(2048, parameters={"kid": "stand-in-1"})
        elif self.fault == "wrong_issuer":
            claims["iss"] = "https://login.example.invalid/other-tenant/v2.0"
        return jwt.encode({"alg": "RS256", "kid": "stand-in-1"}, claims, key)

    def __enter__(self) -> FakeOidcProvider:
        self._server = ServerThread(self.app).start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._server is not None:
            self._server.stop()
