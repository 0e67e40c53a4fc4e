"""HMAC-signed ballot and voter tokens (no cookies, no server-side session).

A token is ``<kind>1.<payload>.<mac>``: ``payload`` is the base64url of a
compact MessagePack array, ``mac`` the base64url of the first 16 bytes of
HMAC-SHA256 over ``<kind>1.<payload>`` under a key derived from the service
secret for that kind (so a voter token can never pass as a ballot). 128-bit
tags are the usual truncation (RFC 2104 section 5 allows >= half the hash);
forging one needs about 2**128 tries.

Signing only proves the server issued the token; single use is enforced by the
store (the ballot id is marked used atomically with appending the answer).

>>> signer = TokenSigner(b"k" * 32)
>>> tok = signer.sign_voter(VoterClaims(survey="s1", voter="v1", group=None, issued=0.0))
>>> signer.verify_voter(tok).voter
'v1'
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

import msgspec

from ranker.errors import BadToken

__all__ = ["BallotClaims", "TokenSigner", "VoterClaims", "new_id"]

_MAC_BYTES = 16
_MAX_TOKEN = 1024


def new_id(nbytes: int = 12) -> str:
    """A random URL-safe identifier (``nbytes`` of entropy) that does not start with ``-``:
    one that did would read as an option on a command line (``ranker organiser rotate
    --survey -x...`` failed) and as a formula to a spreadsheet."""
    while True:
        got = secrets.token_urlsafe(nbytes)
        if not got.startswith("-"):
            return got


class VoterClaims(msgspec.Struct, array_like=True, frozen=True):
    """What a voter token asserts."""

    survey: str
    voter: str
    group: str | None
    issued: float
    client: str = ""
    """A pseudonym of the client address the voter was created from (:meth:`TokenSigner.pseudonym`;
    empty: unknown). Evidence for the organiser (many voters from one client), never a block."""


class BallotClaims(msgspec.Struct, array_like=True, frozen=True):
    """What a ballot token asserts."""

    id: str
    survey: str
    voter: str
    group: str | None
    left: int
    right: int
    probability: float | None
    issued: float
    expires: float
    cast: int = -1
    """The voter's answers when the ballot was issued (for the open-ballot bound; -1: none)."""
    client: str = ""
    """The voter's client pseudonym (see :class:`VoterClaims`)."""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    pad = "=" * (-len(text) % 4)
    return base64.urlsafe_b64decode(text + pad)


class TokenSigner:
    """Signs and verifies tokens with keys derived from one secret (>= 16 bytes)."""

    def __init__(self, secret: bytes) -> None:
        if not isinstance(secret, bytes) or len(secret) < 16:
            raise ValueError("secret must be bytes of length >= 16")
        self._keys = {
            kind: hmac.new(secret, f"ranker/{kind}/v1".encode(), hashlib.sha256).digest()
            for kind in ("ballot", "voter", "client")
        }
        self._enc = msgspec.msgpack.Encoder()
        self._ballot_dec = msgspec.msgpack.Decoder(BallotClaims)
        self._voter_dec = msgspec.msgpack.Decoder(VoterClaims)

    def _sign(self, kind: str, payload: bytes) -> str:
        head = f"{kind[0]}1.{_b64(payload)}"
        mac = hmac.new(self._keys[kind], head.encode("ascii"), hashlib.sha256).digest()
        return f"{head}.{_b64(mac[:_MAC_BYTES])}"

    def _open(self, kind: str, token: object) -> bytes:
        if not isinstance(token, str) or len(token) > _MAX_TOKEN:
            raise BadToken(f"{kind} token is missing or too long")
        parts = token.split(".")
        if len(parts) != 3 or parts[0] != f"{kind[0]}1":
            raise BadToken(f"not a {kind} token")
        head = f"{parts[0]}.{parts[1]}"
        try:
            given = _unb64(parts[2])
            payload = _unb64(parts[1])
        except (ValueError, UnicodeEncodeError):
            raise BadToken(f"{kind} token is not valid base64url") from None
        want = hmac.new(self._keys[kind], head.encode("ascii"), hashlib.sha256).digest()
        # One spelling per token: base64 decoding ignores stray characters and padding
        # bits, so without this a token would have many accepted variants.
        if _b64(given) != parts[2] or not hmac.compare_digest(given, want[:_MAC_BYTES]):
            raise BadToken(f"{kind} token signature does not verify")
        return payload

    def pseudonym(self, survey: str, text: str) -> str:
        """A stable pseudonym of ``text`` (a client address) within one survey: 12 characters
        of a keyed hash, so the log and the organiser never see the address itself.

        >>> s = TokenSigner(b"k" * 32)
        >>> a, b = s.pseudonym("s1", "192.0.2.1"), s.pseudonym("s2", "192.0.2.1")
        >>> len(a), a == s.pseudonym("s1", "192.0.2.1"), a == b
        (12, True, False)
        """
        mac = hmac.new(self._keys["client"], f"{survey}|{text}".encode(), hashlib.sha256)
        return _b64(mac.digest()[:9])

    def sign_ballot(self, claims: BallotClaims) -> str:
        """The token for a ballot."""
        return self._sign("ballot", self._enc.encode(claims))

    def verify_ballot(self, token: object) -> BallotClaims:
        """Claims of a genuine ballot token; raises :class:`BadToken` otherwise."""
        payload = self._open("ballot", token)
        try:
            return self._ballot_dec.decode(payload)
        except msgspec.DecodeError:  # pragma: no cover - needs a valid MAC on junk
            raise BadToken("ballot token payload is malformed") from None

    def sign_voter(self, claims: VoterClaims) -> str:
        """The token for a voter."""
        return self._sign("voter", self._enc.encode(claims))

    def verify_voter(self, token: object) -> VoterClaims:
        """Claims of a genuine voter token; raises :class:`BadToken` otherwise."""
        payload = self._open("voter", token)
        try:
            return self._voter_dec.decode(payload)
        except msgspec.DecodeError:  # pragma: no cover - needs a valid MAC on junk
            raise BadToken("voter token payload is malformed") from None
