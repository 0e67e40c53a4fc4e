"""Proof of work for new voters: self-hosted ALTCHA challenges (no third-party service).

A challenge asks for the counter whose PBKDF2-SHA-256 key (:data:`ITERATIONS` iterations over
the challenge's nonce and the counter) starts with a given prefix. The server picks the counter
uniformly from ``0..2*work`` and keeps only an HMAC of the full key (``keySignature``), so a
solver tries ``work`` keys on average (at most twice that) and the server checks a solution
with two HMACs. The challenge is HMAC-signed, names its survey and expires after
:data:`CHALLENGE_TTL_S`, all checked against the injected clock.

The browser solves with the ALTCHA package's own PBKDF2 worker (``api/web/vendor/``, WebCrypto,
no WebAssembly); :func:`solve` is the same search in Python.

>>> pow_ = Work(b"k" * 32)
>>> ch = pow_.challenge("S1", work=10, now=1_800_000_000.0)
>>> ch.parameters.algorithm, ch.parameters.data.survey
('PBKDF2/SHA-256', 'S1')
>>> pow_.verify(solve(ch), "S1", now=1_800_000_060.0) == ch.parameters.nonce
True
>>> pow_.verify(solve(ch), "S2", now=1_800_000_060.0)
Traceback (most recent call last):
...
ranker.errors.ProofInvalid: proof: this challenge was issued for another survey
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from typing import Annotated

import altcha
import msgspec
from msgspec import Meta

from ranker.errors import ProofInvalid

__all__ = ["ALGORITHM", "CHALLENGE_TTL_S", "ITERATIONS", "Challenge", "Proof", "Work", "solve"]

ALGORITHM = "PBKDF2/SHA-256"
"""Key derivation of one attempt: WebCrypto's native PBKDF2 in the browser (no WebAssembly, so
the widget's CSP stays ``script-src 'self'``)."""
ITERATIONS = 1000
"""PBKDF2 iterations per attempt: enough that the browser's per-call overhead is small."""
CHALLENGE_TTL_S = 600
"""A challenge must be solved and sent within this many seconds."""

# -- ALTCHA wire types (camelCase, as the ALTCHA worker reads and writes them) ------------
_Hex = Annotated[str, Meta(max_length=256, pattern="^[0-9a-f]*$")]


class ChallengeData(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """What a challenge is for (signed with it)."""

    survey: str
    exp: int
    """Unix time after which the challenge is refused."""
    voter: str | None = None
    """The voter a per-ballot challenge was issued to (:mod:`ranker.ballot_proof`); absent
    from a new voter's challenge."""


class ChallengeParameters(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """ALTCHA v2 challenge parameters."""

    algorithm: Annotated[str, Meta(max_length=32)]
    nonce: _Hex
    salt: _Hex
    cost: Annotated[int, Meta(ge=1, le=10_000_000)]
    key_length: Annotated[int, Meta(ge=1, le=64)] = 32
    key_prefix: _Hex = "00"
    key_signature: _Hex | None = None
    data: ChallengeData


class Challenge(msgspec.Struct, frozen=True, kw_only=True):
    """An HMAC-signed ALTCHA challenge (``GET .../voters/challenge``)."""

    parameters: ChallengeParameters
    signature: _Hex


class Solution(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """The counter found and the key it derives."""

    counter: Annotated[int, Meta(ge=0, le=0xFFFFFFFF)]
    derived_key: _Hex
    time: float | None = None


class Proof(msgspec.Struct, frozen=True, kw_only=True):
    """A solved challenge; the widget sends it as ``proof``: base64 of this JSON."""

    challenge: Challenge
    solution: Solution


_decoder = msgspec.json.Decoder(Proof)


class Work:
    """Issues and checks challenges with keys derived from the service secret."""

    def __init__(self, secret: bytes, purpose: str = "pow") -> None:
        def key(label: str) -> bytes:
            return hmac.new(secret, f"ranker/{label}/v1".encode(), hashlib.sha256).digest()

        # each purpose (new voters, ballots) signs with its own keys: a proof for one never
        # verifies as a proof for the other
        self._challenge_key = key(f"{purpose}-challenge")
        self._solution_key = key(f"{purpose}-solution")

    def challenge(
        self,
        survey: str,
        work: int,
        now: float,
        *,
        voter: str | None = None,
        ttl_s: int = CHALLENGE_TTL_S,
    ) -> Challenge:
        """A signed challenge for ``survey`` (and ``voter``, if given) costing ``work``
        attempts on average (the secret counter is uniform on ``0..2*work``), valid ``ttl_s``."""
        data: dict[str, str | int] = {"survey": survey, "exp": int(now) + ttl_s}
        if voter is not None:
            data["voter"] = voter
        ch = altcha.create_challenge(
            ALGORITHM,
            ITERATIONS,
            counter=secrets.randbelow(2 * work + 1),
            data=data,
            hmac_secret=self._challenge_key,
            hmac_key_secret=self._solution_key,
        )
        return msgspec.convert(ch.to_dict(), Challenge)

    def verify(self, proof: str, survey: str, now: float, *, voter: str | None = None) -> str:
        """The nonce of the challenge ``proof`` solves; ``proof_invalid`` if the payload is
        malformed, its signature or solution do not verify, it names another survey (or
        another voter than ``voter``) or it has expired."""
        try:
            p = _decoder.decode(base64.b64decode(proof, validate=True))
        except (binascii.Error, ValueError, msgspec.DecodeError):
            raise ProofInvalid("proof: not a base64 ALTCHA payload") from None
        result = altcha.verify_solution(
            altcha.Payload.from_dict(msgspec.to_builtins(p)),
            hmac_secret=self._challenge_key,
            hmac_key_secret=self._solution_key,
        )
        if not result.verified:
            raise ProofInvalid("proof: the challenge or its solution does not verify")
        data = p.challenge.parameters.data
        if data.survey != survey:
            raise ProofInvalid("proof: this challenge was issued for another survey")
        if data.voter != voter:
            raise ProofInvalid("proof: this challenge was issued to another voter")
        if data.exp < now:
            raise ProofInvalid("proof: this challenge has expired; ask for a new one")
        return p.challenge.parameters.nonce


def solve(challenge: Challenge) -> str:
    """The ``proof`` for ``challenge``, solved in this process (tests, and benchmarks playing
    an attacker; the widget solves in Web Workers)."""
    ch = altcha.Challenge.from_dict(msgspec.to_builtins(challenge))
    solution = altcha.solve_challenge(ch, timeout=0)
    assert solution is not None  # no timeout: it searches until it finds the counter
    return altcha.Payload(ch, solution).to_base64()
