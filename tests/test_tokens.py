"""Signed ballot and voter tokens: genuine ones verify, anything altered does not."""

from __future__ import annotations

import pytest

from ranker.errors import BadToken
from ranker.tokens import BallotClaims, TokenSigner, VoterClaims, new_id

CLAIMS = BallotClaims(
    id="b1",
    survey="s1",
    voter="v1",
    group="g",
    left=3,
    right=7,
    probability=0.25,
    issued=100.0,
    expires=200.0,
)


def test_ballot_round_trip() -> None:
    s = TokenSigner(b"x" * 32)
    assert s.verify_ballot(s.sign_ballot(CLAIMS)) == CLAIMS


def test_voter_round_trip() -> None:
    s = TokenSigner(b"x" * 32)
    c = VoterClaims(survey="s1", voter="v1", group=None, issued=5.0)
    assert s.verify_voter(s.sign_voter(c)) == c


def test_other_secret_is_refused() -> None:
    tok = TokenSigner(b"x" * 32).sign_ballot(CLAIMS)
    with pytest.raises(BadToken, match="signature"):
        TokenSigner(b"y" * 32).verify_ballot(tok)


def test_voter_token_is_not_a_ballot() -> None:
    s = TokenSigner(b"x" * 32)
    tok = s.sign_voter(VoterClaims(survey="s1", voter="v1", group=None, issued=5.0))
    with pytest.raises(BadToken):
        s.verify_ballot(tok)


@pytest.mark.parametrize("pos", [3, 10, -3])
def test_any_flipped_character_is_refused(pos: int) -> None:
    s = TokenSigner(b"x" * 32)
    tok = s.sign_ballot(CLAIMS)
    pos %= len(tok)
    ch = "A" if tok[pos] != "A" else "B"
    bad = tok[:pos] + ch + tok[pos + 1 :]
    with pytest.raises(BadToken):
        s.verify_ballot(bad)


@pytest.mark.parametrize("junk", ["", "b1", "b1.x.y.z", "b1.!!!.???", None, 42, "b1." + "a" * 2000])
def test_junk_is_refused_with_bad_token(junk: object) -> None:
    with pytest.raises(BadToken):
        TokenSigner(b"x" * 32).verify_ballot(junk)


def test_short_secret_is_refused() -> None:
    with pytest.raises(ValueError, match="secret"):
        TokenSigner(b"short")


def test_new_id_is_random_and_url_safe() -> None:
    ids = {new_id() for _ in range(50)}
    assert len(ids) == 50
    assert all(i.replace("-", "").replace("_", "").isalnum() for i in ids)


def test_only_the_exact_spelling_of_a_token_verifies() -> None:
    signer = TokenSigner(b"k" * 32)
    tok = signer.sign_voter(VoterClaims(survey="s", voter="v", group=None, issued=1.0))
    assert signer.verify_voter(tok).voter == "v"
    head, sig = tok.rsplit(".", 1)
    last = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    variants = [f"{head}.{sig[:-1]}{c}" for c in last if c != sig[-1]]
    variants += [f"{head}.{sig[:3]}!{sig[3:]}", f"{head}.{sig}=="]
    for bad in variants:
        with pytest.raises(BadToken):
            signer.verify_voter(bad)


def test_new_ids_never_start_with_a_dash() -> None:
    """A leading '-' read as an option: `ranker organiser rotate --survey -x...` failed."""
    from ranker.tokens import new_id

    ids = [new_id(9) for _ in range(3000)]  # ~47 would start with "-" without the rule
    assert not any(i.startswith("-") for i in ids)
    assert len({i[0] for i in ids}) > 50  # every other first character still occurs
