"""Who may become a voter: free budgets per client, proof of work, the embedding site's word.

A survey's :class:`~ranker.domain.Identity` names one of three modes, from open to strict
(``docs/user-guide.md``, "Who may vote", says when to use which):

``anonymous``
    Anyone. Each client address (an IPv4 address, an IPv6 /64: :func:`client_key`) gets
    ``free_per_10min`` and ``free_per_day`` new voters that cost nothing, counted by the store
    so the budget holds across workers. Past either budget the address is not refused: each
    further new voter must bring a proof of work, so a school behind one address is slowed by a
    second per pupil, never locked out, and a script pays CPU for every identity.
``proof_of_work``
    Every new voter brings a solved ALTCHA challenge (:meth:`Identities.challenge`): find the
    counter whose PBKDF2-SHA-256 key (1,000 iterations) starts with a given prefix, about
    ``work`` derivations on average. The challenge is HMAC-signed, names the survey and expires
    after 10 minutes. The voter id is derived from the challenge's nonce, so a proof replayed
    gives the same voter again, never a new one: no store needed for single use. Then every
    pair costs a small proof too (``ballot_work``, :mod:`ranker.ballot_proof`, reached as
    :attr:`Identities.ballots`), solved while the voter reads the pair before.
``site``
    Only users the embedding site vouches for: a JWT the site signs with its own private key,
    whose public half the survey holds (``site_keys``; a public key may be shown to anyone, so
    nothing secret reaches the event log or exports). ``aud`` must be the survey id, ``iss`` the
    configured issuer, ``sub`` names the site's user; the token may live at most
    ``site_token_max_age_s``. The voter id is ``HMAC(service secret, survey | sub)``: one voter
    per site user on every device, and the organiser cannot turn it back into the site's user id.

:meth:`Identities.admit` decides how a request is admitted (an :class:`Admission`), and
:meth:`ranker.voting.Voting.issue_voter` checks that the admission suits the survey's mode.
Nothing here knows HTTP.

>>> from ranker.domain import Identity, Survey
>>> from ranker.storage import open_store
>>> ids = Identities(open_store("memory://"), b"s" * 32, clock=lambda: 1_800_000_000.0)
>>> pow_survey = Survey(id="S1", owner="o", question="?",
...                     identity=Identity(mode="proof_of_work", work=20))
>>> ch = ids.challenge(pow_survey)
>>> from ranker.proof_of_work import solve
>>> proof = solve(ch)  # what the widget's workers do, in Python
>>> admitted = ids.admit(pow_survey, "192.0.2.7", proof=proof)
>>> admitted.how, admitted.voter == ids.admit(pow_survey, "192.0.2.7", proof=proof).voter
('work', True)
>>> ids.admit(pow_survey, "192.0.2.7")
Traceback (most recent call last):
...
ranker.errors.ProofRequired: this survey asks every new voter for a proof of work
>>> client_key("2001:db8:1:2:3:4:5:6")
'2001:db8:1:2::/64'
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import time
from collections.abc import Callable
from typing import Annotated, Any, Literal

import jwt
import msgspec
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from msgspec import Meta

from ranker.ballot_proof import BallotProofs
from ranker.domain import Identity, Survey
from ranker.errors import (
    InvalidInput,
    ProofRequired,
    RateLimited,
    SiteTokenInvalid,
    SiteTokenRequired,
)
from ranker.proof_of_work import Challenge, Work
from ranker.rules import GROUP_MAX
from ranker.storage.base import Store

__all__ = [
    "FREE",
    "LEEWAY_S",
    "Admission",
    "Identities",
    "check_admission",
    "check_identity",
    "client_key",
]

LEEWAY_S = 30
"""Clock skew allowed between the site and this server (``iat``, ``exp``, ``nbf``)."""
_FREE_WINDOWS = ((600, "free_per_10min"), (86_400, "free_per_day"))
_KEY_CACHE = 256


class Admission(msgspec.Struct, frozen=True, kw_only=True):
    """How a new voter was admitted; only :class:`Identities` makes ``work`` and ``site`` ones.

    ``voter`` is the derived voter id of a proof or a site user (``None``: a fresh random id);
    ``group`` is the group the site's token names, if any.
    """

    how: Literal["free", "work", "site"]
    voter: str | None = None
    group: str | None = None


FREE = Admission(how="free")
"""An anonymous voter within the client's free budget (the core's default)."""


class SiteClaims(msgspec.Struct, frozen=True, kw_only=True):
    """The claims of a site token this module reads (others are ignored)."""

    sub: Annotated[str, Meta(min_length=1, max_length=256)]
    aud: str | list[str]
    iat: float
    exp: float
    nbf: float | None = None
    iss: str | None = None
    group: Annotated[str, Meta(min_length=1, max_length=GROUP_MAX)] | None = None


def client_key(host: str | None) -> str:
    """The address a free budget is counted against: an IPv4 address, or the /64 of an IPv6
    one (one household or phone gets a whole /64, so counting single addresses would let it
    start afresh at will).

    >>> client_key("::ffff:192.0.2.1"), client_key("198.51.100.4")
    ('192.0.2.1', '198.51.100.4')
    """
    try:
        ip = ipaddress.ip_address(host or "")
    except ValueError:
        return host or "unknown"
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


def _algorithms(key: object) -> list[str] | None:
    """The JWT algorithms a public key may verify (never ``none`` nor an HMAC)."""
    if isinstance(key, ed25519.Ed25519PublicKey):
        return ["EdDSA"]
    if isinstance(key, ec.EllipticCurvePublicKey):
        return {"secp256r1": ["ES256"], "secp384r1": ["ES384"]}.get(key.curve.name)
    if isinstance(key, rsa.RSAPublicKey) and key.key_size >= 2048:
        return ["RS256", "PS256"]
    return None


def _load_key(pem: str, i: int) -> tuple[Any, list[str]]:
    field = f"identity.site_keys[{i}]"
    if "PRIVATE KEY" in pem:
        raise InvalidInput(
            f"{field} is a private key: give ranker only the public key (e.g. `openssl pkey "
            "-in site.pem -pubout`) and keep the private key on your site",
            field="identity",
        )
    try:
        key = load_pem_public_key(pem.strip().encode())
    except (ValueError, TypeError):
        raise InvalidInput(f"{field} is not a PEM public key", field="identity") from None
    algs = _algorithms(key)
    if algs is None:
        raise InvalidInput(
            f"{field}: use an EC P-256 or P-384, Ed25519, or RSA (>= 2048 bits) public key",
            field="identity",
        )
    return key, algs


def check_identity(identity: Identity) -> Identity:
    """The identity settings, checked: every site key a supported public key (a private key
    is refused before it can reach the event log), and at least one in ``site`` mode.

    >>> check_identity(Identity(mode="site"))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ranker.errors.InvalidInput: identity.site_keys: a survey in site mode needs the public key...
    """
    for i, pem in enumerate(identity.site_keys):
        _load_key(pem, i)
    if identity.mode == "site" and not identity.site_keys:
        raise InvalidInput(
            "identity.site_keys: a survey in site mode needs the public key its site signs "
            "tokens with",
            field="identity",
        )
    return identity


def check_admission(survey: Survey, admission: Admission) -> None:
    """Refuse an admission that does not suit the survey's mode (``proof_required``,
    ``site_token_required``): a survey switched to a stricter mode after the admission was
    decided, or a caller that skipped :meth:`Identities.admit`."""
    mode = survey.identity.mode
    if mode == "site" and admission.how != "site":
        raise SiteTokenRequired("this survey takes voters signed in on its site only")
    if mode == "proof_of_work" and admission.how != "work":
        raise ProofRequired("this survey asks every new voter for a proof of work")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


class Identities:
    """Admits new voters by the survey's identity mode.

    Parameters
    ----------
    store
        Counts the free budgets per client address (:meth:`~ranker.storage.base.Store.rate_hit`).
    secret
        The service secret; challenge signatures and derived voter ids use keys derived from it.
    clock
        Seconds since the epoch (challenge and site token times are checked against it).
    """

    def __init__(self, store: Store, secret: bytes, clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.clock = clock

        self._work = Work(secret)
        self.ballots = BallotProofs(store, secret, clock)
        """The proof of work every pair costs in ``proof_of_work`` mode."""
        self._voter_key = hmac.new(secret, b"ranker/derived-voter/v1", hashlib.sha256).digest()
        self._keys: dict[str, tuple[Any, list[str]]] = {}

    def admit(
        self,
        survey: Survey,
        client: str,
        *,
        proof: str | None = None,
        site_token: str | None = None,
    ) -> Admission:
        """How a new voter of ``survey`` from ``client`` (see :func:`client_key`) is admitted:
        a site token in ``site`` mode; else a proof of work if one is sent or the mode asks for
        it; else (``anonymous``) the client's free budget, and past it ``proof_required``."""
        mode = survey.identity.mode
        if mode == "site":
            if site_token is None:
                raise SiteTokenRequired("this survey takes voters signed in on its site only")
            return self.site_voter(survey, site_token)
        if site_token is not None:
            raise InvalidInput(
                "site_token: this survey does not take site tokens", field="site_token"
            )
        if proof is not None:
            return self.verify_proof(survey, proof)
        if mode == "proof_of_work":
            raise ProofRequired("this survey asks every new voter for a proof of work")
        if self._free(survey, client):
            return FREE
        raise ProofRequired(
            "this address has created many voters lately: solve a proof of work for the next one"
        )

    def _free(self, survey: Survey, client: str) -> bool:
        """Count one new voter against the client's free budgets; ``False`` once one is spent."""
        now = self.clock()
        for window, name in _FREE_WINDOWS:
            limit = getattr(survey.identity, name)
            if limit < 1:
                return False
            try:
                self.store.rate_hit(f"free:{survey.id}:{window}:{client}", limit, window, now)
            except RateLimited:
                return False
        return True

    def _derived(self, kind: str, survey: str, subject: str) -> str:
        # ids of 17 characters: never equal to a random anonymous id (16)
        mac = hmac.new(self._voter_key, f"{kind}|{survey}|{subject}".encode(), hashlib.sha256)
        return kind + _b64(mac.digest()[:12])

    # -- proof of work -------------------------------------------------------------------
    def challenge(self, survey: Survey) -> Challenge:
        """A signed proof-of-work challenge for one new voter of ``survey`` (its ``work``)."""
        return self._work.challenge(survey.id, survey.identity.work, self.clock())

    def verify_proof(self, survey: Survey, proof: str) -> Admission:
        """The admission a solved challenge buys: the voter derived from its nonce (a replayed
        proof names the same voter again); ``proof_invalid`` if it does not hold."""
        nonce = self._work.verify(proof, survey.id, self.clock())
        return Admission(how="work", voter=self._derived("w", survey.id, nonce))

    # -- the embedding site's word -------------------------------------------------------
    def _site_key(self, pem: str, i: int) -> tuple[Any, list[str]]:
        hit = self._keys.get(pem)
        if hit is None:
            hit = _load_key(pem, i)
            if len(self._keys) >= _KEY_CACHE:
                self._keys.clear()
            self._keys[pem] = hit
        return hit

    def site_voter(self, survey: Survey, token: str) -> Admission:
        """The admission a site token buys: the voter derived from its ``sub``.

        The token must verify with one of the survey's ``site_keys`` (an algorithm that key
        type allows: never ``none`` or an HMAC), name the survey in ``aud``, carry the
        configured ``iss``, and be current: ``iat <= now <= exp`` (30 s of skew allowed), no
        older and no longer-lived than ``site_token_max_age_s``. Else ``site_token_invalid``.
        """
        ident = survey.identity
        try:
            alg = jwt.get_unverified_header(token).get("alg")
        except jwt.InvalidTokenError:
            raise SiteTokenInvalid("site_token: not a JWT") from None
        claims: dict[str, Any] | None = None
        for i, pem in enumerate(ident.site_keys):
            key, algs = self._site_key(pem, i)
            if alg not in algs:
                continue
            try:  # the signature only: claims are checked below against this server's clock
                claims = jwt.decode(
                    token,
                    key,
                    algorithms=[alg],
                    options={
                        "verify_exp": False,
                        "verify_iat": False,
                        "verify_nbf": False,
                        "verify_aud": False,
                        "verify_iss": False,
                    },
                )
                break
            except jwt.InvalidSignatureError:
                continue
            except jwt.InvalidTokenError as exc:
                raise SiteTokenInvalid(f"site_token: {exc}") from None
        if claims is None:
            raise SiteTokenInvalid(
                f"site_token: its signature ({alg}) does not verify with this survey's site keys"
            )
        try:
            c = msgspec.convert(claims, SiteClaims)
        except msgspec.ValidationError as exc:
            raise SiteTokenInvalid(f"site_token: {exc}") from None
        self._check_claims(survey, c)
        return Admission(how="site", voter=self._derived("s", survey.id, c.sub), group=c.group)

    def _check_claims(self, survey: Survey, c: SiteClaims) -> None:
        ident = survey.identity
        audience = [c.aud] if isinstance(c.aud, str) else c.aud
        if survey.id not in audience:
            raise SiteTokenInvalid(f"site_token: aud must be this survey's id ({survey.id})")
        if ident.site_issuer is not None and c.iss != ident.site_issuer:
            raise SiteTokenInvalid(f"site_token: iss must be {ident.site_issuer!r}")
        now = self.clock()
        if c.exp < now - LEEWAY_S:
            raise SiteTokenInvalid("site_token: expired; the site must sign a fresh one")
        if c.iat > now + LEEWAY_S or (c.nbf is not None and c.nbf > now + LEEWAY_S):
            raise SiteTokenInvalid("site_token: not valid yet (iat or nbf in the future)")
        age = ident.site_token_max_age_s
        if c.exp - c.iat > age or now - c.iat > age + LEEWAY_S:
            raise SiteTokenInvalid(f"site_token: may live at most {age} s (exp - iat, now - iat)")
