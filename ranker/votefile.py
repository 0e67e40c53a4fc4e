"""Reading pairwise-comparison vote files (CSV).

Two layouts are understood, chosen by the header row:

* ``winner,loser[,...]``: each row is a win of ``winner`` over ``loser``;
* ``left,right,outcome[,...]``: ``outcome`` is ``left``, ``right`` or ``tie``
  (also accepted: ``1``, ``0``, ``0.5``, ``draw``, ``l``, ``r``, ``t``).

Optional columns:

* ``voter``: the judge's id;
* ``timestamp``: when the vote was cast, an ISO 8601 date or date-time (``2014-11-06``,
  ``2014-11-06T10:30:00Z``; no time zone means UTC), read as days since 1970-01-01;
* ``season``: when ``timestamp`` is absent, the period of the vote (a season such as
  ``2008-9``, a round number): periods are numbered 0, 1, 2, ... in natural order (``2009-10``
  after ``2008-9``, ``round 10`` after ``round 2``) and read as the time in periods;
* ``group``: the voter's participant group (an empty cell means no group).

Any other column is ignored. Item names are strings; they get dense indices in order of
first appearance (voters and groups likewise). In a ``left,right,outcome`` file the sides
mean something (home and away, say: :attr:`VoteTable.side_meaningful`); in a
``winner,loser`` file they do not. A bad row raises :class:`VoteFileError` whose message
names the file and the row.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from algorithms.base import VoteContext

__all__ = ["VoteFileError", "VoteTable", "parse_votes", "read_votes"]

_OUTCOMES: dict[str, float] = {
    "left": 1.0,
    "l": 1.0,
    "1": 1.0,
    "1.0": 1.0,
    "right": 0.0,
    "r": 0.0,
    "0": 0.0,
    "0.0": 0.0,
    "tie": 0.5,
    "t": 0.5,
    "draw": 0.5,
    "0.5": 0.5,
}


class VoteFileError(ValueError):
    """A vote file that cannot be read; the message is one line naming the row."""


@dataclass(frozen=True, slots=True)
class VoteTable:
    """Votes as dense arrays plus the names behind the indices.

    The optional columns are ``None`` when the file does not have them.
    """

    items: list[str]
    left: NDArray[np.int64]
    right: NDArray[np.int64]
    outcome: NDArray[np.float64]
    voter: NDArray[np.int64] | None
    voter_names: list[str] | None
    time: NDArray[np.float64] | None = None
    """When each vote was cast: days since 1970-01-01 UTC (the ``timestamp`` column) or,
    without one, the number of the ``season`` in natural order."""
    group: NDArray[np.int64] | None = None
    """Participant group per vote as an index into :attr:`group_names` (``-1``: none)."""
    group_names: list[str] | None = None
    side_meaningful: bool = True
    """Whether left and right mean something (``left,right,outcome`` files, e.g. home and
    away); ``False`` for ``winner,loser`` files, whose left is always the winner."""

    @property
    def n_items(self) -> int:
        return len(self.items)

    @property
    def n_votes(self) -> int:
        return int(self.left.shape[0])

    def context(self) -> VoteContext | None:
        """The per-vote time and group for the models that read them (``None`` if neither)."""
        if self.time is None and self.group is None:
            return None
        return VoteContext(time=self.time, group=self.group)

    def counts(self) -> dict[str, NDArray[np.int64]]:
        """Per-item ``wins``, ``losses``, ``ties`` and ``comparisons``."""
        n = self.n_items
        lw = self.outcome == 1.0
        rw = self.outcome == 0.0
        tie = ~(lw | rw)
        wins = np.bincount(self.left[lw], minlength=n) + np.bincount(self.right[rw], minlength=n)
        losses = np.bincount(self.right[lw], minlength=n) + np.bincount(self.left[rw], minlength=n)
        ties = np.bincount(self.left[tie], minlength=n) + np.bincount(self.right[tie], minlength=n)
        comparisons = np.bincount(self.left, minlength=n) + np.bincount(self.right, minlength=n)
        return {
            "wins": wins.astype(np.int64),
            "losses": losses.astype(np.int64),
            "ties": ties.astype(np.int64),
            "comparisons": comparisons.astype(np.int64),
        }


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _days(raw: str) -> float:
    """An ISO 8601 date or date-time as days since 1970-01-01 UTC (naive means UTC)."""
    text = raw.strip()
    if text[-1:] in ("z", "Z"):
        text = text[:-1] + "+00:00"
    when = datetime.fromisoformat(text)  # ValueError for anything else
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return (when - _EPOCH).total_seconds() / 86400.0


def _natural(label: str) -> tuple[tuple[int, int | str], ...]:
    """Sort key of a period label: runs of digits compare as numbers.

    >>> sorted(["2010-11", "2009-10", "2008-9", "round 10", "round 2"], key=_natural)
    ['2008-9', '2009-10', '2010-11', 'round 2', 'round 10']
    """
    parts = re.findall(r"\d+|\D+", label)
    return tuple((0, int(x)) if x.isdigit() else (1, x) for x in parts)


def read_votes(path: str | Path) -> VoteTable:
    """Read a vote file; see the module docstring for the layouts.

    Raises :class:`VoteFileError` for a missing, empty or malformed file.
    """
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise VoteFileError(f"{p}: no such file") from None
    except IsADirectoryError:
        raise VoteFileError(f"{p}: is a directory, not a CSV file") from None
    except UnicodeDecodeError as exc:
        raise VoteFileError(f"{p}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except OSError as exc:
        raise VoteFileError(f"{p}: cannot read ({exc.strerror})") from None
    return parse_votes(text, source=str(p))


def parse_votes(text: str | Iterable[str], source: str = "<input>") -> VoteTable:
    r"""Parse a CSV document (a string, or lines) with its header row into a :class:`VoteTable`.

    >>> t = parse_votes("winner,loser\nA,B\nB,C\n")
    >>> t.items, t.left.tolist(), t.outcome.tolist(), t.side_meaningful
    (['A', 'B', 'C'], [0, 1], [1.0, 1.0], False)
    >>> t = parse_votes("left,right,outcome,timestamp\nA,B,tie,1970-01-03T12:00:00Z\n")
    >>> t.outcome.tolist(), t.time.tolist(), t.side_meaningful
    ([0.5], [2.5], True)
    """
    rows = csv.reader(io.StringIO(text, newline="") if isinstance(text, str) else text)
    try:
        header = next(rows)
    except StopIteration:
        raise VoteFileError(f"{source}: the file is empty; expected a header row") from None
    except csv.Error as exc:
        raise VoteFileError(f"{source}: row 1: {exc}") from None
    cols = [c.strip().lower() for c in header]
    col = {name: i for i, name in reversed(list(enumerate(cols)))}
    if "winner" in col and "loser" in col:
        a, b, o = col["winner"], col["loser"], None
    elif "left" in col and "right" in col and "outcome" in col:
        a, b, o = col["left"], col["right"], col["outcome"]
    else:
        raise VoteFileError(
            f"{source}: row 1: header must have columns winner,loser or left,right,outcome; "
            f"got {','.join(header)!r}"
        )
    v = col.get("voter")
    ts = col.get("timestamp")
    per = col.get("season") if ts is None else None
    g = col.get("group")
    needed = max(x for x in (a, b, o, v, ts, per, g) if x is not None) + 1

    index: dict[str, int] = {}
    voters: dict[str, int] = {}
    left: list[int] = []
    right: list[int] = []
    outcome: list[float] = []
    voter: list[int] = []
    groups: dict[str, int] = {}
    group: list[int] = []
    times: list[float] = []
    periods: list[str] = []
    try:
        for row in rows:
            rowno = rows.line_num
            if not row or all(not c.strip() for c in row):
                continue
            if len(row) < needed:
                raise VoteFileError(
                    f"{source}: row {rowno}: expected at least {needed} fields, got {len(row)}"
                )
            x, y = row[a].strip(), row[b].strip()
            if not x or not y:
                raise VoteFileError(f"{source}: row {rowno}: empty item name")
            if x == y:
                raise VoteFileError(f"{source}: row {rowno}: item {x!r} is compared with itself")
            if o is None:
                res = 1.0
            else:
                raw = row[o].strip().lower()
                try:
                    res = _OUTCOMES[raw]
                except KeyError:
                    raise VoteFileError(
                        f"{source}: row {rowno}: outcome must be left, right or tie; got {row[o]!r}"
                    ) from None
            left.append(index.setdefault(x, len(index)))
            right.append(index.setdefault(y, len(index)))
            outcome.append(res)
            if v is not None:
                name = row[v].strip()
                voter.append(voters.setdefault(name, len(voters)))
            if ts is not None:
                try:
                    times.append(_days(row[ts]))
                except ValueError:
                    raise VoteFileError(
                        f"{source}: row {rowno}: timestamp must be an ISO 8601 date or "
                        f"date-time such as 2014-11-06 or 2014-11-06T10:30:00Z; got {row[ts]!r}"
                    ) from None
            if per is not None:
                if not row[per].strip():
                    raise VoteFileError(f"{source}: row {rowno}: empty season")
                periods.append(row[per].strip())
            if g is not None:
                label = row[g].strip()
                group.append(groups.setdefault(label, len(groups)) if label else -1)
    except csv.Error as exc:
        raise VoteFileError(f"{source}: row {rows.line_num}: {exc}") from None
    if not left:
        raise VoteFileError(f"{source}: no votes after the header row")
    if per is not None:
        number = {p: k for k, p in enumerate(sorted(set(periods), key=_natural))}
        times = [float(number[p]) for p in periods]
    return VoteTable(
        items=list(index),
        left=np.asarray(left, dtype=np.int64),
        right=np.asarray(right, dtype=np.int64),
        outcome=np.asarray(outcome, dtype=np.float64),
        voter=np.asarray(voter, dtype=np.int64) if v is not None else None,
        voter_names=list(voters) if v is not None else None,
        time=np.asarray(times, dtype=np.float64) if ts is not None or per is not None else None,
        group=np.asarray(group, dtype=np.int64) if g is not None else None,
        group_names=list(groups) if g is not None else None,
        side_meaningful=o is not None,
    )
