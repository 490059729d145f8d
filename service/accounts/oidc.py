"""OpenID Connect sign-in (authorization code flow with PKCE, state and nonce) through Authlib.

Municipalities sign their staff in with Microsoft Entra ID (Azure AD); any provider with
discovery works. The provider's answer is trusted only after: the state matches the one stored
for this browser (single use, ten minutes), the code is exchanged with the PKCE verifier, and
the ID token's signature (the provider's JWKS), issuer, audience, expiry and nonce check out.
Times are checked against service.clock, the service's one clock.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from authlib.integrations.requests_client import OAuth2Session
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from sqlalchemy.orm import Session

from service.accounts.models import OidcRequest
from service.clock import utcnow
from service.config import Settings

REQUEST_LIFETIME = timedelta(minutes=10)
CLOCK_SKEW = timedelta(minutes=2)
METADATA_SECONDS = 3600.0  # discovery and keys are fetched again after an hour
ALGORITHMS = ("RS256", "PS256", "ES256")


class OidcFailed(Exception):
    """The sign-in through the provider did not prove who the person is (reason for the log)."""


@dataclass(frozen=True)
class ProviderMetadata:
    """What discovery tells us about the provider."""

    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str


_cache: dict[str, tuple[float, Any]] = {}


def _client(settings: Settings, redirect_uri: str) -> OAuth2Session:
    return OAuth2Session(
        client_id=settings.oidc_client_id,
        client_secret=settings.oidc_client_secret or None,
        scope=settings.oidc_scopes,
        redirect_uri=redirect_uri,
        code_challenge_method="S256",
    )


def _get_json(settings: Settings, url: str) -> Any:
    with OAuth2Session() as http:
        response = http.get(url, timeout=settings.oidc_timeout_seconds, withhold_token=True)
    if response.status_code != 200:
        raise OidcFailed(f"{url} answered {response.status_code}")
    return response.json()


def _cached(key: str, fetch: Any, *, fresh: bool = False) -> Any:
    hit = _cache.get(key)
    if hit is not None and not fresh and time.monotonic() - hit[0] < METADATA_SECONDS:
        return hit[1]
    value = fetch()
    _cache[key] = (time.monotonic(), value)
    return value


def provider_metadata(settings: Settings) -> ProviderMetadata:
    """The provider's endpoints from its discovery document (cached for an hour)."""
    issuer = settings.oidc_issuer.rstrip("/")
    url = f"{issuer}/.well-known/openid-configuration"
    data = _cached(url, lambda: _get_json(settings, url))
    try:
        metadata = ProviderMetadata(
            issuer=data["issuer"],
            authorization_endpoint=data["authorization_endpoint"],
            token_endpoint=data["token_endpoint"],
            jwks_uri=data["jwks_uri"],
        )
    except (KeyError, TypeError) as exc:
        raise OidcFailed(f"discovery document at {url} lacks {exc}") from None
    if metadata.issuer.rstrip("/") != issuer:
        raise OidcFailed(f"discovery names issuer {metadata.issuer!r}, not {issuer!r}")
    return metadata


def start(
    session: Session, settings: Settings, redirect_uri: str, next_path: str, language: str
) -> tuple[str, str]:
    """Store a new sign-in request; returns the provider's authorize URL and the state."""
    metadata = provider_metadata(settings)
    now = utcnow()
    session.execute(sa.delete(OidcRequest).where(OidcRequest.created_at < now - REQUEST_LIFETIME))
    state = secrets.token_urlsafe(32)
    nonce = secrets.token_urlsafe(32)
    verifier = secrets.token_urlsafe(64)  # 86 characters: RFC 7636 allows 43 to 128
    session.add(
        OidcRequest(
            state=state,
            nonce=nonce,
            code_verifier=verifier,
            next_path=next_path,
            created_at=now,
            extra={"lang": language},
        )
    )
    url, _ = _client(settings, redirect_uri).create_authorization_url(
        metadata.authorization_endpoint, state=state, code_verifier=verifier, nonce=nonce
    )
    return url, state


def take_request(session: Session, state: str) -> OidcRequest:
    """The stored request of this state, removed (single use); OidcFailed if none or too old."""
    row = session.get(OidcRequest, state) if state else None
    if row is None:
        raise OidcFailed("no sign-in was started with this state (or it was used already)")
    session.delete(row)
    created = row.created_at if row.created_at.tzinfo else row.created_at.replace(tzinfo=UTC)
    if utcnow() - created > REQUEST_LIFETIME:
        raise OidcFailed("the sign-in took longer than ten minutes")
    return row


def _keys(settings: Settings, uri: str, *, fresh: bool = False) -> KeySet:
    return _cached(uri, lambda: KeySet.import_key_set(_get_json(settings, uri)), fresh=fresh)  # type: ignore[no-any-return]


def finish(
    settings: Settings, request_row: OidcRequest, code: str, redirect_uri: str
) -> dict[str, Any]:
    """Exchange the code (with the PKCE verifier) and return the verified ID token's claims."""
    metadata = provider_metadata(settings)
    try:
        token = _client(settings, redirect_uri).fetch_token(
            metadata.token_endpoint,
            grant_type="authorization_code",
            code=code,
            code_verifier=request_row.code_verifier,
            timeout=settings.oidc_timeout_seconds,
        )
    except Exception as exc:  # Authlib raises its own errors and requests' ones
        raise OidcFailed(f"the token endpoint refused the code: {exc}") from None
    id_token = token.get("id_token")
    if not isinstance(id_token, str):
        raise OidcFailed("the token response has no id_token")
    return verify_id_token(settings, metadata, id_token, request_row.nonce)


def verify_id_token(
    settings: Settings, metadata: ProviderMetadata, id_token: str, nonce: str
) -> dict[str, Any]:
    """The claims of a correctly signed, current ID token meant for us and this sign-in."""
    try:
        try:
            decoded = jwt.decode(id_token, _keys(settings, metadata.jwks_uri), ALGORITHMS)
        except JoseError:
            # The provider may have rolled its keys since we fetched them.
            decoded = jwt.decode(
                id_token, _keys(settings, metadata.jwks_uri, fresh=True), ALGORITHMS
            )
    except (JoseError, ValueError) as exc:
        raise OidcFailed(f"the ID token's signature does not verify: {exc}") from None
    claims: dict[str, Any] = dict(decoded.claims)
    now = utcnow()
    audience = claims.get("aud")
    audiences = audience if isinstance(audience, list) else [audience]
    problems = []
    if claims.get("iss") != metadata.issuer:
        problems.append(f"issuer {claims.get('iss')!r}")
    if settings.oidc_client_id not in audiences:
        problems.append(f"audience {audience!r}")
    if len(audiences) > 1 and claims.get("azp") != settings.oidc_client_id:
        problems.append(f"authorized party {claims.get('azp')!r}")
    if not secrets.compare_digest(str(claims.get("nonce", "")), nonce):
        problems.append("nonce")
    expires, issued = _instant(claims.get("exp")), _instant(claims.get("iat"))
    if expires is None or expires <= now - CLOCK_SKEW:
        problems.append("expired (or no exp)")
    if issued is not None and issued > now + CLOCK_SKEW:
        problems.append("issued in the future")
    if problems:
        raise OidcFailed("the ID token is not valid here: " + ", ".join(problems))
    return claims


def _instant(timestamp: Any) -> datetime | None:
    """A numeric JWT time as an aware datetime; None when it is missing or not a number."""
    if isinstance(timestamp, bool) or not isinstance(timestamp, int | float):
        return None
    return datetime.fromtimestamp(timestamp, UTC)


def email_of(claims: dict[str, Any]) -> str | None:
    """The person's e-mail address: `email`, else Entra ID's `preferred_username` if it is one."""
    for name in ("email", "preferred_username", "upn"):
        value = claims.get(name)
        if isinstance(value, str) and "@" in value:
            return value.strip().lower()
    return None
