"""Who may become a voter: free budgets per client, proof of work, site tokens (ranker.identity,
ranker.proof_of_work), and Voting.issue_voter's check that an admission suits the mode."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Iterator
from typing import Any

import jwt
import msgspec
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from ranker import events as ev
from ranker.domain import Identity, Survey, SurveyPatch, SurveySpec
from ranker.errors import (
    InvalidInput,
    ProofInvalid,
    ProofRequired,
    SiteTokenInvalid,
    SiteTokenRequired,
)
from ranker.identity import FREE, Admission, Identities, check_identity, client_key
from ranker.proof_of_work import CHALLENGE_TTL_S, Challenge, Work, solve
from ranker.service import RankerService
from ranker.storage import open_store

NOW = 1_800_000_000.0
SECRET = b"s" * 32


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def ids(clock: Clock) -> Identities:
    return Identities(open_store("memory://"), SECRET, clock)


def survey(sid: str = "S1", **identity: Any) -> Survey:
    return Survey(id=sid, owner="o", question="?", identity=Identity(**identity))


def pem(key: Any, private: bool = False) -> str:
    if private:
        return str(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            ).decode()
        )
    return str(
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


EC_KEY = ec.generate_private_key(ec.SECP256R1())
ED_KEY = ed25519.Ed25519PrivateKey.generate()
RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


def token(key: Any, alg: str, **claims: Any) -> str:
    body = {"sub": "alice", "aud": "S1", "iat": int(NOW), "exp": int(NOW) + 600, **claims}
    return jwt.encode({k: v for k, v in body.items() if v is not None}, key, algorithm=alg)


# -- client addresses and the free budget ------------------------------------------------------
def test_client_key_groups_an_ipv6_64_and_unmaps_ipv4() -> None:
    assert client_key("203.0.113.9") == "203.0.113.9"
    assert client_key("2001:db8:aa:bb:1::1") == client_key("2001:db8:aa:bb:ffff::2")
    assert client_key("2001:db8:aa:bb:1::1") != client_key("2001:db8:aa:bc:1::1")
    assert client_key("::ffff:203.0.113.9") == "203.0.113.9"
    assert client_key("testclient") == "testclient" and client_key(None) == "unknown"


def test_past_the_free_budget_a_client_must_prove_work_not_wait(
    ids: Identities, clock: Clock
) -> None:
    s = survey(free_per_10min=3, free_per_day=5)
    assert [ids.admit(s, "10.0.0.1") for _ in range(3)] == [FREE] * 3
    with pytest.raises(ProofRequired, match="many voters"):
        ids.admit(s, "10.0.0.1")
    assert ids.admit(s, "10.0.0.2") == FREE  # another address has its own budget
    assert ids.admit(survey("S2", free_per_10min=3), "10.0.0.1") == FREE  # and another survey
    admitted = ids.admit(s, "10.0.0.1", proof=solve(ids.challenge(s)))  # slowed, not locked out
    assert admitted.how == "work" and admitted.voter
    clock.now += 600
    assert [ids.admit(s, "10.0.0.1") for _ in range(2)] == [FREE] * 2  # a new 10 minutes
    with pytest.raises(ProofRequired):  # ... but the day's 5 are used up
        ids.admit(s, "10.0.0.1")


def test_a_zero_budget_means_every_new_voter_proves_work(ids: Identities) -> None:
    with pytest.raises(ProofRequired):
        ids.admit(survey(free_per_10min=0), "10.0.0.1")
    with pytest.raises(ProofRequired, match="every new voter"):
        ids.admit(survey(mode="proof_of_work"), "10.0.0.1")


# -- proof of work -------------------------------------------------------------------------------
def test_a_proof_buys_one_voter_and_a_replay_buys_the_same_one(ids: Identities) -> None:
    s = survey(mode="proof_of_work", work=30)
    ch = ids.challenge(s)
    assert ch.parameters.algorithm == "PBKDF2/SHA-256" and ch.parameters.cost == 1000
    assert (ch.parameters.data.survey, ch.parameters.data.exp) == ("S1", int(NOW) + 600)
    proof = solve(ch)
    a = ids.admit(s, "10.0.0.1", proof=proof)
    assert a.how == "work" and a.voter is not None and len(a.voter) == 17
    assert ids.admit(s, "10.0.0.9", proof=proof) == a  # replayed from anywhere: the same voter
    other = ids.admit(s, "10.0.0.1", proof=solve(ids.challenge(s)))
    assert other.voter != a.voter


def test_the_counter_is_at_most_twice_the_work() -> None:
    work = Work(SECRET)
    counters = []
    for _ in range(8):
        proof = solve(work.challenge("S1", work=5, now=NOW))
        counters.append(json.loads(base64.b64decode(proof))["solution"]["counter"])
    assert all(0 <= c <= 10 for c in counters)


def _tamper(proof: str, edit: Any) -> str:
    d = json.loads(base64.b64decode(proof))
    edit(d)
    return base64.b64encode(json.dumps(d).encode()).decode()


@pytest.mark.parametrize(
    "edit",
    [
        lambda d: d["solution"].update(derivedKey="00" * 32),
        lambda d: d["solution"].update(counter=d["solution"]["counter"] + 1, derivedKey="ab" * 32),
        lambda d: d["challenge"]["parameters"].update(cost=1),
        lambda d: d["challenge"]["parameters"]["data"].update(exp=2_000_000_000),
        lambda d: d["challenge"]["parameters"]["data"].update(survey="S2"),
        lambda d: d["challenge"]["parameters"].pop("keySignature"),
        lambda d: d["challenge"].update(signature="00" * 32),
    ],
    ids=["key", "counter", "cost", "exp", "survey", "no-key-signature", "signature"],
)
def test_a_tampered_proof_is_refused(ids: Identities, edit: Any) -> None:
    s = survey(mode="proof_of_work", work=10)
    proof = solve(ids.challenge(s))
    with pytest.raises(ProofInvalid):
        ids.admit(s, "10.0.0.1", proof=_tamper(proof, edit))


@pytest.mark.parametrize(
    "junk",
    [
        "",
        "not base64!",
        base64.b64encode(b"[]").decode(),
        base64.b64encode(b"{}").decode(),
        base64.b64encode(b'{"challenge": 1, "solution": 2}').decode(),
        "AAAA" * 300,
    ],
)
def test_a_malformed_proof_is_refused(ids: Identities, junk: str) -> None:
    with pytest.raises(ProofInvalid):
        ids.admit(survey(mode="proof_of_work"), "10.0.0.1", proof=junk)


def test_a_proof_for_another_survey_expired_or_from_another_server_is_refused(
    ids: Identities, clock: Clock
) -> None:
    s = survey(mode="proof_of_work", work=10)
    proof = solve(ids.challenge(s))
    with pytest.raises(ProofInvalid, match="another survey"):
        ids.admit(survey("S2", mode="proof_of_work"), "10.0.0.1", proof=proof)
    stranger = Identities(open_store("memory://"), b"t" * 32, clock)
    with pytest.raises(ProofInvalid, match="does not verify"):
        stranger.admit(s, "10.0.0.1", proof=proof)
    clock.now += CHALLENGE_TTL_S + 1
    with pytest.raises(ProofInvalid, match="expired"):
        ids.admit(s, "10.0.0.1", proof=proof)


def test_the_challenge_wire_shape_is_altchas() -> None:
    ch = Work(SECRET).challenge("S1", work=10, now=NOW)
    raw = msgspec.to_builtins(ch)
    assert set(raw["parameters"]) == {
        "algorithm",
        "nonce",
        "salt",
        "cost",
        "keyLength",
        "keyPrefix",
        "keySignature",
        "data",
    }
    assert msgspec.convert(raw, Challenge) == ch


# -- site tokens ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("key", "alg"), [(EC_KEY, "ES256"), (ED_KEY, "EdDSA"), (RSA_KEY, "RS256"), (RSA_KEY, "PS256")]
)
def test_a_site_user_is_one_voter_on_every_device(ids: Identities, key: Any, alg: str) -> None:
    s = survey(mode="site", site_keys=[pem(key)])
    a = ids.admit(s, "10.0.0.1", site_token=token(key, alg))
    assert a.how == "site" and a.voter is not None and len(a.voter) == 17
    later = ids.admit(s, "10.9.9.9", site_token=token(key, alg, iat=int(NOW) - 60))
    assert later.voter == a.voter
    bob = ids.admit(s, "10.0.0.1", site_token=token(key, alg, sub="bob"))
    assert bob.voter != a.voter
    s2 = survey("S2", mode="site", site_keys=[pem(key)])
    assert ids.admit(s2, "10.0.0.1", site_token=token(key, alg, aud="S2")).voter != a.voter
    assert "alice" not in a.voter


def test_site_tokens_checks(ids: Identities, clock: Clock) -> None:
    s = survey(
        mode="site",
        site_keys=[pem(EC_KEY)],
        site_issuer="https://host.example",
        site_token_max_age_s=600,
    )
    iss = "https://host.example"
    assert ids.admit(s, "c", site_token=token(EC_KEY, "ES256", iss=iss)).how == "site"
    assert ids.admit(s, "c", site_token=token(EC_KEY, "ES256", iss=iss, aud=["x", "S1"])).voter
    bad = {
        "aud": token(EC_KEY, "ES256", iss=iss, aud="S2"),
        "iss": token(EC_KEY, "ES256", iss="https://evil.example"),
        "no iss": token(EC_KEY, "ES256"),
        "expired": token(EC_KEY, "ES256", iss=iss, iat=int(NOW) - 700, exp=int(NOW) - 100),
        "future iat": token(EC_KEY, "ES256", iss=iss, iat=int(NOW) + 300, exp=int(NOW) + 600),
        "nbf": token(EC_KEY, "ES256", iss=iss, nbf=int(NOW) + 300),
        "too long-lived": token(EC_KEY, "ES256", iss=iss, exp=int(NOW) + 86_400),
        "too old": token(EC_KEY, "ES256", iss=iss, iat=int(NOW) - 900, exp=int(NOW) + 60),
        "no sub": token(EC_KEY, "ES256", iss=iss, sub=None),
        "no exp": token(EC_KEY, "ES256", iss=iss, exp=None),
        "empty sub": token(EC_KEY, "ES256", iss=iss, sub=""),
        "another key": token(ec.generate_private_key(ec.SECP256R1()), "ES256", iss=iss),
        "alg none": jwt.encode({"sub": "a", "aud": "S1", "iss": iss}, None, algorithm="none"),
        "not a jwt": "abc.def",
        "garbage": "x" * 50,
    }
    for why, tok in bad.items():
        with pytest.raises(SiteTokenInvalid):
            ids.admit(s, "c", site_token=tok)
            pytest.fail(why)


def test_an_hmac_token_keyed_with_the_public_key_is_refused(ids: Identities) -> None:
    """Algorithm confusion: the public key is public, so HS256 under it proves nothing."""
    public = pem(EC_KEY)

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    claims = {"sub": "mallory", "aud": "S1", "iat": int(NOW), "exp": int(NOW) + 60}
    head = b64(b'{"alg":"HS256","typ":"JWT"}') + "." + b64(json.dumps(claims).encode())
    mac = hmac.new(public.encode(), head.encode(), hashlib.sha256).digest()
    forged = head + "." + b64(mac)
    with pytest.raises(SiteTokenInvalid, match="HS256"):
        ids.admit(survey(mode="site", site_keys=[public]), "c", site_token=forged)


def test_two_site_keys_let_a_site_rotate(ids: Identities) -> None:
    new = ec.generate_private_key(ec.SECP256R1())
    s = survey(mode="site", site_keys=[pem(EC_KEY), pem(new)])
    assert ids.admit(s, "c", site_token=token(EC_KEY, "ES256")) == ids.admit(
        s, "c", site_token=token(new, "ES256")
    )


def test_site_mode_needs_a_token_and_other_modes_refuse_one(ids: Identities) -> None:
    with pytest.raises(SiteTokenRequired):
        ids.admit(survey(mode="site", site_keys=[pem(EC_KEY)]), "c")
    with pytest.raises(SiteTokenRequired):  # a proof is no way in
        ids.admit(survey(mode="site", site_keys=[pem(EC_KEY)]), "c", proof="x")
    with pytest.raises(InvalidInput, match="site_token"):
        ids.admit(survey(), "c", site_token=token(EC_KEY, "ES256"))


# -- settings -----------------------------------------------------------------------------------
def test_check_identity_takes_public_keys_only() -> None:
    assert check_identity(Identity(mode="site", site_keys=[pem(ED_KEY)])).mode == "site"
    private = pem(EC_KEY, private=True)
    with pytest.raises(InvalidInput, match="private key") as err:
        check_identity(Identity(site_keys=[private]))
    assert "MII" not in err.value.message  # the refusal does not echo key material
    weak = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    k1 = ec.generate_private_key(ec.SECP256K1())
    for bad in ("hunter2", pem(weak), pem(k1)):
        with pytest.raises(InvalidInput, match=r"site_keys\[0\]"):
            check_identity(Identity(site_keys=[bad]))
    with pytest.raises(InvalidInput, match="needs the public key"):
        check_identity(Identity(mode="site"))


@pytest.fixture
def svc(clock: Clock) -> Iterator[RankerService]:
    s = RankerService(open_store("memory://"), secret=SECRET, clock=clock, follow=False)
    yield s
    s.close()


def test_a_private_key_never_reaches_the_log(svc: RankerService) -> None:
    sid = svc.surveys.create("o", SurveySpec(question="q?", ideas=["a", "b"], open=True)).id
    head = svc.store.head(sid)
    private = pem(EC_KEY, private=True)
    with pytest.raises(InvalidInput):
        svc.surveys.update(sid, SurveyPatch(identity=Identity(mode="site", site_keys=[private])))
    assert svc.store.head(sid) == head
    svc.surveys.update(sid, SurveyPatch(identity=Identity(mode="site", site_keys=[pem(EC_KEY)])))
    log = b"".join(ev.encode(e) for _, e in svc.exports.events(sid))
    assert b"PUBLIC KEY" in log and b"PRIVATE" not in log


def test_issue_voter_takes_only_an_admission_that_suits_the_mode(svc: RankerService) -> None:
    spec = SurveySpec(question="q?", ideas=["a", "b"], open=True, groups=["staff"])
    sid = svc.surveys.create("o", spec).id
    assert len(svc.voting.issue_voter(sid).id) == 16  # anonymous: a fresh random id
    work = Admission(how="work", voter="wAAAAAAAAAAAAAAAA")
    assert svc.voting.issue_voter(sid, admission=work).id == "wAAAAAAAAAAAAAAAA"
    svc.surveys.update(sid, SurveyPatch(identity=Identity(mode="proof_of_work")))
    with pytest.raises(ProofRequired):
        svc.voting.issue_voter(sid)
    site = Admission(how="site", voter="sAAAAAAAAAAAAAAAA", group="staff")
    with pytest.raises(ProofRequired):
        svc.voting.issue_voter(sid, admission=site)
    svc.surveys.update(sid, SurveyPatch(identity=Identity(mode="site", site_keys=[pem(EC_KEY)])))
    for a in (FREE, work):
        with pytest.raises(SiteTokenRequired):
            svc.voting.issue_voter(sid, admission=a)
    v = svc.voting.issue_voter(sid, group=None, admission=site)
    assert (v.id, v.group) == ("sAAAAAAAAAAAAAAAA", "staff")  # the site's group wins
    assert svc.voting.voter(sid, v.token).id == v.id
    with pytest.raises(InvalidInput, match="group"):
        svc.voting.issue_voter(sid, admission=Admission(how="site", voter="s1", group="martians"))


def test_a_voided_site_user_stays_voided_on_a_new_device(svc: RankerService, clock: Clock) -> None:
    spec = SurveySpec(question="q?", ideas=["a", "b", "c"], open=True)
    sid = svc.surveys.create("o", spec).id
    svc.surveys.update(sid, SurveyPatch(identity=Identity(mode="site", site_keys=[pem(EC_KEY)])))
    s = svc.surveys.get(sid)
    tok = token(EC_KEY, "ES256", aud=sid)
    v = svc.voting.issue_voter(sid, admission=svc.identities.admit(s, "c", site_token=tok))
    from ranker.domain import Answer

    b = svc.voting.next_ballot(sid, v)
    svc.voting.answer(sid, v, b.token, Answer(choice="left"))
    svc.voting.void_voter(sid, v.id, reason="bot")
    again = svc.voting.issue_voter(sid, admission=svc.identities.admit(s, "d", site_token=tok))
    assert again.id == v.id
    from ranker.errors import VoterVoided

    with pytest.raises(VoterVoided):
        b = svc.voting.next_ballot(sid, again)
        svc.voting.answer(sid, again, b.token, Answer(choice="left"))


def test_the_user_guides_signing_example_makes_tokens_ranker_takes(ids: Identities) -> None:
    """docs/user-guide.md, *Who may vote*: the few lines a site needs, executed."""
    import re
    import textwrap
    import time as real_time
    from pathlib import Path

    guide = (Path(__file__).resolve().parents[1] / "docs" / "user-guide.md").read_text()
    section = guide[guide.index("### Who may vote") :]
    code = re.search(r"```python\n(.*?)```", section, re.S)
    assert code is not None and "def ranker_token" in code.group(1)
    scope: dict[str, Any] = {}
    exec(textwrap.dedent(code.group(1)), scope)
    token = scope["ranker_token"](pem(EC_KEY, private=True), "S1", "alice")
    s = survey(mode="site", site_keys=[pem(EC_KEY)], site_issuer="https://intranet.example.org")
    ids.clock = real_time.time  # the example stamps tokens with the real time
    assert ids.admit(s, "c", site_token=token).how == "site"
