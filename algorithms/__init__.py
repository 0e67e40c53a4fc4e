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

__all__ = [
    "MODELS",
    "ModelState",
    "PairwiseModel",
    "Posterior",
    "as_votes",
    "create_model",
    "register_model",
]
