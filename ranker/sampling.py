"""Samplers as the core uses them: the protocol, and the factory that builds a survey's sampler.

A survey names its sampler (``settle`` by default); the projection asks the
:data:`SamplerFactory` for one when the survey is created or its settings change, and asks it
for each voter's next pair. Tests plug in their own factory.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

import numpy as np
from numpy.typing import NDArray

from algorithms import PairwiseModel
from ranker.signals import AGAINST_MIN

if TYPE_CHECKING:
    from ranker.domain import Survey

__all__ = [
    "DEFAULT_MODEL",
    "DEFAULT_SAMPLER",
    "VERIFY_SHARE",
    "PickedPair",
    "SamplerFactory",
    "SamplerLike",
    "aim",
    "aim_survey",
    "default_sampler_factory",
]

S = TypeVar("S")

DEFAULT_MODEL = "bt"
"""The model of a survey created without naming one."""
DEFAULT_SAMPLER = "settle"
"""The sampler of a survey created without naming one."""
VERIFY_SHARE = 1.0
"""With a survey's ``verify_voters``: the share of the picks of a voter with at least
:data:`~ranker.signals.AGAINST_MIN` decisive answers (the rule may flag them from then on) whose
evidence is still undecided that are clear pairs (``adaptive`` and ``settle``:
:mod:`algorithms.samplers.verify`). A person is decided after ~4 of them, whatever the share;
a coin needs ~9, so a share below 1 only delays the decision (``docs/user-guide.md``)."""


class PickedPair(Protocol):
    """What a sampler returns: a ``(left, right)`` tuple, ideally with ``.probability``."""

    def __getitem__(self, i: int) -> int: ...

    def __len__(self) -> int: ...


class SamplerLike(Protocol):
    """The part of :class:`algorithms.Sampler` the core uses (pluggable for tests)."""

    def next_pair(
        self,
        model: PairwiseModel,
        voter: int | str | None = None,
        active: NDArray[np.bool_] | None = None,
        exclude: Any = None,
    ) -> Any: ...

    def observe(
        self, left: int, right: int, outcome: float | None, voter: int | str | None = None
    ) -> None: ...


SamplerFactory = Callable[[str], SamplerLike]
"""Builds the sampler named in the survey settings."""


def default_sampler_factory(seed: int | None = None) -> SamplerFactory:
    """Samplers from :mod:`algorithms` by name, each with its own seed (from the OS, or
    ``seed + n`` for the n-th sampler when ``seed`` is given, for repeatable tests).

    An unknown name raises :class:`algorithms.UnknownName` listing the known ones (names are
    checked when a survey is created or changed, so only a log from another version can
    name one)."""
    from algorithms import create_sampler

    rng = secrets.SystemRandom() if seed is None else None
    counter = [0]

    def make(name: str) -> SamplerLike:
        counter[0] += 1
        s = rng.randrange(2**31) if rng is not None else (seed or 0) + counter[0]
        sampler: SamplerLike = create_sampler(name, seed=s)
        return sampler

    return make


def aim(sampler: S, k: int, margin: float) -> S:
    """Point a sampler that pursues a settled top ``k`` (``settle``) at ``k`` and ``margin``
    (a survey's ``top_k`` and ``margin``); other samplers are returned unchanged."""
    target = getattr(sampler, "set_target", None)
    if callable(target):
        target(k=k, margin=margin)
    return sampler


def aim_survey(sampler: S, survey: Survey) -> S:
    """:func:`aim` at the survey's ``top_k`` and ``margin``, and verification pairs on or off
    as its ``verify_voters`` says (samplers without them are left alone)."""
    aim(sampler, survey.top_k, survey.margin)
    probe = getattr(sampler, "set_verify", None)
    if callable(probe):
        probe(VERIFY_SHARE if survey.verify_voters else 0.0, AGAINST_MIN)
    return sampler
