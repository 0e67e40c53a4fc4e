"""The projection repository: each loaded survey's :class:`~ranker.projection.Projection`,
kept in step with the store's log.

Every use case reads and writes through it:

* :meth:`ProjectionRepository.get` loads a projection (from its snapshot, then the log) and
  catches it up with the log before returning it, so several processes sharing one store see
  each other's writes; picks may accept a projection caught up a moment ago
  (``max_staleness_s``) or kept in step by the follower.
* :meth:`ProjectionRepository.write` decides and appends one event: under the lock it catches
  up, lets the use case check its rules against the projection and build the event, and
  appends it *conditionally*: the store refuses (``stale_check``) when a gate event
  (:data:`ranker.events.GATES`) was logged after the position the rules were checked at, and
  the repository catches up and asks again. A refusal is therefore always decided before
  anything is written, atomically with the append, on every backend.
* :meth:`ProjectionRepository.applied` folds an answer the store has just accepted (and the
  others' events logged before it) into the projection: the vote path's one lock acquisition.
* On a store that pushes new events (Redis) a background follower keeps the loaded
  projections in step; snapshots are written from a background thread as the log grows
  (:func:`snapshot_due`).

One re-entrant lock guards the projections; listeners (the ranking cache) are told, under
it, when a survey's projection moved.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import msgspec

from ranker import events as ev
from ranker import snapshots
from ranker.errors import StaleCheck, StoreError, SurveyNotFound
from ranker.projection import Projection
from ranker.sampling import SamplerFactory
from ranker.storage.base import Following, Store, StoredEvent, VoteStored

__all__ = ["ProjectionRepository", "snapshot_due"]

log = logging.getLogger("ranker.repository")

_RETRIES = 16
"""Conditional appends refused as stale in a row before giving up (each retry follows a
catch-up; only a storm of organiser changes from other workers could exhaust it)."""


def snapshot_due(seq: int, every: int) -> bool:
    """Whether the worker that logged event ``seq`` saves a snapshot (``every`` 0: never).

    Every ``every`` events until the log holds ``8 * every``, then the step doubles each
    time the log reaches 8 steps: a restarting worker folds at most ~1/8 of the log after
    the snapshot, and the snapshots' total cost stays proportional to the log's length.
    Exactly one worker logs ``seq``, so exactly one saves it.

    >>> [s for s in range(1, 200_001) if snapshot_due(s, 5000)][-5:]
    [100000, 120000, 140000, 160000, 200000]
    """
    if every <= 0 or seq <= 0:
        return False
    step = every
    while seq >= 8 * step:
        step *= 2
    return seq % step == 0


class ProjectionRepository:
    """Loaded projections over one store (see the module docstring).

    Parameters
    ----------
    store
        Any backend from :func:`ranker.storage.open_store`.
    sampler_factory
        Builds a survey's sampler by name.
    snapshot_every
        Snapshot cadence for :func:`snapshot_due` (0: never automatically).
    follow
        Follow the log in the background when the store can push events (Redis).
    follow_max_lag_s
        A followed projection counts as caught up while the follower has delivered every
        event logged up to this many seconds ago.
    """

    def __init__(
        self,
        store: Store,
        sampler_factory: SamplerFactory,
        *,
        snapshot_every: int = 5000,
        follow: bool = True,
        follow_max_lag_s: float = 0.1,
    ) -> None:
        self.store = store
        self.sampler_factory = sampler_factory
        self.snapshot_every = snapshot_every
        self.follow = follow
        self.follow_max_lag_s = follow_max_lag_s
        self.lock = threading.RLock()
        self._projections: dict[str, Projection] = {}
        self._synced: dict[str, float] = {}  # survey -> when last caught up by reading
        self._followed: dict[str, float] = {}  # survey -> follower's "caught up as of"
        self._listeners: list[Callable[[str], None]] = []
        self._follower: Following | None = None
        self._snap_writer: ThreadPoolExecutor | None = None
        self._closed = False

    # -- reading ---------------------------------------------------------------------
    def get(
        self, survey_id: str, max_staleness_s: float = 0.0, *, followed: bool = False
    ) -> Projection:
        """The survey's projection caught up with the log (``survey_not_found`` otherwise).

        With ``max_staleness_s > 0`` a projection caught up less than that long ago is
        returned without reading; with ``followed`` also one the follower kept in step.
        """
        with self.lock:
            proj = self._projections.get(survey_id)
            if proj is not None and (max_staleness_s > 0 or followed):
                now = time.monotonic()
                if now - self._synced.get(survey_id, -1e18) < max_staleness_s or (
                    followed and now - self._followed.get(survey_id, -1e18) < self.follow_max_lag_s
                ):
                    return proj
            if proj is None:
                if not isinstance(survey_id, str) or not 0 < len(survey_id) <= 64:
                    raise SurveyNotFound(f"no survey {survey_id!r}")
                proj = self._load(survey_id)
            for item in self.store.read(survey_id, proj.seq):
                proj.apply(item.seq, ev.decode(item.data))
            if proj.survey is None:
                raise SurveyNotFound(f"no survey {survey_id!r}")
            self._projections[survey_id] = proj
            self._synced[survey_id] = time.monotonic()
            self._notify(survey_id)
            if self.follow and self._follower is None and not self._closed:
                self._follower = self.store.follow(self._follow_positions, self._follow_deliver)
            return proj

    def loaded(self, survey_id: str) -> Projection:
        """The loaded projection as it is, without the lock or a read (the vote path's fast
        check; the store's gate catches a stale one), or :meth:`get` for a survey not loaded."""
        proj = self._projections.get(survey_id)
        return proj if proj is not None else self.get(survey_id)

    def rebuild(self, survey_id: str) -> Projection:
        """A fresh projection folded from the whole log (no snapshot, not kept)."""
        proj = Projection(survey_id, self.sampler_factory)
        for item in self.store.iter_events(survey_id):
            proj.apply(item.seq, ev.decode(item.data))
        if proj.survey is None:
            raise SurveyNotFound(f"no survey {survey_id!r}")
        return proj

    def _load(self, survey_id: str) -> Projection:
        snap = self.store.load_snapshot(survey_id)
        if snap is not None:
            try:
                return snapshots.restore(survey_id, snap.data, self.sampler_factory)
            except (msgspec.DecodeError, KeyError, ValueError, TypeError):
                pass  # written by another version: the log is the truth, fold it all
        return Projection(survey_id, self.sampler_factory)

    # -- writing -----------------------------------------------------------------------
    def write(
        self,
        survey_id: str,
        decide: Callable[[Projection], ev.Event | None],
        *,
        quota: tuple[str, int] | None = None,
    ) -> tuple[Projection, int]:
        """Decide and append one event; returns the projection and the event's seq.

        ``decide`` checks the use case's rules against the caught-up projection (raising a
        refusal) and returns the event (``None``: nothing to write; seq ``0`` is returned).
        The append is conditional on no gate having been logged since (``stale_check``: catch
        up and decide again). ``quota`` ``(counter, limit)`` appends through
        :meth:`Store.append_quota`.
        """
        with self.lock:
            for _ in range(_RETRIES):
                proj = self.get(survey_id)
                event = decide(proj)
                if event is None:
                    return proj, 0
                data, at = ev.encode(event), proj.seq
                try:
                    if quota is None:
                        seq = self.store.append(
                            survey_id, data, gate=isinstance(event, ev.GATES), checked_at=at
                        )
                    else:
                        seq = self.store.append_quota(
                            survey_id, data, counter=quota[0], limit=quota[1], checked_at=at
                        )
                except StaleCheck:
                    continue  # a gate from another worker: catch up, decide again
                self._fold(proj, seq, event, [])
                return proj, seq
        raise StoreError(f"survey {survey_id}: settings kept changing; try again")

    def applied(self, survey_id: str, stored: VoteStored, event: ev.Event) -> Projection:
        """Fold an event the store accepted (and the events logged before it) into the
        loaded projection; one lock acquisition."""
        with self.lock:
            proj = self._projections.get(survey_id) or self.get(survey_id)
            self._fold(proj, stored.seq, event, stored.gap)
            return proj

    def _fold(self, proj: Projection, seq: int, event: ev.Event, gap: list[StoredEvent]) -> None:
        for item in gap:  # others' events logged before ours, not yet applied here
            if item.seq == proj.seq + 1:
                proj.apply(item.seq, ev.decode(item.data))
        if seq == proj.seq + 1:
            proj.apply(seq, event)
        elif seq > proj.seq:  # more was logged in between than the gap held: read it
            for item in self.store.read(proj.survey_id, proj.seq):
                proj.apply(item.seq, ev.decode(item.data))
        # else: the follower (or a read) delivered it first
        self._notify(proj.survey_id)
        if snapshot_due(seq, self.snapshot_every):
            self._save_snapshot_later(proj.survey_id, proj.seq, snapshots.encode(proj))

    def listen(self, listener: Callable[[str], None]) -> None:
        """Call ``listener(survey_id)`` (under the lock: keep it cheap) when a projection moves."""
        self._listeners.append(listener)

    def _notify(self, survey_id: str) -> None:
        for listener in self._listeners:
            listener(survey_id)

    # -- snapshots -------------------------------------------------------------------------
    def snapshot(self, survey_id: str) -> int:
        """Save a snapshot of the survey's projection now; returns its sequence number."""
        with self.lock:
            proj = self.get(survey_id)
            self.store.save_snapshot(survey_id, proj.seq, snapshots.encode(proj))
            return proj.seq

    def _save_snapshot_later(self, survey_id: str, seq: int, data: bytes) -> None:
        """Write an automatic snapshot from a background thread: encoding needs the lock, the
        write does not, so the request that logged ``seq`` does not wait for it. A failed
        write is logged, never reported to that request (its event is in the log)."""
        if self._snap_writer is None:
            self._snap_writer = ThreadPoolExecutor(1, thread_name_prefix="ranker-snapshot")
        self._snap_writer.submit(self._write_snapshot, survey_id, seq, data)

    def _write_snapshot(self, survey_id: str, seq: int, data: bytes) -> None:
        try:
            self.store.save_snapshot(survey_id, seq, data)
        except Exception:  # the log is the truth; the next snapshot will try again
            log.warning("snapshot of %s at %d not saved", survey_id, seq, exc_info=True)

    # -- following -------------------------------------------------------------------------
    def _follow_positions(self) -> dict[str, int]:
        with self.lock:
            return {s: p.seq for s, p in self._projections.items()}

    def _follow_deliver(
        self, survey_id: str, events: list[StoredEvent], as_of: float | None
    ) -> None:
        with self.lock:
            proj = self._projections.get(survey_id)
            if proj is None:
                return
            for item in events:
                if item.seq <= proj.seq:  # already applied (our own write, or a read)
                    continue
                if item.seq != proj.seq + 1:  # cannot happen (reads start at proj.seq)
                    return
                proj.apply(item.seq, ev.decode(item.data))
            if events:
                self._notify(survey_id)
            if (
                as_of is not None
                and self._follower is not None
                and as_of > self._followed.get(survey_id, -1e18)
            ):
                self._followed[survey_id] = as_of

    def close(self) -> None:
        """Stop the follower and finish pending snapshot writes (the store stays open).
        Idempotent."""
        with self.lock:
            self._closed = True
            follower, self._follower = self._follower, None
            self._followed.clear()  # from now on picks catch up by reading
            writer, self._snap_writer = self._snap_writer, None
        if follower is not None:
            follower.stop()
        if writer is not None:
            writer.shutdown(wait=True)
