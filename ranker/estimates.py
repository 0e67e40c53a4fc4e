"""What the service tells about how settled a survey's ranking is: the top ``k``'s places
and forecast, and the whole order (:mod:`algorithms.settle`, :mod:`ranker.settling`)."""

from __future__ import annotations

from typing import Literal

import msgspec

__all__ = ["OrderEstimate", "Place", "TopKEstimate"]


class Place(msgspec.Struct, frozen=True, kw_only=True):
    """One idea's place relative to the top-``k`` boundary (:mod:`algorithms.settle`)."""

    idea: int
    status: Literal["in", "out", "tied", "open"]
    """``in``/``out``: known at the level; ``tied``: practically tied with the boundary
    (preferred by less than the margin); ``open``: still undecided."""
    p_top: float
    """Posterior probability that the idea belongs in the top ``k``."""


class OrderEstimate(msgspec.Struct, frozen=True, kw_only=True):
    """Is the whole order (the tier structure) settled: every two neighbouring places told
    apart at the level, or practically tied (:func:`algorithms.settle.check_order`)."""

    settled: bool
    borders: int
    """Borders between neighbouring places: active ideas minus one."""
    decided: int
    """Borders told apart or practically tied."""
    apart_after: list[int] = msgspec.field(default_factory=list)
    """Places ``r`` (1-based) whose idea is ahead of the one at ``r + 1`` at the level."""
    tied_after: list[int] = msgspec.field(default_factory=list)
    """Places ``r`` practically tied with ``r + 1`` (preferred by less than the margin)."""
    open_after: list[int] = msgspec.field(default_factory=list)
    """Places ``r`` whose order with ``r + 1`` is still open."""


class TopKEstimate(msgspec.Struct, frozen=True, kw_only=True):
    """Is the top ``k`` settled, and how many more answers until it is (a forecast by
    simulation from the current posterior with the survey's own sampler)."""

    k: int
    settled: bool
    votes_needed: int | None
    """Median further answers until settled; ``None`` when beyond what was simulated."""
    method: str
    level: float = 0.95
    margin: float = 0.55
    """Ideas preferred by less than this (e.g. 55/45) count as practically tied."""
    votes_needed_low: int | None = None
    """10th percentile of the simulated further answers."""
    votes_needed_high: int | None = None
    """90th percentile; ``None`` when beyond what was simulated."""
    votes_needed_above: int | None = None
    """When ``votes_needed`` is ``None`` (beyond what was simulated): it is more than this (the
    median with each unfinished simulation counted at the votes it reached)."""
    simulations: int = 0
    horizon: int = 0
    """Further answers simulated at most per run."""
    n_votes: int = 0
    """Answers the survey has (the forecast counts from here)."""
    decided: int = 0
    """Ideas whose place is known: in, out or practically tied."""
    n_ideas: int = 0
    progress: float = 0.0
    """``n_votes / (n_votes + votes_needed)`` (1 when settled; a lower bound when the
    forecast is beyond the horizon)."""
    places: list[Place] = msgspec.field(default_factory=list)
    """Every active idea, in score order."""
    order: OrderEstimate | None = None
    """The whole order (the tier structure); ``None`` with fewer than two active ideas."""
