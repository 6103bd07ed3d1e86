"""Marketers signed in as themselves: a Cognito user pool's access tokens, checked here.

A token is believed when its RS256 signature verifies against one of the pool's published
keys (its JWKS, fetched once per container and again when a token names a key not seen
yet), it was issued by this pool (`iss`) for the dashboard's app client (`client_id`: access
tokens carry no `aud`), it is an access token (`token_use`), and it has not expired (`exp`,
with a little leeway for clocks). Then Cognito is asked whether the token still works
(`GetUser` with the token itself), which it refuses at once for a user disabled, deleted or
signed out everywhere; a yes is kept for a few seconds, so a page's burst of requests asks
once. The account's groups (`cognito:groups`) give its roles: each of reader, ingest and
admin it is in (a request acts in the one its route needs); in none of them, the account
may do nothing.

The signature is checked with the standard library (RSASSA-PKCS1-v1_5 by encoding and
comparing, RFC 8017 8.2.2), not a JOSE library: PyJWT or joserfc need cryptography, whose
arm64 build would take the Lambda zip from within its 7 MiB budget to about 11, and their
import costs 30 to 60 ms (docs/design.md, "Accounts"). Only RS256 is accepted, so no
algorithm can be chosen by the token; tests/security/ checks every refusal against moto's
tokens, which joserfc signs.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import threading
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from befriend.clock import Clock
from befriend.core.words import N_
from befriend.credentials.keys import ROLES
from befriend.credentials.principal import Principal

# Clocks of Cognito and of the function may differ by a little.
LEEWAY = timedelta(seconds=30)
# How long Cognito's yes to a token is believed: a user disabled now is refused this late.
STILL_GOOD = timedelta(seconds=5)
# A token naming an unknown key refetches the keys at most this often, so forged key ids
# cannot make every request a fetch.
REFETCH_AT_MOST = timedelta(seconds=60)
# Cognito's tokens are a few kilobytes; anything far larger is not one.
LONGEST = 16_384
# Cognito is asked with short timeouts: a marketer waits on it.
COGNITO = Config(connect_timeout=2, read_timeout=3, retries={"mode": "standard", "max_attempts": 2})
# Cognito's answers that mean the token no longer works: revoked, signed out, the user
# disabled (NotAuthorized) or deleted (UserNotFound).
GONE = frozenset({"NotAuthorizedException", "UserNotFoundException"})


class Refused(Exception):
    """The token proves nothing (401). `why` says what, never the token itself: a message
    marked for the catalogs, said in the request's language where it is answered."""

    def __init__(self, why: str) -> None:
        super().__init__(why)
        self.why = why


class NoRole(Exception):
    """The account is genuine but in none of befriend's groups (403)."""


class Unreachable(Exception):
    """Cognito could not be asked whether the token still works (503: try again soon)."""


@dataclass(frozen=True)
class Pool:
    """The user pool and the dashboard's app client; `endpoint` is where Cognito answers
    when it is not AWS itself (moto's server, locally)."""

    id: str
    client_id: str
    region: str
    endpoint: str | None = None

    @property
    def issuer(self) -> str:
        # moto issues its tokens under AWS's issuer too, whatever its own address.
        return f"https://cognito-idp.{self.region}.amazonaws.com/{self.id}"

    @property
    def jwks_url(self) -> str:
        base = self.endpoint.rstrip("/") + "/" + self.id if self.endpoint else self.issuer
        return base + "/.well-known/jwks.json"


def fetch_keys(url: str) -> dict[str, Any]:
    """The pool's published keys (a JWKS document)."""
    if not url.startswith(("https://", "http://127.0.0.1", "http://localhost")):
        raise Unreachable("the pool's keys are fetched over https only (http on loopback)")
    try:
        # The URL is the pool's own, from the deployment's settings, never the request's.
        with urllib.request.urlopen(url, timeout=3) as answer:  # noqa: S310
            document: Any = json.load(answer)
    except (OSError, ValueError) as exc:
        raise Unreachable("the pool's keys could not be fetched") from exc
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise Unreachable("the pool's keys are not a JWKS document")
    return document


class Accounts:
    """Checks access tokens of one pool; one per container (the app holds it), so the
    pool's keys and Cognito's recent answers are kept between requests."""

    def __init__(
        self,
        pool: Pool,
        clock: Clock,
        *,
        cognito: Any = None,
        fetch: Callable[[str], dict[str, Any]] = fetch_keys,
    ) -> None:
        self.pool = pool
        self.clock = clock
        self._cognito = cognito
        self._fetch = fetch
        self._lock = threading.Lock()
        self._keys: dict[str, RsaKey] = {}
        self._fetched_at: datetime | None = None
        self._good: dict[str, datetime] = {}  # SHA-256 of a token -> until when it is believed

    def principal(self, token: str) -> Principal:
        """Who the token speaks for. Raises Refused (401), NoRole (403) or Unreachable."""
        claims = self.claims(token)
        self._still_works(token)
        groups = claims.get("cognito:groups", [])
        if not isinstance(groups, list):
            raise Refused(N_("its groups are not a list"))
        held = [role for role in ROLES if role in groups]
        if not held:
            raise NoRole
        if "admin" in held:
            return Principal("user", str(claims["username"]), "admin")
        return Principal("user", str(claims["username"]), held[0], tuple(held[1:]))

    def claims(self, token: str) -> dict[str, Any]:
        """The token's claims once its signature, issuer, client, use and age are checked."""
        if len(token) > LONGEST or token.count(".") != 2:
            raise Refused(N_("it is not a JSON Web Token"))
        head, body, signature = token.split(".")
        header, claims = _part(head), _part(body)
        if header.get("alg") != "RS256":
            raise Refused(N_("it is not signed with RS256"))
        key = self._key(header.get("kid"))
        if not key.verifies(f"{head}.{body}".encode("ascii"), _bytes(signature)):
            raise Refused(N_("its signature does not hold"))
        if claims.get("iss") != self.pool.issuer:
            raise Refused(N_("it was issued by another user pool"))
        if claims.get("client_id") != self.pool.client_id:
            raise Refused(N_("it was issued to another app client"))
        if claims.get("token_use") != "access":
            raise Refused(N_("it is not an access token"))
        now = self.clock()
        if not _moment(claims.get("exp")) + LEEWAY > now:
            raise Refused(N_("it has expired"))
        if _moment(claims.get("iat")) - LEEWAY > now:
            raise Refused(N_("it was issued in the future"))
        if not isinstance(claims.get("username"), str) or not claims["username"]:
            raise Refused(N_("it names no user"))
        return claims

    def _key(self, kid: object) -> RsaKey:
        if not isinstance(kid, str) or not kid:
            raise Refused(N_("it names no signing key"))
        with self._lock:
            now = self.clock()
            stale = self._fetched_at is None or now - self._fetched_at >= REFETCH_AT_MOST
            if kid not in self._keys and stale:
                self._keys = keys_of(self._fetch(self.pool.jwks_url))
                self._fetched_at = now
            found = self._keys.get(kid)
        if found is None:
            raise Refused(N_("it was signed with a key the pool does not publish"))
        return found

    def _still_works(self, token: str) -> None:
        """Cognito's word that the token was not revoked and its user is neither disabled
        nor deleted; believed for STILL_GOOD."""
        digest = hashlib.sha256(token.encode()).hexdigest()
        now = self.clock()
        with self._lock:
            until = self._good.get(digest)
        if until is not None and now < until:
            return
        try:
            self._client().get_user(AccessToken=token)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in GONE:
                raise Refused(N_("its user is disabled, deleted or signed out")) from exc
            raise Unreachable("Cognito did not answer") from exc
        except BotoCoreError as exc:
            raise Unreachable("Cognito could not be reached") from exc
        with self._lock:
            if len(self._good) > 1000:
                self._good = {d: u for d, u in self._good.items() if u > now}
            self._good[digest] = now + STILL_GOOD

    def _client(self) -> Any:
        if self._cognito is None:
            self._cognito = boto3.client(
                "cognito-idp",
                region_name=self.pool.region,
                endpoint_url=self.pool.endpoint,
                config=COGNITO,
            )
        return self._cognito


# RSASSA-PKCS1-v1_5 with SHA-256 (RFC 8017, 9.2): the DER prefix of a SHA-256 DigestInfo.
SHA256_INFO = bytes.fromhex("3031300d060960864801650304020105000420")
SHORTEST_KEY = 2048  # bits; Cognito's keys are 2048-bit RSA


@dataclass(frozen=True)
class RsaKey:
    """One RSA public key of the pool's JWKS."""

    n: int
    e: int

    def verifies(self, signed: bytes, signature: bytes) -> bool:
        """RS256 as RFC 8017 8.2.2 verifies it: the signature raised to `e` must be, byte
        for byte, the encoding made here from the message's SHA-256 (encoding and comparing
        leaves nothing of the signature to parse, and so nothing to forge by parsing)."""
        size = (self.n.bit_length() + 7) // 8
        if len(signature) != size:
            return False
        number = int.from_bytes(signature, "big")
        if number >= self.n:
            return False
        encoded = pow(number, self.e, self.n).to_bytes(size, "big")
        info = SHA256_INFO + hashlib.sha256(signed).digest()
        expected = b"\x00\x01" + b"\xff" * (size - len(info) - 3) + b"\x00" + info
        return hmac.compare_digest(encoded, expected)


def keys_of(document: dict[str, Any]) -> dict[str, RsaKey]:
    """The RS256 signing keys of a JWKS document, by key id; others are passed over."""
    found: dict[str, RsaKey] = {}
    for key in document.get("keys", []):
        if not isinstance(key, dict) or key.get("kty") != "RSA":
            continue
        if key.get("use", "sig") != "sig" or key.get("alg", "RS256") != "RS256":
            continue
        kid, n, e = key.get("kid"), key.get("n"), key.get("e")
        if not (isinstance(kid, str) and isinstance(n, str) and isinstance(e, str)):
            continue
        try:
            made = RsaKey(int.from_bytes(_bytes(n), "big"), int.from_bytes(_bytes(e), "big"))
        except Refused:
            continue
        if made.n.bit_length() >= SHORTEST_KEY and made.e == 65537:
            found[kid] = made
    return found


_BASE64URL = re.compile(r"[A-Za-z0-9_-]*")


def _bytes(text: str) -> bytes:
    """base64url without padding (RFC 7515, 2), strictly: nothing else is accepted."""
    if not _BASE64URL.fullmatch(text) or len(text) % 4 == 1:
        raise Refused(N_("it is not a JSON Web Token"))
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _part(text: str) -> dict[str, Any]:
    """A token's header or claims: a JSON object."""
    try:
        value: Any = json.loads(_bytes(text))
    except ValueError as exc:
        raise Refused(N_("it is not a JSON Web Token")) from exc
    if not isinstance(value, dict):
        raise Refused(N_("it is not a JSON Web Token"))
    return value


def _moment(value: object) -> datetime:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise Refused(N_("its times are not numbers"))
    try:
        return datetime.fromtimestamp(value, UTC)
    except (OverflowError, OSError, ValueError) as exc:
        raise Refused(N_("its times are out of range")) from exc
