"""The voting core, assembled: one object holding every use case over one store.

Each use case is a module of its own, small enough to read in one sitting:

=====================  ==================================================================
``service.accounts``   :class:`~ranker.accounts.Accounts`: organisers and their API keys
``service.surveys``    :class:`~ranker.surveys.Surveys`: surveys and their settings
``service.ideas``      :class:`~ranker.ideas.Ideas`: ideas, moderation, comments, flags
``service.voting``     :class:`~ranker.voting.Voting`: voters, ballots, answers, undo, void
``service.identities`` :class:`~ranker.identity.Identities`: who may become a voter
``service.rankings``   :class:`~ranker.results.Rankings`: rankings, groups, "my results"
``service.settling``   :class:`~ranker.settling.Settling`: is the top k settled, votes needed
``service.exports``    :class:`~ranker.exports.Exports`: the log and flat rows
``service.integrity``  :class:`~ranker.integrity.Integrity`: voters flagged as bots
=====================  ==================================================================

They share the :class:`~ranker.repository.ProjectionRepository` (``service.repo``: load,
follow, apply, snapshot) and the :class:`~ranker.ranking_cache.RankingCache`. The API gets
each use case by dependency injection (``api/deps.py``).

>>> from ranker.storage import open_store
>>> svc = RankerService(open_store("memory://"), secret=b"s" * 32)
>>> org, key = svc.accounts.create("Clinic")
>>> svc.accounts.authenticate(key).id == org.id
True
>>> svc.close()
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from ranker.accounts import Accounts
from ranker.exports import Exports
from ranker.ideas import Ideas
from ranker.identity import Identities
from ranker.integrity import Integrity
from ranker.ranking_cache import RankingCache
from ranker.repository import ProjectionRepository
from ranker.results import Rankings
from ranker.sampling import SamplerFactory, default_sampler_factory
from ranker.settling import Settling
from ranker.storage.base import Store
from ranker.surveys import Surveys
from ranker.tokens import TokenSigner
from ranker.voting import Voting

__all__ = ["RankerService"]


class RankerService:
    """Every use case of the voting core over one :class:`~ranker.storage.base.Store`.

    Parameters
    ----------
    store
        Any backend from :func:`ranker.storage.open_store`.
    secret
        Key material for ballot and voter tokens (>= 16 bytes); every process sharing a
        store must use the same secret.
    clock
        Seconds since the epoch (injectable for tests).
    sampler_factory
        Builds a survey's sampler by name (default: :mod:`algorithms` samplers).
    snapshot_every
        Snapshot cadence (:func:`ranker.repository.snapshot_due`; 0: never automatically).
    max_staleness_s
        Picks may use a projection caught up at most this long ago instead of reading the log
        first (0: always catch up). Answers are always decided by the store.
    results_max_age_s
        A ranking may be served this long after the log moved (0: recomputed whenever it
        moved); rankings watched by a dashboard are refreshed in the background anyway.
    follow, follow_max_lag_s
        Follow the log in the background on a store that pushes events (Redis); a followed
        projection counts as caught up while the follower lags less than ``follow_max_lag_s``.
    """

    def __init__(
        self,
        store: Store,
        secret: bytes,
        clock: Callable[[], float] = time.time,
        *,
        sampler_factory: SamplerFactory | None = None,
        snapshot_every: int = 5000,
        max_staleness_s: float = 0.0,
        results_max_age_s: float = 0.0,
        follow: bool = True,
        follow_max_lag_s: float = 0.1,
    ) -> None:
        self.clock = clock
        self.signer = TokenSigner(secret)
        self.repo = ProjectionRepository(
            store,
            sampler_factory or default_sampler_factory(),
            snapshot_every=snapshot_every,
            follow=follow,
            follow_max_lag_s=follow_max_lag_s,
        )
        # rankings of every kind (a survey's Results, its GroupResults, ...) by key
        self.cache: RankingCache[Any] = RankingCache(self.repo, max_age_s=results_max_age_s)
        self.accounts = Accounts(store, clock)
        self.surveys = Surveys(self.repo, clock)
        self.ideas = Ideas(self.repo, clock)
        self.voting = Voting(self.repo, self.signer, clock, max_staleness_s=max_staleness_s)
        self.identities = Identities(store, secret, clock)
        self.rankings = Rankings(self.repo, self.cache)
        self.exports = Exports(self.repo)
        self.integrity = Integrity(self.repo)
        self.settling = Settling(self.repo)

    @property
    def store(self) -> Store:
        """The store every use case writes to (one object: swap it on ``repo`` if you must)."""
        return self.repo.store

    def close(self) -> None:
        """Stop the background threads (follower, ranking refresh) and finish pending
        snapshot writes; the store stays open (close it yourself, after this). Idempotent."""
        self.cache.close()
        self.repo.close()
