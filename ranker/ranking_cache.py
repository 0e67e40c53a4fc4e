"""The ranking cache: rankings computed once per log position, off the request path.

A ranking (refit, Laplace summaries, rank simulation: ~0.1-1 s at 1,000 ideas) is computed
in two steps: a *prepare* step under the repository's lock copies what it needs from the
projection (milliseconds), and the computation runs outside it, so votes keep flowing.

* **Single flight.** Concurrent requests for a ranking already being computed at the same
  log position wait for it instead of computing it again.
* **Served from the cache.** A ranking is reused while the log has not moved, or while it
  is younger than ``max_age_s``.
* **Refreshed in the background.** Rankings requested in the last ``watch_s`` seconds are
  recomputed by one background thread at most every ``refresh_s`` seconds after their survey
  moves, so a polling dashboard usually finds the current one ready.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Hashable
from typing import Generic, NamedTuple, TypeVar

from ranker.projection import Projection
from ranker.repository import ProjectionRepository

__all__ = ["Prepare", "RankingCache"]

log = logging.getLogger("ranker.ranking_cache")

R = TypeVar("R")

Prepare = Callable[[Projection], Callable[[], R]]
"""Called under the lock with the caught-up projection; returns the computation to run
outside it."""


class _Entry(NamedTuple, Generic[R]):
    seq: int
    made: float  # time.monotonic() when computed
    value: R


class _Watch(NamedTuple, Generic[R]):
    survey_id: str
    prepare: Callable[[Projection], Callable[[], R]]
    requested: float


class RankingCache(Generic[R]):
    """Computed rankings by key (see the module docstring)."""

    def __init__(
        self,
        repo: ProjectionRepository,
        *,
        max_age_s: float = 0.0,
        refresh_s: float = 1.0,
        watch_s: float = 60.0,
        max_entries: int = 256,
    ) -> None:
        self.repo = repo
        self.max_age_s = max_age_s
        self.refresh_s = refresh_s
        self.watch_s = watch_s
        self.max_entries = max_entries
        self._lock = repo.lock
        self._done: dict[Hashable, _Entry[R]] = {}
        self._flights: dict[Hashable, tuple[int, threading.Event]] = {}
        self._watched: dict[Hashable, _Watch[R]] = {}
        self._dirty: set[str] = set()
        self._wake = threading.Event()
        self._stop = False
        self._stopped = threading.Event()  # set by close(): ends the refresher's pause at once
        self._thread: threading.Thread | None = None
        repo.listen(self._moved)

    def get(self, key: Hashable, survey_id: str, prepare: Prepare[R]) -> R:
        """The ranking ``key`` of ``survey_id`` at the current log position (or within
        ``max_age_s``), computing it (once, for every concurrent caller) if needed."""
        with self._lock:
            self._watched[key] = _Watch(survey_id, prepare, time.monotonic())
            if self.refresh_s > 0 and self._thread is None and not self._stop:
                self._thread = threading.Thread(
                    target=self._refresher, name="ranker-rankings", daemon=True
                )
                self._thread.start()
        return self._compute(key, survey_id, prepare, self.max_age_s)

    def _compute(self, key: Hashable, survey_id: str, prepare: Prepare[R], max_age: float) -> R:
        while True:
            with self._lock:
                proj = self.repo.get(survey_id)
                hit = self._done.get(key)
                now = time.monotonic()
                if hit is not None and (hit.seq == proj.seq or now - hit.made < max_age):
                    return hit.value
                flight = self._flights.get(key)
                if flight is None or flight[0] != proj.seq:
                    run, seq, done = prepare(proj), proj.seq, threading.Event()
                    self._flights[key] = (seq, done)
                    break
            flight[1].wait(60)  # the same ranking is being computed: share it
        value: R | None = None
        try:
            value = run()
        finally:
            with self._lock:
                if value is not None:
                    if len(self._done) >= self.max_entries:
                        self._done.clear()
                    old = self._done.get(key)
                    if old is None or old.seq <= seq:
                        self._done[key] = _Entry(seq, now, value)
                if self._flights.get(key) == (seq, done):
                    del self._flights[key]
                done.set()  # waiters re-check the cache (and compute themselves if it failed)
        return value

    # -- background refresh -------------------------------------------------------------
    def _moved(self, survey_id: str) -> None:
        if self._thread is not None:
            self._dirty.add(survey_id)
            self._wake.set()

    def _refresher(self) -> None:
        while not self._stop:
            self._wake.wait()
            if self._stop:
                return
            if self._stopped.wait(self.refresh_s):  # let a burst of votes land first
                return
            with self._lock:
                self._wake.clear()
                dirty, self._dirty = self._dirty, set()
                cutoff = time.monotonic() - self.watch_s
                for k in [k for k, w in self._watched.items() if w.requested < cutoff]:
                    del self._watched[k]
                todo = [(k, w) for k, w in self._watched.items() if w.survey_id in dirty]
            for key, w in todo:
                try:
                    self._compute(key, w.survey_id, w.prepare, 0.0)
                except Exception:  # a request will compute it (and report any error)
                    log.warning("background ranking of %s failed", w.survey_id, exc_info=True)

    def close(self) -> None:
        """Stop the background refresh (idempotent)."""
        self._stop = True
        self._stopped.set()
        self._wake.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(timeout=5)
