"""SQLite backend (standard library): the embedded default, shared by processes on one host.

The database runs in WAL mode: readers never block the single writer, and each
write transaction is ``BEGIN IMMEDIATE`` so concurrent writers queue on the
write lock (``busy_timeout``) instead of failing. Durability per
``synchronous`` setting (URL query ``?synchronous=NORMAL|FULL``):

* ``NORMAL`` (default): a commit is durable once it returns against a crash of
  the *process* (the WAL is in the OS page cache); a power loss or kernel crash
  can lose the last transactions since the last checkpoint/fsync, never corrupt.
* ``FULL``: the WAL is fsynced at every commit, so a returned commit survives
  power loss too, at the cost of one fsync per answer.

Schema: ``surveys(id, head, gate)`` holds each log's last sequence number and its
gate (the seq of its last gate event, checked and moved in the append's transaction; a
database from before the column gets it when opened), ``events(survey, seq, ballot,
data)`` the logs (a unique partial index on ``(survey, ballot)`` makes a ballot usable
once), ``rates`` the fixed-window counters (a voter's row also keeps the voter's total
answers, for the open-ballot bound of :meth:`Store.append_vote`: one statement per answer
counts both), ``quotas`` the counters of :meth:`SQLiteStore.append_quota`, ``organisers`` the
rest.

Snapshots live in a second file beside the database, ``<path>-snapshots`` (table
``snapshots(survey, seq, data)``), with its own connection: writing a snapshot of a large
survey (~10 MB at 170k answers, ~40 ms) must not hold SQLite's single write lock of the
log, which every answer needs. The file is a cache: deleting it costs only a full fold of
the log at the next start.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from ranker.errors import (
    InvalidInput,
    LimitReached,
    RateLimited,
    StoreError,
    SurveyExists,
    SurveyNotFound,
)
from ranker.storage.base import (
    Store,
    StoredEvent,
    VoteAppend,
    VoteStored,
    open_ballot_ok,
    rate_window,
    replaced,
    stale_check,
)

__all__ = ["SQLiteStore"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS surveys (
    id TEXT PRIMARY KEY, head INTEGER NOT NULL, gate INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS events (
    survey TEXT NOT NULL, seq INTEGER NOT NULL, ballot TEXT, data BLOB NOT NULL,
    PRIMARY KEY (survey, seq)
) WITHOUT ROWID;
CREATE UNIQUE INDEX IF NOT EXISTS events_ballot ON events (survey, ballot)
    WHERE ballot IS NOT NULL;
CREATE TABLE IF NOT EXISTS rates (
    key TEXT PRIMARY KEY, win INTEGER NOT NULL, n INTEGER NOT NULL,
    total INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS quotas (
    survey TEXT NOT NULL, counter TEXT NOT NULL, n INTEGER NOT NULL,
    PRIMARY KEY (survey, counter)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS claims (key TEXT PRIMARY KEY, expires REAL NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS organisers (key_hash TEXT PRIMARY KEY, data BLOB NOT NULL)
    WITHOUT ROWID;
"""

_SNAPSHOT_SCHEMA = """
CREATE TABLE IF NOT EXISTS snapshots (
    survey TEXT PRIMARY KEY, seq INTEGER NOT NULL, data BLOB NOT NULL
) WITHOUT ROWID
"""

_COUNT_UP = (
    "INSERT INTO quotas VALUES (?, ?, 1) ON CONFLICT (survey, counter) DO UPDATE "
    "SET n = n + 1 RETURNING n"
)
"""Count one on a survey's counter (ideas per voter, answers per voter); returns the count."""

_VOTER_UPSERT = (
    "INSERT INTO rates (key, win, n, total) VALUES (?, ?, 1, 1) ON CONFLICT (key) DO UPDATE "
    "SET n = CASE WHEN win = excluded.win THEN n + 1 ELSE 1 END, win = excluded.win, "
    "total = total + 1 RETURNING n, total"
)
"""A voter's answer: counted in its rate window and in its total (kept: never purged)."""

_VOTER_TOTAL = (
    "INSERT INTO rates (key, win, n, total) VALUES (?, ?, 0, 1) ON CONFLICT (key) DO UPDATE "
    "SET total = total + 1 RETURNING n, total"
)
"""The same for a survey without a rate limit: the total alone."""

_CLAIM_UPSERT = (
    "INSERT INTO claims (key, expires) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET "
    "expires = excluded.expires WHERE claims.expires <= ?"
)
_RATE_UPSERT = (
    "INSERT INTO rates (key, win, n) VALUES (?, ?, 1) ON CONFLICT (key) DO UPDATE SET "
    "n = CASE WHEN win = excluded.win THEN n + 1 ELSE 1 END, win = excluded.win RETURNING n"
)


def sqlite_path(url: str) -> tuple[str, str]:
    """``(path, synchronous)`` from ``sqlite:///relative.db`` or ``sqlite:////abs.db``."""
    parts = urlsplit(url)
    if parts.scheme != "sqlite":
        raise InvalidInput(f"not a sqlite URL: {url!r}")
    path = parts.path[1:] if parts.path.startswith("/") else parts.path
    sync = parse_qs(parts.query).get("synchronous", ["NORMAL"])[-1].upper()
    if sync not in ("NORMAL", "FULL", "EXTRA", "OFF"):
        raise InvalidInput(f"synchronous must be NORMAL or FULL, got {sync!r}")
    return path or "ranker.db", sync


class SQLiteStore(Store):
    """One connection per store object, guarded by a lock (thread-safe)."""

    def __init__(
        self,
        url: str = "sqlite:///ranker.db",
        *,
        busy_timeout_ms: int = 10_000,
        checkpoint_every_s: float = 0.5,
    ) -> None:
        self.url = url
        self.path, self.synchronous = sqlite_path(url)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(
            self.path, isolation_level=None, check_same_thread=False, timeout=busy_timeout_ms / 1000
        )
        self._db.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
        self._db.execute("PRAGMA journal_mode = WAL")
        self._db.execute(f"PRAGMA synchronous = {self.synchronous}")
        # Checkpoints (copying the WAL into the database, with an fsync) run in a background
        # thread so answers do not pay for them; the large auto-checkpoint is only a backstop.
        self._db.execute("PRAGMA wal_autocheckpoint = 20000")
        self._stop = threading.Event()
        self._checkpointer: threading.Thread | None = None
        if self.path != ":memory:" and checkpoint_every_s > 0:
            self._checkpointer = threading.Thread(
                target=self._checkpoint_loop,
                args=(checkpoint_every_s,),
                name="ranker-sqlite-checkpoint",
                daemon=True,
            )
            self._checkpointer.start()
        with self._tx():
            for stmt in _SCHEMA.split(";"):
                if stmt.strip():
                    self._db.execute(stmt)
            # databases created before the gate: add its column (in this write transaction,
            # so processes opening the file at once add it once)
            cols = {str(r[1]) for r in self._db.execute("PRAGMA table_info(surveys)")}
            if "gate" not in cols:
                self._db.execute("ALTER TABLE surveys ADD COLUMN gate INTEGER NOT NULL DEFAULT 0")
            # and before the per-voter answer count kept beside each voter's rate window
            cols = {str(r[1]) for r in self._db.execute("PRAGMA table_info(rates)")}
            if "total" not in cols:
                self._db.execute("ALTER TABLE rates ADD COLUMN total INTEGER NOT NULL DEFAULT 0")
        self._hits = 0
        # snapshots: their own file, connection and lock (see the module docstring)
        self._snap_lock = threading.Lock()
        self._snap_db = self._db
        if self.path != ":memory:":
            self._snap_db = sqlite3.connect(
                f"{self.path}-snapshots",
                isolation_level=None,
                check_same_thread=False,
                timeout=busy_timeout_ms / 1000,
            )
            self._snap_db.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
            self._snap_db.execute("PRAGMA journal_mode = WAL")
            self._snap_db.execute("PRAGMA synchronous = NORMAL")
        self._snap_db.execute(_SNAPSHOT_SCHEMA)

    def _checkpoint_loop(self, every_s: float) -> None:
        db = sqlite3.connect(self.path, isolation_level=None, timeout=10)
        try:
            while not self._stop.wait(every_s):
                with suppress(sqlite3.Error):  # busy or closing: try again later
                    db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        finally:
            db.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        """One ``BEGIN IMMEDIATE`` transaction under the lock; rolled back on any error.

        A database that stays locked past ``busy_timeout`` (or any other operational
        failure) is reported as ``store_error``.
        """
        with self._lock:
            db = self._db
            try:
                db.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as exc:
                raise StoreError(f"sqlite: {exc}") from exc
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            try:
                db.execute("COMMIT")
            except sqlite3.OperationalError as exc:  # pragma: no cover - disk full, I/O error
                db.execute("ROLLBACK")
                raise StoreError(f"sqlite: {exc}") from exc

    def create_survey(self, survey: str, data: bytes) -> int:
        with self._tx() as db:
            try:
                db.execute("INSERT INTO surveys (id, head) VALUES (?, 1)", (survey,))
            except sqlite3.IntegrityError:
                raise SurveyExists(f"survey {survey!r} already exists") from None
            db.execute("INSERT INTO events VALUES (?, 1, NULL, ?)", (survey, data))
        return 1

    @staticmethod
    def _next_seq(db: sqlite3.Connection, survey: str) -> tuple[int, int]:
        """Count one on the survey's head: ``(new seq, gate)``. Raising rolls it back."""
        row = db.execute(
            "UPDATE surveys SET head = head + 1 WHERE id = ? RETURNING head, gate", (survey,)
        ).fetchone()
        if row is None:
            raise SurveyNotFound(f"no survey {survey!r}")
        return int(row[0]), int(row[1])

    @staticmethod
    def _check_gate(survey: str, gate: int, checked_at: int | None) -> None:
        if checked_at is not None and gate > checked_at:
            raise stale_check(survey, gate, checked_at)

    def append(
        self, survey: str, data: bytes, *, gate: bool = False, checked_at: int | None = None
    ) -> int:
        with self._tx() as db:
            seq, cur = self._next_seq(db, survey)
            self._check_gate(survey, cur, checked_at)
            if gate:
                db.execute("UPDATE surveys SET gate = head WHERE id = ?", (survey,))
            db.execute("INSERT INTO events VALUES (?, ?, NULL, ?)", (survey, seq, data))
        return seq

    def append_quota(
        self, survey: str, data: bytes, *, counter: str, limit: int, checked_at: int | None = None
    ) -> int:
        with self._tx() as db:
            seq, cur = self._next_seq(db, survey)  # first: an unknown survey is reported as such
            self._check_gate(survey, cur, checked_at)
            row = db.execute(_COUNT_UP, (survey, counter)).fetchone()
            if int(row[0]) > limit:  # raising rolls the whole transaction back
                raise LimitReached(f"quota {counter!r} is used up ({limit})", limit=limit)
            db.execute("INSERT INTO events VALUES (?, ?, NULL, ?)", (survey, seq, data))
        return seq

    def _hit(self, db: sqlite3.Connection, key: str, limit: int, window_s: int, now: float) -> int:
        win = rate_window(now, window_s)
        n = int(db.execute(_RATE_UPSERT, (key, win)).fetchone()[0])
        if n > limit:
            raise RateLimited(
                f"more than {limit} per {window_s} s", retry_after=(win + 1) * window_s - now
            )
        self._hits += 1
        if self._hits % 10_000 == 0:  # forget finished windows now and then
            db.execute("DELETE FROM rates WHERE win < ? AND total = 0", (win - 1,))
        return n

    def append_vote(self, survey: str, vote: VoteAppend) -> VoteStored:
        try:
            with self._tx() as db:
                seq, cur = self._next_seq(db, survey)
                # the unique (survey, ballot) index refuses a used ballot: checked before the
                # gate and the rate limit, so a retry is answered whatever they say
                db.execute(
                    "INSERT INTO events VALUES (?, ?, ?, ?)", (survey, seq, vote.ballot, vote.data)
                )
                self._check_gate(survey, cur, vote.checked_at)
                # one statement counts the voter's answer in its rate window and in its total
                # (the open-ballot bound): the row is per voter; a refusal rolls it back
                win = rate_window(vote.now, vote.rate_window_s)
                sql = _VOTER_UPSERT if vote.rate_limit > 0 else _VOTER_TOTAL
                n, cast = db.execute(sql, (f"{survey}:{vote.voter}", win)).fetchone()
                if not open_ballot_ok(vote, int(cast) - 1):
                    raise replaced(vote)
                if 0 < vote.rate_limit < int(n):
                    raise RateLimited(
                        f"more than {vote.rate_limit} per {vote.rate_window_s} s",
                        retry_after=(win + 1) * vote.rate_window_s - vote.now,
                    )
        except sqlite3.IntegrityError:  # rolled back: the ballot was answered before
            with self._lock:
                old = self._db.execute(
                    "SELECT seq, data FROM events WHERE survey = ? AND ballot = ?",
                    (survey, vote.ballot),
                ).fetchone()
            if old is None:  # pragma: no cover - an integrity error of another kind
                raise
            return VoteStored(int(old[0]), bytes(old[1]), True, [])
        # the gap is read after the commit: those rows are final, and other writers need
        # not wait for the read
        after = max(vote.checked_at, 0)
        gap = self.read(survey, after, seq - after - 1) if seq - 1 > after else []
        return VoteStored(seq, vote.data, False, gap)

    def read(self, survey: str, after: int = 0, limit: int | None = None) -> list[StoredEvent]:
        with self._lock:
            cur = self._db.execute(
                "SELECT seq, data FROM events WHERE survey = ? AND seq > ? ORDER BY seq LIMIT ?",
                (survey, after, -1 if limit is None else limit),
            )
            return [StoredEvent(int(s), bytes(d)) for s, d in cur.fetchall()]

    def head(self, survey: str) -> int:
        with self._lock:
            row = self._db.execute("SELECT head FROM surveys WHERE id = ?", (survey,)).fetchone()
        return 0 if row is None else int(row[0])

    def gate(self, survey: str) -> int:
        with self._lock:
            row = self._db.execute("SELECT gate FROM surveys WHERE id = ?", (survey,)).fetchone()
        return 0 if row is None else int(row[0])

    def survey_ids(self) -> list[str]:
        with self._lock:
            rows = self._db.execute("SELECT id FROM surveys ORDER BY id").fetchall()
        return [str(r[0]) for r in rows]

    def rate_hit(self, key: str, limit: int, window_s: int, now: float) -> int:
        with self._tx() as db:
            return self._hit(db, key, limit, window_s, now)

    def claim_once(self, key: str, ttl_s: int, now: float) -> bool:
        with self._tx() as db:
            won = db.execute(_CLAIM_UPSERT, (key, now + ttl_s, now)).rowcount == 1
            self._hits += 1
            if self._hits % 10_000 == 0:  # forget expired claims now and then
                db.execute("DELETE FROM claims WHERE expires <= ?", (now,))
            return won

    def save_snapshot(self, survey: str, seq: int, data: bytes) -> None:
        with self._snap_lock:
            try:
                self._snap_db.execute(
                    "INSERT INTO snapshots VALUES (?, ?, ?) ON CONFLICT (survey) DO UPDATE SET "
                    "seq = excluded.seq, data = excluded.data WHERE excluded.seq >= snapshots.seq",
                    (survey, seq, data),
                )
            except sqlite3.OperationalError as exc:
                raise StoreError(f"sqlite: {exc}") from exc

    def load_snapshot(self, survey: str) -> StoredEvent | None:
        with self._snap_lock:
            row = self._snap_db.execute(
                "SELECT seq, data FROM snapshots WHERE survey = ?", (survey,)
            ).fetchone()
        return None if row is None else StoredEvent(int(row[0]), bytes(row[1]))

    def put_organiser(self, key_hash: str, data: bytes) -> None:
        with self._tx() as db:
            db.execute("INSERT OR REPLACE INTO organisers VALUES (?, ?)", (key_hash, data))

    def get_organiser(self, key_hash: str) -> bytes | None:
        with self._lock:
            row = self._db.execute(
                "SELECT data FROM organisers WHERE key_hash = ?", (key_hash,)
            ).fetchone()
        return None if row is None else bytes(row[0])

    def organisers(self) -> Iterator[tuple[str, bytes]]:
        with self._lock:
            rows = self._db.execute("SELECT key_hash, data FROM organisers").fetchall()
        return iter([(str(h), bytes(d)) for h, d in rows])

    def close(self) -> None:
        self._stop.set()
        if self._checkpointer is not None:
            self._checkpointer.join()
            self._checkpointer = None
        with self._lock:
            self._db.close()
        with self._snap_lock:
            if self._snap_db is not self._db:
                self._snap_db.close()
