"""Small types shared by the samplers: the returned :class:`Pair`, the persisted
:class:`SamplerState` and the per-pick :class:`PickContext`."""

from __future__ import annotations

from typing import Any

import msgspec
import numpy as np
from numpy.typing import NDArray

from algorithms.base import Posterior

__all__ = ["BoolArray", "Pair", "PickContext", "SamplerState", "VoterId", "norm_pair", "voter_key"]

VoterId = int | str
BoolArray = NDArray[np.bool_]


class Pair(tuple[int, int]):
    """An ordered pair ``(left, right)`` of item indices, as a 2-tuple.

    ``probability`` is the probability that the sampler selects this *unordered*
    pair at this pick, when the sampler knows it (else ``None``); it allows
    inverse-probability reweighting of votes.

    >>> p = Pair(3, 1, probability=0.25)
    >>> left, right = p
    >>> (left, right, p.probability)
    (3, 1, 0.25)
    """

    probability: float | None

    def __new__(cls, left: int, right: int, probability: float | None = None) -> Pair:
        self = super().__new__(cls, (int(left), int(right)))
        self.probability = probability
        return self

    @property
    def left(self) -> int:
        """Item shown on the left."""
        return self[0]

    @property
    def right(self) -> int:
        """Item shown on the right."""
        return self[1]

    def __repr__(self) -> str:
        return f"Pair({self[0]}, {self[1]}, probability={self.probability!r})"


class SamplerState(msgspec.Struct, frozen=True, kw_only=True):
    """Everything needed to rebuild a sampler exactly (msgspec JSON/msgpack safe).

    ``sampler`` is the registry name, ``params`` the keyword arguments of
    ``__init__`` and ``data`` the learned bookkeeping and the RNG state.
    """

    sampler: str
    params: dict[str, Any]
    data: dict[str, Any]
    version: int = 1


def norm_pair(i: int, j: int) -> tuple[int, int]:
    return (i, j) if i < j else (j, i)


def voter_key(voter: object) -> VoterId | None:
    if voter is None:
        return None
    if isinstance(voter, bool):
        raise ValueError("voter must be an int or a str, got a bool")
    if isinstance(voter, int | np.integer):
        return int(voter)
    if isinstance(voter, str):
        return voter
    raise ValueError(f"voter must be an int or a str, got {type(voter).__name__}")


class PickContext:
    """What one ``next_pair`` call may use: sizes, the active mask and blocked pairs.

    Subclasses read ``n``, ``m`` (number of active items), ``active`` (``None``
    means all items), ``voter`` and call :meth:`blocked` on candidate pairs.
    """

    __slots__ = ("active", "exclude", "m", "n", "post", "seen", "voter")

    def __init__(
        self,
        n: int,
        active: BoolArray | None,
        m: int,
        post: Posterior,
        seen: set[tuple[int, int]] | None,
        exclude: set[tuple[int, int]] | None,
        voter: VoterId | None = None,
    ) -> None:
        self.n = n
        self.active = active
        self.m = m
        self.post = post
        self.seen = seen
        self.exclude = exclude
        self.voter = voter
        """Who the pair is for (``None``: anonymous)."""

    def blocked(self, i: int, j: int) -> bool:
        """Whether the unordered pair ``{i, j}`` may not be shown now."""
        key = norm_pair(i, j)
        return (self.seen is not None and key in self.seen) or (
            self.exclude is not None and key in self.exclude
        )

    def is_active(self, i: int) -> bool:
        return self.active is None or bool(self.active[i])

    def blocked_active(self) -> set[tuple[int, int]]:
        """All blocked pairs whose two items are active (cost: size of the blocked sets)."""
        out: set[tuple[int, int]] = set()
        for src in (self.seen, self.exclude):
            if src:
                if self.active is None:
                    out.update(src)
                else:
                    act = self.active
                    out.update(p for p in src if act[p[0]] and act[p[1]])
        return out
