"""Bearer-token authentication: the signature and claims of the user pool's tokens, then the directory's word.

Plain Python, no Chalice types: the HTTP layer reads the ``Authorization`` header, calls :func:`parse_bearer`, then a
:class:`TokenVerifier`, and turns :class:`AuthError` (401) / :class:`ForbiddenError` (403) into problem+json.

* :class:`JwksVerifier` -- RS256 tokens from Amazon Cognito (or anything publishing a Cognito-compatible JWKS);
  ``identity.cognito.cognito_verifier`` configures it for the user pool (access tokens only, the two app clients,
  each client's roles), against AWS and the embedded stack's moto server alike: there is no other issuer.
* :class:`CheckedVerifier` -- a verifier followed by a check of the principal against the server-side directory
  (the composition root gives it the accounts capability's check: locked, deleted or signed-out users, roles,
  units and province from the directory).

Claims read: roles from ``cognito:groups`` (and ``roles``), lists of strings, unknown values ignored; ``username``
(or ``cognito:username``), ``iat``, ``origin_jti``. Province and units are never read from a token.

Security notes:

* The verifier accepts exactly one algorithm (RS256), so ``alg=none`` and algorithm confusion (an HS256 token
  "signed" with a public key) are refused.
* Tokens never appear in log records or in exception messages; :attr:`AuthError.reason` carries a short English
  diagnosis that is safe to log.
* ``jwt`` (and through it ``cryptography``) is imported lazily, on the first verification, to keep cold starts short.
"""
from __future__ import annotations

import threading
import time
from dataclasses import replace
from typing import Any, Callable, Iterable, Mapping, Protocol

from chalicelib.identity.domain import (
    TOKEN_EXPIRED,
    TOKEN_INVALID,
    AuthError,
    Principal,
    Role,
    _as_role,
    _check_token_shape,
    principal_from_claims,
)


def _translate_jwt_error(exc: Exception) -> AuthError:
    import jwt

    if isinstance(exc, jwt.ExpiredSignatureError):
        return AuthError(TOKEN_EXPIRED, reason="token expired")
    # PyJWT messages describe the failure (bad signature, wrong issuer ...) and do not echo the token.
    return AuthError(TOKEN_INVALID, reason=f"{type(exc).__name__}: {exc}"[:200])


class TokenVerifierLike(Protocol):
    def verify(self, token: str) -> Principal: ...


class _SigningKeySource(Protocol):
    def get_signing_key_from_jwt(self, token: str) -> Any:
        ...


class JwksVerifier:
    """RS256 tokens from Amazon Cognito (or a compatible issuer publishing a JWKS).

    Checks the signature against the JWKS key named by the token's ``kid``, ``iss``, ``exp``/``iat`` (with leeway),
    ``token_use`` (one of ``token_uses``), then the intended client: an id token's ``aud``, or an access token's
    ``client_id`` (Cognito access tokens have no ``aud``).

    Two ways to name the expected clients:

    * ``audience`` / ``client_id`` (one client; when only one is given it is used for both, for Cognito both are the
      app client id);
    * ``client_roles``: {app client id: roles that client may carry}. The token's client must be one of them and
      the principal keeps only the roles its client may carry, so an officer's group can never ride on a token the
      citizens' client issued. Use it with ``token_uses=("access",)`` (see :func:`cognito_verifier`).

    The ``jwt.PyJWKClient`` is created on first use and kept, so its key cache survives across warm invocations when
    the verifier lives at module scope: the JWKS is fetched once, and a token naming an unknown ``kid`` (a forgery,
    or a rotated key) causes at most one more fetch per ``jwks_refresh_cooldown_s``. Tests inject ``jwk_client``
    (anything with ``get_signing_key_from_jwt``) and ``clock`` (seconds since the epoch).

    A JWKS endpoint that cannot be reached is not the caller's fault: ``jwt.PyJWKClientConnectionError`` propagates
    unchanged (an internal error, not a 401).
    """

    ALGORITHM = "RS256"
    TOKEN_USES = ("id", "access")

    def __init__(
        self,
        jwks_url: str,
        issuer: str,
        audience: str | None,
        client_id: str | None,
        *,
        jwk_client: _SigningKeySource | None = None,
        leeway_s: float = 30,
        jwks_timeout_s: float = 5,
        jwks_cache_lifespan_s: float = 3600,
        jwks_refresh_cooldown_s: float = 300,
        token_uses: Iterable[str] = TOKEN_USES,
        client_roles: Mapping[str, Iterable[Role | str]] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not issuer:
            raise ValueError("issuer is required")
        if not audience and not client_id and not client_roles:
            raise ValueError("at least one of audience, client_id or client_roles is required")
        if jwk_client is None and not jwks_url:
            raise ValueError("jwks_url is required")
        self.token_uses = tuple(token_uses)
        if not self.token_uses or set(self.token_uses) - set(self.TOKEN_USES):
            raise ValueError(f"token_uses must be a non-empty subset of {self.TOKEN_USES}")
        self.jwks_url = jwks_url
        self.issuer = issuer
        self.audience = audience or client_id
        self.client_id = client_id or audience
        self.client_roles: dict[str, frozenset[Role]] | None = (
            None if client_roles is None
            else {cid: frozenset(_as_role(r) for r in roles) for cid, roles in client_roles.items()}
        )
        self.leeway_s = leeway_s
        self._jwks_timeout_s = jwks_timeout_s
        self._jwks_cache_lifespan_s = jwks_cache_lifespan_s
        self._jwks_refresh_cooldown_s = jwks_refresh_cooldown_s
        self._clock = clock
        self._jwk_client = jwk_client
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"JwksVerifier(issuer={self.issuer!r}, jwks_url={self.jwks_url!r})"

    def _client(self) -> _SigningKeySource:
        if self._jwk_client is None:
            with self._lock:
                if self._jwk_client is None:
                    import jwt

                    self._jwk_client = jwt.PyJWKClient(
                        self.jwks_url,
                        cache_keys=True,
                        cache_jwk_set=True,
                        lifespan=self._jwks_cache_lifespan_s,
                        timeout=self._jwks_timeout_s,
                        cooldown_duration=self._jwks_refresh_cooldown_s,
                    )
        return self._jwk_client

    def verify(self, token: str) -> Principal:
        _check_token_shape(token)
        claims = self._verified_claims(token)
        token_use = claims.get("token_use")
        if token_use not in self.token_uses:
            raise AuthError(TOKEN_INVALID, reason=f"token_use is not one of {'/'.join(self.token_uses)}")
        client = self._check_client(claims, token_use)
        self._check_times(claims)
        principal = principal_from_claims(claims)
        if self.client_roles is not None:
            principal = replace(principal, roles=principal.roles & self.client_roles[client])
        return principal

    def _verified_claims(self, token: str) -> dict[str, Any]:
        import jwt

        try:
            # Refuse any other algorithm before touching the network (alg=none, HS256 confusion ...).
            header = jwt.get_unverified_header(token)
            if header.get("alg") != self.ALGORITHM:
                raise AuthError(TOKEN_INVALID, reason=f"algorithm {str(header.get('alg'))[:20]!r} not allowed")
            signing_key = self._client().get_signing_key_from_jwt(token)
            # A PyJWK stays bound to its own algorithm (PyJWT checks it); anything else exposes the key as ``.key``.
            key = signing_key if isinstance(signing_key, jwt.PyJWK) else getattr(signing_key, "key", signing_key)
            return jwt.decode(
                token,
                key,
                algorithms=[self.ALGORITHM],
                issuer=self.issuer,
                options={
                    "require": ["exp", "iat", "iss", "sub", "token_use"],
                    "verify_aud": False,  # checked below: access tokens carry client_id instead of aud
                    # checked below against the injected clock (PyJWT only knows time.time())
                    "verify_exp": False, "verify_iat": False, "verify_nbf": False,
                },
            )
        except jwt.PyJWKClientConnectionError:
            raise
        except jwt.PyJWTError as exc:
            raise _translate_jwt_error(exc) from None

    def _check_client(self, claims: Mapping[str, Any], token_use: str) -> str:
        """Return the token's app client id if it is an expected one."""
        if token_use == "id":
            aud = claims.get("aud")
            clients = [a for a in (aud if isinstance(aud, list) else [aud]) if isinstance(a, str)]
        else:
            client = claims.get("client_id")
            clients = [client] if isinstance(client, str) else []
        expected = set(self.client_roles) if self.client_roles is not None else {
            self.audience if token_use == "id" else self.client_id}
        found = [c for c in clients if c in expected]
        if not found:
            raise AuthError(TOKEN_INVALID, reason=f"{token_use} token issued to another client")
        return found[0]

    def _check_times(self, claims: Mapping[str, Any]) -> None:
        now, leeway = self._clock(), self.leeway_s
        times = {}
        for name in ("exp", "iat", "nbf"):
            value = claims.get(name)
            if value is None and name == "nbf":
                continue
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise AuthError(TOKEN_INVALID, reason=f"{name} is not a number")
            times[name] = value
        if times["exp"] <= now - leeway:
            raise AuthError(TOKEN_EXPIRED, reason="token expired")
        if times["iat"] > now + leeway or times.get("nbf", now) > now + leeway:
            raise AuthError(TOKEN_INVALID, reason="token not valid yet")


class CheckedVerifier:
    """``verifier`` then ``check`` (a function of the principal that returns the principal the use cases see, or
    raises :class:`AuthError`): the signature proves who the pool says the caller is, the check whether the
    portal still accepts them and with which scope."""

    def __init__(self, verifier: TokenVerifierLike, check: Callable[[Principal], Principal]) -> None:
        self._verifier, self._check = verifier, check

    def __repr__(self) -> str:
        return f"CheckedVerifier({self._verifier!r})"

    def verify(self, token: str) -> Principal:
        return self._check(self._verifier.verify(token))


__all__ = ["CheckedVerifier", "JwksVerifier"]
