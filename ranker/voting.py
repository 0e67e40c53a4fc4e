"""Voters, ballots and answers: the vote path.

The walk of one answer, from the HTTP route to the model (six project functions between the
route and the store call, one lock acquisition, each input validated once):

1. ``api.routes.voters.answer`` receives the body, decoded once by msgspec into
   ``AnswerIn`` (an :class:`~ranker.domain.Answer`: choice, reason, response time, with the
   rules of :mod:`ranker.rules`); the ``voter`` dependency (:meth:`Voting.voter`) verified
   the voter token once.
2. :meth:`Voting.answer_async` calls
3. :meth:`Voting._prepare`: the loaded projection without the lock
   (:meth:`~ranker.repository.ProjectionRepository.loaded`), the ballot token verified
   (:meth:`~ranker.tokens.TokenSigner.verify_ballot`), its survey, voter and expiry checked;
   the log position ``checked_at`` read, then every refusal decided by
4. :func:`refusal` (idea gone, retired or rejected, survey not open, voter voided) against
   the projection at that position; then the event is built and encoded into one
   :class:`~ranker.storage.base.VoteAppend`.
5. ``Store.append_vote_async`` decides atomically: ballot already used (a retry gets the
   original back), a gate logged after ``checked_at`` (``stale_check``: :meth:`Voting._recheck`
   catches up, decides again and retries), the voter's rate limit; then appends and marks
   the ballot used. Nothing refused is ever written.
6. :meth:`Voting._finish` hands the stored answer to
   :meth:`~ranker.repository.ProjectionRepository.applied` (the one lock acquisition), which
   folds the events logged before it and then the answer:
   :meth:`~ranker.projection.Projection.apply` -> ``model.update`` and ``sampler.observe``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import NamedTuple

from ranker import events as ev
from ranker.domain import Answer, AnswerReceipt, Ballot, Voter
from ranker.errors import (
    BadToken,
    BallotExpired,
    BallotNotFound,
    BallotUsed,
    IdeaInactive,
    InvalidInput,
    NothingToUndo,
    RankerError,
    StaleCheck,
    StoreError,
    SurveyClosed,
    UndoExpired,
    VoterNotFound,
    VoterVoided,
    WrongVoter,
)
from ranker.ideas import check_participant
from ranker.identity import FREE, Admission, check_admission
from ranker.projection import Projection
from ranker.repository import ProjectionRepository
from ranker.rules import REASON_MAX, check_text
from ranker.storage.base import Store, VoteAppend, VoteStored
from ranker.surveys import check_owner
from ranker.tokens import BallotClaims, TokenSigner, VoterClaims, new_id

__all__ = ["Voting", "refusal"]

_RETRIES = 16
_VOTER_CACHE = 20_000


def refusal(proj: Projection, b: BallotClaims) -> RankerError | None:
    """Why the ballot ``b`` cannot be answered against this projection, or ``None``."""
    n = len(proj.ideas)
    if not (0 <= b.left < n and 0 <= b.right < n):
        return BallotNotFound("this ballot names ideas this survey does not have")
    survey = proj.survey
    assert survey is not None
    if survey.status != "open":
        return SurveyClosed(f"survey is {survey.status}")
    info = proj.voters.get(b.voter)
    if info is not None and info.voided:
        return VoterVoided("this voter was voided by the organiser")
    for i in (b.left, b.right):
        if proj.ideas[i].status != "active":
            return IdeaInactive(f"idea {i} is {proj.ideas[i].status}; ask for a new pair")
    return None


class _Pending(NamedTuple):
    """An answer checked and encoded, before the store call."""

    ballot: BallotClaims
    event: ev.VoteCast | ev.VoteSkipped
    vote: VoteAppend


class Voting:
    """Voter, ballot and answer use cases."""

    def __init__(
        self,
        repo: ProjectionRepository,
        signer: TokenSigner,
        clock: Callable[[], float] = time.time,
        *,
        max_staleness_s: float = 0.0,
    ) -> None:
        self.repo = repo
        self.signer = signer
        self.clock = clock
        self.max_staleness_s = max_staleness_s
        self._voters: dict[str, VoterClaims] = {}
        self._open: dict[tuple[str, str], list[tuple[int, int, int]]] = {}

    @property
    def store(self) -> Store:
        """The repository's store."""
        return self.repo.store

    # -- voters ------------------------------------------------------------------------
    def issue_voter(
        self,
        survey_id: str,
        group: str | None = None,
        admission: Admission = FREE,
        client: str | None = None,
    ) -> Voter:
        """A voter with a signed token (nothing is written to the log): a new anonymous one,
        or the one a proof of work or a site token names (``admission``, made by
        :meth:`ranker.identity.Identities.admit`; it must suit the survey's identity mode).
        A site token's group, if it names one, is the voter's group. ``client`` (the client
        address, :func:`ranker.identity.client_key`) is kept in the token as a pseudonym."""
        survey = self.repo.get(survey_id).survey
        assert survey is not None
        check_admission(survey, admission)
        group = admission.group or group
        if group is not None and group not in survey.groups:
            allowed = ", ".join(survey.groups) or "none defined"
            raise InvalidInput(f"unknown group {group!r}; groups: {allowed}", field="group")
        vid = admission.voter or new_id(12)
        tag = "" if client is None else self.signer.pseudonym(survey_id, client)
        claims = VoterClaims(survey_id, vid, group, self.clock(), tag)
        token = self.signer.sign_voter(claims)
        return Voter(id=vid, survey=survey_id, group=group, token=token, client=tag)

    def voter(self, survey_id: str, token: str) -> Voter:
        """The voter a token names (``bad_token`` for a forged or another survey's token).

        A token is verified once per process: the cache maps the exact token string to
        claims that passed verification, so it cannot admit a forged one.
        """
        claims = self._voters.get(token) if isinstance(token, str) else None
        if claims is None:
            claims = self.signer.verify_voter(token)
            if len(self._voters) >= _VOTER_CACHE:
                self._voters.clear()
            self._voters[token] = claims
        if claims.survey != survey_id:
            raise BadToken("voter token belongs to another survey")
        c = claims
        return Voter(id=c.voter, survey=c.survey, group=c.group, token=token, client=c.client)

    def rate_limit(self, key: str, limit: int, window_s: int = 60) -> int:
        """Count one hit on ``key`` (atomic across processes); ``rate_limited`` over
        ``limit`` per window. For the API's own quotas (e.g. voters issued per client)."""
        if limit < 1 or window_s < 1:
            raise InvalidInput("limit and window_s must be >= 1")
        return self.store.rate_hit(key, limit, window_s, self.clock())

    # -- ballots -------------------------------------------------------------------------
    def next_ballot(self, survey_id: str, voter: Voter) -> Ballot:
        """The next pair for this voter, as a signed single-use expiring ballot."""
        with self.repo.lock:
            proj = self.repo.get(survey_id, self.max_staleness_s, followed=True)
            check_participant(proj, voter)
            assert proj.survey is not None
            info = proj.voters.get(voter.id)
            cast = 0 if info is None else info.cast
            held = self._held(survey_id, voter.id, cast, proj.survey.limits.open_ballots_per_voter)
            left, right, prob = proj.pick(voter.id, exclude=[(a, b) for a, b, _ in held] or None)
            held.append((left, right, cast))
            texts = (proj.ideas[left].text, proj.ideas[right].text)
            ttl = proj.survey.limits.ballot_ttl_s
        now = self.clock()
        c = BallotClaims(
            id=new_id(12),
            survey=survey_id,
            voter=voter.id,
            group=voter.group,
            left=left,
            right=right,
            probability=prob,
            issued=now,
            expires=now + ttl,
            cast=cast,
            client=voter.client,
        )
        return Ballot(
            id=c.id,
            survey=survey_id,
            voter=c.voter,
            left=left,
            right=right,
            probability=prob,
            issued=now,
            expires=c.expires,
            group=c.group,
            token=self.signer.sign_ballot(c),
            left_text=texts[0],
            right_text=texts[1],
        )

    def _held(
        self, survey_id: str, voter: str, cast: int, limit: int
    ) -> list[tuple[int, int, int]]:
        """The pairs of the ballots this worker issued to the voter that are still answerable
        (issued fewer than ``limit`` answers ago), as ``(left, right, cast at issue)``: the
        sampler avoids them, so one voter never holds two open ballots on one pair here. (A
        ballot from another worker may repeat a pair; an answer on a pair supersedes the
        voter's earlier one, so it counts once either way.)"""
        if len(self._open) >= _VOTER_CACHE:
            self._open.clear()
        held = self._open.setdefault((survey_id, voter), [])
        held[:] = [h for h in held if cast < h[2] + limit][-limit:]
        return held

    # -- answers ---------------------------------------------------------------------------
    def answer(
        self, survey_id: str, voter: Voter, ballot_token: str, answer: Answer
    ) -> AnswerReceipt:
        """Answer a ballot (see the module docstring). A retry with the same choice and
        reason returns the original receipt; a different answer to a used ballot raises
        ``ballot_used``."""
        p = self._prepare(survey_id, voter, ballot_token, answer)
        for _ in range(_RETRIES):
            try:
                return self._finish(survey_id, p, self.store.append_vote(survey_id, p.vote))
            except StaleCheck:
                p = self._recheck(survey_id, p)
        raise StoreError(f"survey {survey_id}: settings kept changing; try again")

    async def answer_async(
        self, survey_id: str, voter: Voter, ballot_token: str, answer: Answer
    ) -> AnswerReceipt:
        """:meth:`answer` for an event loop: the store call is awaited, so a worker serves
        other requests while a networked store (Redis) runs the answer script."""
        p = self._prepare(survey_id, voter, ballot_token, answer)
        for _ in range(_RETRIES):
            try:
                stored = await self.store.append_vote_async(survey_id, p.vote)
            except StaleCheck:
                p = self._recheck(survey_id, p)
                continue
            return self._finish(survey_id, p, stored)
        raise StoreError(f"survey {survey_id}: settings kept changing; try again")

    def _prepare(self, survey_id: str, voter: Voter, ballot_token: str, answer: Answer) -> _Pending:
        """Every check that needs no write, and the store call to make."""
        proj = self.repo.loaded(survey_id)  # an unknown survey is reported before the tokens
        b = self.signer.verify_ballot(ballot_token)
        if b.survey != survey_id:
            raise BallotNotFound("this ballot belongs to another survey")
        if b.voter != voter.id:
            raise WrongVoter("this ballot was issued to another voter")
        now = self.clock()
        if now > b.expires:
            raise BallotExpired("this ballot has expired; ask for a new pair")
        info = proj.voters.get(b.voter)  # the client goes into a voter's first answers only
        client = b.client or None if info is None or info.client is None else None
        event: ev.VoteCast | ev.VoteSkipped
        if answer.choice == "skip":
            event = ev.VoteSkipped(
                ts=now,
                ballot=b.id,
                voter=b.voter,
                group=b.group,
                left=b.left,
                right=b.right,
                reason=answer.reason or "dont_know",
                reason_text=check_text(
                    "reason_text", answer.reason_text, REASON_MAX, allow_empty=True
                ),
                probability=b.probability,
                response_ms=answer.response_ms,
                client=client,
            )
        else:
            event = ev.VoteCast(
                ts=now,
                ballot=b.id,
                voter=b.voter,
                group=b.group,
                left=b.left,
                right=b.right,
                outcome=answer.choice,
                probability=b.probability,
                response_ms=answer.response_ms,
                client=client,
            )
        checked_at = proj.seq  # read first: every event up to it is folded
        if refusal(proj, b) is not None:
            # maybe only this worker's view is behind (a survey reopened, an idea
            # reinstated): catch up, then refuse for good or go on
            proj = self.repo.get(survey_id)
            checked_at = proj.seq
            err = refusal(proj, b)
            if err is not None:
                raise err
        assert proj.survey is not None
        vote = VoteAppend(
            data=ev.encode(event),
            ballot=b.id,
            voter=b.voter,
            ballot_expires=b.expires,
            now=now,
            rate_limit=proj.survey.limits.answers_per_minute,
            checked_at=checked_at,
            cast_before=b.cast,
            open_ballots=proj.survey.limits.open_ballots_per_voter,
        )
        return _Pending(b, event, vote)

    def _recheck(self, survey_id: str, p: _Pending) -> _Pending:
        """After ``stale_check``: catch up, refuse or check again at the new position."""
        proj = self.repo.get(survey_id)
        err = refusal(proj, p.ballot)
        if err is not None:
            raise err
        return p._replace(vote=p.vote._replace(checked_at=proj.seq))

    def _finish(self, survey_id: str, p: _Pending, stored: VoteStored) -> AnswerReceipt:
        if stored.duplicate:
            old = ev.decode(stored.data)
            assert isinstance(old, ev.VoteCast | ev.VoteSkipped)
            if _same_answer(old, p.event):
                return _receipt(stored.seq, old)
            raise BallotUsed("this ballot was already answered differently")
        self.repo.applied(survey_id, stored, p.event)
        held = self._open.get((survey_id, p.ballot.voter))
        if held:  # answered: no longer open (the sampler knows the voter has seen the pair)
            b = p.ballot
            held[:] = [h for h in held if (h[0], h[1]) != (b.left, b.right)]
        return _receipt(stored.seq, p.event)

    # -- undo and void -------------------------------------------------------------------
    def undo_last(self, survey_id: str, voter: Voter) -> int:
        """Take back the voter's last answer if within the undo window; returns its ``seq``."""
        target = 0

        def decide(proj: Projection) -> ev.Event:
            nonlocal target
            check_participant(proj, voter)
            assert proj.survey is not None
            info = proj.voters.get(voter.id)
            if info is None or not info.answers:
                raise NothingToUndo("no answer to undo")
            target = info.answers[-1]
            window = proj.survey.limits.undo_window_s
            if self.clock() - proj.by_seq[target].ts > window:
                raise UndoExpired(f"answers can be undone within {window} s")
            return ev.VoteUndone(ts=self.clock(), voter=voter.id, target=target)

        self.repo.write(survey_id, decide)
        return target

    def void_voter(
        self, survey_id: str, voter_id: str, *, reason: str = "", organiser: str | None = None
    ) -> int:
        """Void every answer of a voter (and refuse their future ones); returns how many."""
        reason = check_text("reason", reason, REASON_MAX, allow_empty=True)
        count = 0

        def decide(proj: Projection) -> ev.Event:
            nonlocal count
            check_owner(proj, organiser)
            if not isinstance(voter_id, str) or voter_id not in proj.voters:
                raise VoterNotFound(f"voter {voter_id!r} has not answered in this survey")
            count = len(proj.voters[voter_id].answers)
            return ev.VoterVoided(ts=self.clock(), voter=voter_id, reason=reason)

        self.repo.write(survey_id, decide)
        return count


def _same_answer(old: ev.VoteCast | ev.VoteSkipped, new: ev.VoteCast | ev.VoteSkipped) -> bool:
    if isinstance(old, ev.VoteCast) and isinstance(new, ev.VoteCast):
        return old.outcome == new.outcome
    if isinstance(old, ev.VoteSkipped) and isinstance(new, ev.VoteSkipped):
        return old.reason == new.reason
    return False


def _receipt(seq: int, e: ev.VoteCast | ev.VoteSkipped) -> AnswerReceipt:
    return AnswerReceipt(
        seq=seq,
        ballot=e.ballot,
        choice=e.outcome if isinstance(e, ev.VoteCast) else "skip",
        reason=None if isinstance(e, ev.VoteCast) else e.reason,
        left=e.left,
        right=e.right,
        ts=e.ts,
    )
