"""Pure numerics for pairwise ranking: rating models, samplers, intervals and metrics.

No I/O and no knowledge of surveys or HTTP lives here.
"""

from algorithms.base import (
    MODELS,
    ModelState,
    PairwiseModel,
    Posterior,
    VoteContext,
    as_votes,
    create_model,
    register_model,
)
from algorithms.bt import BTModel
from algorithms.crowd_bt import CrowdBT
from algorithms.elo import Elo
from algorithms.group_bt import GroupBT
from algorithms.online import OnlineBT
from algorithms.registry import Registry, UnknownName
from algorithms.samplers import (
    SAMPLERS,
    Pair,
    Sampler,
    SamplerState,
    create_sampler,
    register_sampler,
)
from algorithms.summaries import (
    Summary,
    comparison_intervals,
    conservative_score,
    p_beats_random,
    rank_ranges,
    summarize,
    tiers,
)
from algorithms.time_bt import TimeBT

__all__ = [
    "MODELS",
    "SAMPLERS",
    "BTModel",
    "CrowdBT",
    "Elo",
    "GroupBT",
    "ModelState",
    "OnlineBT",
    "Pair",
    "PairwiseModel",
    "Posterior",
    "Registry",
    "Sampler",
    "SamplerState",
    "Summary",
    "TimeBT",
    "UnknownName",
    "VoteContext",
    "as_votes",
    "comparison_intervals",
    "conservative_score",
    "create_model",
    "create_sampler",
    "p_beats_random",
    "rank_ranges",
    "register_model",
    "register_sampler",
    "summarize",
    "tiers",
]
