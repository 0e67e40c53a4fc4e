"""A small proof of work for every pair in ``proof_of_work`` mode: harvesting pays by the pair.

Bounded influence counts one voter as at most a few votes for an idea, so an attacker who
harvests ballots (asking for pair after pair, answering only those showing their idea) asks
for hundreds of pairs per vote that counts; a proof per *identity* cannot make that cost 50
times an honest vote, because honest voters pay it too (``benchmarks/identity_cost.py``).
A proof per *pair* can: each ``POST .../ballots`` in a survey whose ``identity.mode`` is
``proof_of_work`` and whose ``identity.ballot_work`` is above 0 brings a solved challenge,
and the harvester pays for every pair it throws away.

A ballot challenge is the ALTCHA challenge of :mod:`ranker.proof_of_work`, signed with keys
of its own (a new voter's proof never passes for a ballot's, nor the reverse), naming the
survey and the voter it was issued to, valid :data:`~ranker.proof_of_work.CHALLENGE_TTL_S`.
Every ballot comes with the challenge for the next one (and a new voter with the one for their
first), so the widget solves it while the voter reads the current pair.

Single use without a store write per *challenge*: checking a proof needs only the HMACs; the
one write is when a proof is spent, :meth:`~ranker.storage.base.Store.claim_once` on its nonce
(``SET NX`` with an expiry on Redis, an upsert on SQLite), which keeps the nonce only as long as
the challenge could still verify. Two workers given the same proof: one ballot, one
``proof_invalid``.

>>> from ranker.domain import Identity, Survey
>>> from ranker.proof_of_work import solve
>>> from ranker.storage import open_store
>>> proofs = BallotProofs(open_store("memory://"), b"s" * 32, clock=lambda: 1_800_000_000.0)
>>> s = Survey(id="S1", owner="o", question="?",
...            identity=Identity(mode="proof_of_work", work=20, ballot_work=5))
>>> ch = proofs.challenge(s, "v1")
>>> ch is not None and ch.parameters.data.voter
'v1'
>>> proof = solve(ch)
>>> proofs.spend(s, "v1", proof)
>>> proofs.spend(s, "v1", proof)
Traceback (most recent call last):
...
ranker.errors.ProofInvalid: proof: already spent on a pair; solve the challenge that came with it
>>> proofs.spend(s, "v1", None)  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
ranker.errors.ProofRequired: this survey asks a proof of work for every pair: ...
"""

from __future__ import annotations

import time
from collections.abc import Callable

from ranker.domain import Survey
from ranker.errors import ProofInvalid, ProofRequired
from ranker.proof_of_work import CHALLENGE_TTL_S, Challenge, Work
from ranker.storage.base import Store

__all__ = ["BallotProofs", "required"]


def required(survey: Survey) -> bool:
    """Whether every pair of ``survey`` costs a proof of work."""
    return survey.identity.mode == "proof_of_work" and survey.identity.ballot_work > 0


class BallotProofs:
    """Issues, checks and spends the per-ballot challenges.

    Parameters
    ----------
    store
        Remembers spent proofs (:meth:`~ranker.storage.base.Store.claim_once`).
    secret
        The service secret; the challenges' keys are derived from it.
    clock
        Seconds since the epoch (expiry is checked against it).
    """

    def __init__(self, store: Store, secret: bytes, clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.clock = clock
        self._work = Work(secret, purpose="pow-ballot")

    def challenge(self, survey: Survey, voter: str) -> Challenge | None:
        """The challenge for ``voter``'s next pair; ``None`` if the survey asks none."""
        if not required(survey):
            return None
        return self._work.challenge(
            survey.id, survey.identity.ballot_work, self.clock(), voter=voter
        )

    def check(self, survey: Survey, voter: str, proof: str | None) -> str | None:
        """The nonce ``proof`` solves for ``voter`` (``None`` if the survey asks no proof),
        checked without the store: ``proof_required`` if it is missing, ``proof_invalid`` if
        it does not verify, names another survey or voter, or has expired."""
        if not required(survey):
            return None
        if proof is None:
            raise ProofRequired(
                "this survey asks a proof of work for every pair: solve the challenge that came "
                "with the last one (or GET .../ballots/challenge)"
            )
        return self._work.verify(proof, survey.id, self.clock(), voter=voter)

    def spend(self, survey: Survey, voter: str, proof: str | None) -> None:
        """:meth:`check`, then mark the proof used; ``proof_invalid`` if it already was."""
        nonce = self.check(survey, voter, proof)
        if nonce is None:
            return
        if not self.store.claim_once(
            f"ballot-proof:{survey.id}:{nonce}", CHALLENGE_TTL_S + 60, self.clock()
        ):
            raise ProofInvalid(
                "proof: already spent on a pair; solve the challenge that came with it"
            )
