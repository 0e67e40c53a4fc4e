"""Pure numerics for pairwise ranking: rating models, samplers, intervals and metrics.

No I/O and no knowledge of surveys or HTTP lives here.
"""

from algorithms.base import (
    MODELS,
    ModelState,
    PairwiseModel,
    Posterior,
    as_votes,
    create_model,
    register_model,
)
from algorithms.bt import BTModel
from algorithms.elo import Elo
from algorithms.online import OnlineBT
from algorithms.samplers import (
    SAMPLERS,
    Pair,
    Sampler,
    SamplerState,
    create_sampler,
    register_sampler,
)

__all__ = [
    "MODELS",
    "SAMPLERS",
    "BTModel",
    "Elo",
    "ModelState",
    "OnlineBT",
    "Pair",
    "PairwiseModel",
    "Posterior",
    "Sampler",
    "SamplerState",
    "as_votes",
    "create_model",
    "create_sampler",
    "register_model",
    "register_sampler",
]
