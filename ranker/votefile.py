"""Reading pairwise-comparison vote files (CSV).

Two layouts are understood, chosen by the header row:

* ``winner,loser[,...]``: each row is a win of ``winner`` over ``loser``;
* ``left,right,outcome[,...]``: ``outcome`` is ``left``, ``right`` or ``tie``
  (also accepted: ``1``, ``0``, ``0.5``, ``draw``, ``l``, ``r``, ``t``).

An optional ``voter`` column names the judge. Any other column is ignored. Item
names are strings; they get dense indices in order of first appearance. A bad row
raises :class:`VoteFileError` whose message names the file and the row.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

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
    """Votes as dense arrays plus the names behind the indices."""

    items: list[str]
    left: NDArray[np.int64]
    right: NDArray[np.int64]
    outcome: NDArray[np.float64]
    voter: NDArray[np.int64] | None
    voter_names: list[str] | None

    @property
    def n_items(self) -> int:
        return len(self.items)

    @property
    def n_votes(self) -> int:
        return int(self.left.shape[0])

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
    >>> t.items, t.left.tolist(), t.outcome.tolist()
    (['A', 'B', 'C'], [0, 1], [1.0, 1.0])
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
    needed = max(x for x in (a, b, o, v) if x is not None) + 1

    index: dict[str, int] = {}
    voters: dict[str, int] = {}
    left: list[int] = []
    right: list[int] = []
    outcome: list[float] = []
    voter: list[int] = []
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
    except csv.Error as exc:
        raise VoteFileError(f"{source}: row {rows.line_num}: {exc}") from None
    if not left:
        raise VoteFileError(f"{source}: no votes after the header row")
    return VoteTable(
        items=list(index),
        left=np.asarray(left, dtype=np.int64),
        right=np.asarray(right, dtype=np.int64),
        outcome=np.asarray(outcome, dtype=np.float64),
        voter=np.asarray(voter, dtype=np.int64) if v is not None else None,
        voter_names=list(voters) if v is not None else None,
    )
